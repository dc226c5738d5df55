"""Job settings (settings.JOBS, from the environment as JOBS_<NAME>), with their one default each."""

from typing import Any

from core.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "CHUNK_SIZE": 25,  # items a worker takes at once: about 10 s of re-embedding, so two workers share a job
    # A worker renews its lease on a chunk after every item; a chunk whose lease ran out (its worker died)
    # is handed to another worker. Longer than the slowest item, with margin.
    "LEASE_SECONDS": 120,
    "MAX_ATTEMPTS": 3,  # a chunk whose workers died this often: its unfinished items fail ("interrupted")
    "SWEEP_SECONDS": 30,  # how often each worker looks for chunks to hand on and purges that are due
    # manage.py purge_expired, purge_audit and purge_snapshots as one job this often; 0: never (use cron)
    "PURGE_EVERY_HOURS": 24,
    "PURGE_COMMANDS": ["purge_expired", "purge_audit", "purge_snapshots", "purge_imports"],
    "FAILURES_SHOWN": 100,  # failures listed on a job's API answer (all are in the admin)
}

app_settings: AppSettings = AppSettings("JOBS", DEFAULTS)
get = app_settings.get
