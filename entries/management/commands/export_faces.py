import base64
import json
import mimetypes
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.audit import Action, emit
from core.spreadsheets import csv_writer

from ...importing import MANIFEST_COLUMNS, OPTIONAL_COLUMNS
from ...models import FaceEntry


class Command(BaseCommand):
    help = (
        "Export every entry: --format csv writes OUT/manifest.csv plus OUT/images/ (re-importable with "
        "import_faces OUT/manifest.csv); --format json writes one JSON file with base64 images and embeddings."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help="A folder (csv) or a file (json).")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--employee", action="append", default=[], metavar="CODE",
                            help="Only this employee (repeatable): everything held about them, for a "
                                 "subject-access request (--format json adds embeddings, consent and retention).")

    def handle(self, *args, out, format, employee, **options):
        entries = FaceEntry.objects.order_by("employee_code").prefetch_related("photos")
        if employee:
            missing = set(employee) - set(entries.filter(employee_code__in=employee)
                                          .values_list("employee_code", flat=True))
            if missing:
                raise CommandError(f"no entry with employee code {', '.join(sorted(missing))}")
            entries = entries.filter(employee_code__in=employee)
        exported: list[str] = []  # every employee whose data was read out, for the audit

        def audited(rows):
            for entry in rows:
                exported.append(entry.employee_code)
                yield entry

        entries = audited(entries.iterator(chunk_size=200))
        try:
            count = self._csv(out, entries) if format == "csv" else self._json(out, entries)
        except OSError as exc:
            raise CommandError(f"{out}: {exc.strerror or exc}") from exc
        finally:
            if exported:  # also what was written before a failure
                emit(Action.EXPORT, sender=FaceEntry, employee_codes=exported, format=format, out=str(out),
                     entries=len(exported))
        self.stdout.write(f"Exported {count} entries to {out}")

    @staticmethod
    def _csv(out: Path, entries) -> int:
        (out / "images").mkdir(parents=True, exist_ok=True)
        count = 0
        with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv_writer(handle)
            writer.writerow([*MANIFEST_COLUMNS, *OPTIONAL_COLUMNS, "time"])
            for entry in entries:
                for number, photo in enumerate(entry.all_photos(), start=1):  # main photo first
                    suffix = mimetypes.guess_extension(photo.image_mime) or ".jpg"
                    stem = entry.employee_code if number == 1 else f"{entry.employee_code}-{number}"
                    image = Path("images") / f"{stem}{suffix}"
                    (out / image).write_bytes(bytes(photo.image))
                    writer.writerow([image.as_posix(), entry.employee_code, entry.name, entry.gender,
                                     entry.department, entry.consent_reference,
                                     entry.employment_end.isoformat() if entry.employment_end else "",
                                     entry.created_at.isoformat()])
                count += 1
        return count

    @staticmethod
    def _json(out: Path, entries) -> int:
        out.parent.mkdir(parents=True, exist_ok=True)
        records = [
            {
                "Employeecode": e.employee_code, "Name": e.name, "gender": e.gender,
                "Department": e.department, "time": e.created_at.isoformat(),
                "Image": base64.b64encode(bytes(e.image)).decode("ascii"),
                "Images": [base64.b64encode(bytes(p.image)).decode("ascii") for p in e.all_photos()],
                "embeddings": [[float(x) for x in p.vector] for p in e.all_photos()],
                "embedding_model": e.embedding_model, "face_box": e.face_box,
                "consent_reference": e.consent_reference,
                "consent_at": e.consent_at.isoformat() if e.consent_at else None,
                "employment_end": e.employment_end.isoformat() if e.employment_end else None,
                "retain_until": e.retain_until.isoformat() if e.retain_until else None,
            }
            for e in entries
        ]
        out.write_text(json.dumps(records), encoding="utf-8")
        return len(records)
