"""What travels on the task queue: only which chunk of which job to run (jobs.services does the rest)."""

from django_tasks import task


@task()
def run_chunk(job_id: str, number: int) -> dict:
    from . import services

    return services.chunk_run(job_id=job_id, number=number)
