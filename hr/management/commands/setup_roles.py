from django.core.management.base import BaseCommand, CommandError

from hr import roles


class Command(BaseCommand):
    help = ("Create the preset groups (HR staff, HR administrator, Attendance manager, Auditor, Kiosk "
            "administrator), or put their permissions back to the preset. Safe to run again.")

    def handle(self, *args, **options):
        try:
            done = roles.setup_roles()
        except roles.UnknownPermission as exc:
            raise CommandError(str(exc)) from exc
        for name, created in done.items():
            permissions = len(roles.ROLES[name])
            self.stdout.write(f"{'created' if created else 'updated'}: {name} ({permissions} permissions)")
