from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from jobs.models import JobItem
from jobs.services import job_run_here

from ... import services
from ...recognition import faces


class Command(BaseCommand):
    help = ("Recompute the embeddings of every photo with the configured model: entries with a stale one (made by "
            "another model) by default, or --all. Runs here, as a job (with workers, they share it); --queue "
            "leaves it to the workers.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Recompute every entry, not only stale ones.")
        parser.add_argument("--queue", action="store_true",
                            help="Only start the job (manage.py worker processes run it) and print its id.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, all, queue, no_progress, **options):
        job = services.entries_reembed_start(stale_only=not all, queue=queue)
        if queue:
            self.stdout.write(f"Job {job.pk}: re-embedding {job.total} entries on the workers.")
            return
        bar = tqdm(total=job.total, unit="entry", disable=no_progress, file=self.stderr._out, desc="Re-embedding")

        def progress(now):
            bar.update(now.done + now.failed - bar.n)

        job = job_run_here(job, progress)
        bar.close()
        for item in job.items.filter(status=JobItem.Status.FAILED).order_by("pk"):
            self.stderr.write(f"FAILED {item.label}: {item.code}: {item.reason}")
        model = faces.get_engine().model_name
        self.stdout.write(f"Re-embedded {job.done} of {job.total} entries with {model}.")
        if job.failed:
            raise CommandError(f"{job.failed} entries kept their previous embedding (listed above).")
