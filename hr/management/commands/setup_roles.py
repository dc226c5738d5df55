from django.core.management.base import BaseCommand, CommandError

from hr import roles


class Command(BaseCommand):
    help = ("Create the preset groups (HR staff, HR administrator, Attendance manager, Auditor, Kiosk "
            "administrator) and give existing ones any preset permission they lack. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Take away the permissions added to a preset group by hand.")

    def handle(self, *args, **options):
        try:
            done = roles.setup_roles(reset=options["reset"])
        except roles.UnknownPermission as exc:
            raise CommandError(str(exc)) from exc
        for name, created in done.items() if options["verbosity"] else ():
            permissions = len(roles.ROLES[name])
            action = "created" if created else "reset" if options["reset"] else "up to date"
            self.stdout.write(f"{action}: {name} ({permissions} preset permissions)")
