from django.core.management.base import BaseCommand

from ... import services


class Command(BaseCommand):
    help = ("Drop kiosk snapshots kept past ATTENDANCE_SNAPSHOT_DAYS and review frames past "
            "ATTENDANCE_REVIEW_FRAME_DAYS (the events and their review stay), audit the frames a kiosk that "
            "fell silent left unaccounted for, and forget day-old liveness challenges. Run it daily.")

    def handle(self, *args, **options):
        self.stdout.write(f"{services.purge_snapshots()} snapshot(s) dropped.")
        self.stdout.write(f"{services.purge_review_frames()} review frame(s) dropped.")
        self.stdout.write(f"{services.end_stale_sequences()} kiosk frame sequence(s) audited.")
        self.stdout.write(f"{services.purge_challenges()} liveness challenge(s) older than a day forgotten.")
