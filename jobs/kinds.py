"""The purge job: the retention, audit and snapshot purges, one item each (each is safe to run again)."""

from io import StringIO

from django.core.management import call_command

from .registry import kind


@kind("purge")
def purge(*, job, item, record):
    call_command(item.key, stdout=StringIO())
