"""Django's dumpdata, audited: a dump holding face entries is an export naming every employee in it.

Kept rather than refused: dumpdata/loaddata is how operators back up and move between stores, and
loaddata embeds what it loads (entries.signals). What a dump holds is watched as it is written, so the
audit names exactly the employees dumped, whatever app labels, excludes or primary keys were given.
"""

from django.core import serializers
from django.core.management.commands import dumpdata

from core.audit import Action, emit
from entries.models import FaceEntry, FacePhoto


class Command(dumpdata.Command):
    help = dumpdata.Command.help + " Face entries dumped are in the audit trail, as an export."

    def handle(self, *app_labels, **options):
        codes, photo_entries = set(), set()
        serialize = serializers.serialize

        def watched(format, objects, **kwargs):
            def each():
                for obj in objects:
                    if isinstance(obj, FaceEntry):
                        codes.add(obj.employee_code)
                    elif isinstance(obj, FacePhoto):
                        photo_entries.add(obj.entry_id)
                    yield obj
            return serialize(format, each(), **kwargs)

        serializers.serialize = watched
        try:
            super().handle(*app_labels, **options)
        finally:
            serializers.serialize = serialize
            codes.update(FaceEntry.objects.filter(pk__in=photo_entries).values_list("employee_code", flat=True))
            if codes:
                emit(Action.EXPORT, sender=FaceEntry, employee_codes=sorted(codes), format="dumpdata",
                     out=options.get("output") or "stdout", entries=len(codes))
