"""Long work on a job queue: a Job records what is to be done, item by item, and what became of each.

The task queue (Django's tasks framework: django-tasks-db by default, RQ on Redis for several hosts) only
carries "run chunk n of job j"; the Job, its chunks and items are the durable record. So a chunk whose
worker died is run again from its first unfinished item, by any worker, and an item is counted once.
Apps describe their kinds of job in a `jobs` module (entries/jobs.py), with `jobs.registry.kind`.
"""
