from django.core.management.base import BaseCommand

from ... import conf
from ...receivers import purge_old_events


class Command(BaseCommand):
    help = "Delete audit events older than FACEREC_AUDIT_RETENTION_DAYS (default 730); safe to run daily."

    def handle(self, *args, **options):
        days = conf.get("AUDIT_RETENTION_DAYS")
        self.stdout.write(f"Deleted {purge_old_events(days)} audit events older than {days} days.")
