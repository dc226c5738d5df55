from django.core.management.base import BaseCommand
from django.utils import timezone

from ... import admin_uploads, services
from ...models import FaceEntry


class Command(BaseCommand):
    help = ("Delete every face entry kept past its retention day (retain_until): photos, embeddings and search "
            "vectors; and the admin's kept uploads past FACEREC_KEPT_UPLOAD_SECONDS. Safe to run daily from cron; "
            "--dry-run only lists the entries.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be deleted, delete nothing.")

    def handle(self, *args, dry_run, **options):
        if dry_run:
            codes = list(FaceEntry.objects.filter(retain_until__lt=timezone.localdate())
                         .values_list("employee_code", flat=True))
            self.stdout.write(f"{len(codes)} entries are past their retention day: {', '.join(codes) or '-'}")
            return
        codes = services.entries_purge_expired()
        self.stdout.write(f"Deleted {len(codes)} expired entries: {', '.join(codes) or '-'}")
        if kept := admin_uploads.forget_expired():
            self.stdout.write(f"Deleted {kept} expired photo(s) kept from refused admin forms")
