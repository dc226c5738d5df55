from django.core.management.base import BaseCommand

from ...jobs import imports_purge


class Command(BaseCommand):
    help = ("Delete the photos of ZIP archives imported in the admin once no job needs them: all imported, or "
            "their failures left unretried for FACEREC IMPORT_KEEP_DAYS. Run daily by the purge job.")

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {imports_purge()} unpacked archive(s).")
