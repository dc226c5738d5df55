"""What travels on the task queue: only which chunk of which job to run (jobs.runner does the rest)."""

from django_tasks import task

from . import runner


@task()
def run_chunk(job_id: str, number: int) -> dict:
    return runner.chunk_run(job_id=job_id, number=number)
