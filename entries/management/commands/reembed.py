from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from core.exceptions import FaceRecError

from ... import services
from ...models import FaceEntry, FacePhoto
from ...recognition import faces


class Command(BaseCommand):
    help = ("Recompute the embeddings of every photo with the configured model: entries with a stale one (made by "
            "another model) by default, or --all.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Recompute every entry, not only stale ones.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, all, no_progress, **options):
        model = faces.get_engine().model_name
        stale = Q(~Q(embedding_model=model)) | Q(photos__in=FacePhoto.objects.exclude(embedding_model=model))
        queryset = FaceEntry.objects.all() if all else FaceEntry.objects.filter(stale).distinct()
        failures = []
        ids = list(queryset.values_list("pk", flat=True))
        for pk in tqdm(ids, unit="entry", disable=no_progress, file=self.stderr._out, desc="Re-embedding"):
            entry = FaceEntry.objects.get(pk=pk)
            try:
                services.entry_reembed(entry=entry)
            except FaceRecError as exc:
                failures.append(f"{entry.employee_code}: {exc.code}: {exc.message}")
        for failure in failures:
            self.stderr.write(f"FAILED {failure}")
        self.stdout.write(f"Re-embedded {len(ids) - len(failures)} of {len(ids)} entries with {model}.")
        if failures:
            raise CommandError(f"{len(failures)} entries kept their previous embedding (listed above).")
