from django.core.management.base import BaseCommand

from ... import services


class Command(BaseCommand):
    help = "Drop kiosk snapshots kept past ATTENDANCE_SNAPSHOT_DAYS (the events stay). Run it daily."

    def handle(self, *args, **options):
        self.stdout.write(f"{services.purge_snapshots()} snapshot(s) dropped.")
