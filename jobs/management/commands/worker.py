import logging
import signal
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from ... import conf, services

logger = logging.getLogger("jobs")


class Command(BaseCommand):
    help = ("Run jobs: the configured task backend's worker (django-tasks-db's db_worker, or RQ's worker), and "
            "every JOBS SWEEP_SECONDS hand on the chunks of workers that died and start the purges when due. "
            "Run one or more on each host.")

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then stop (tests, cron).")
        parser.add_argument("--requeue", action="store_true",
                            help="First queue every unfinished chunk again (after the queue lost them).")

    def handle(self, *args, batch, requeue, verbosity, **options):
        if requeue:
            self.stdout.write(f"Queued {services.jobs_requeue()} unfinished chunks again.")
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        stop = threading.Event()
        clock = threading.Thread(target=self._clock, args=(stop,), name="jobs-clock", daemon=True)
        clock.start()
        try:
            if settings.TASKS_BACKEND == "database":
                call_command("db_worker", queue_name="*", batch=batch, reload=False, interval=1, verbosity=verbosity)
            elif settings.TASKS_BACKEND == "rq":
                call_command("rqworker", "default", job_class="django_tasks_rq.Job", burst=batch,
                             worker_class="rq.worker.SimpleWorker",  # no fork per chunk: the engine loads once
                             verbosity=verbosity)
            else:
                raise CommandError(f"FACEREC_TASKS_BACKEND={settings.TASKS_BACKEND} runs jobs in the request: "
                                   "there is nothing for a worker to do.")
        finally:
            stop.set()
            clock.join(timeout=5)
            for sig, handler in handlers.items():  # db_worker sets its own; a caller (a test) gets its back
                signal.signal(sig, handler)

    @staticmethod
    def _clock(stop: threading.Event) -> None:
        """Sweep and schedule until stopped; a failure (database away a moment) is logged and tried again."""
        while True:
            try:
                close_old_connections()
                services.jobs_sweep()
                services.schedule_due()
            except Exception:
                logger.exception("Jobs clock: sweep or schedule failed; trying again later")
            if stop.wait(conf.get("SWEEP_SECONDS")):
                break
        connections.close_all()
