"""Move employees from the original FaceRec (a MongoDB faceEntries collection) into this FaceRec."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson.datetime_ms import DatetimeMS
from bson.errors import InvalidBSON
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from core import uploads
from core.audit import Action, emit
from core.exceptions import FaceRecError

from ... import conf, services
from ...models import FaceEntry, Gender
from ...recognition import faces
from ...validators import employee_code_validator

GENDERS = {"male": Gender.MALE, "m": Gender.MALE, "female": Gender.FEMALE, "f": Gender.FEMALE,
           "other": Gender.OTHER}


class BadDocument(ValueError):
    """A document that cannot be imported as it is; the message says why."""


@dataclass
class Original:
    """One faceEntries document, read and checked; its `embeddings` are not used (unknown model)."""

    label: str  # how the report names the document
    employee_code: str
    name: str
    gender: str
    department: str
    created_at: datetime | None
    image: bytes


def read_document(doc: dict) -> Original:
    label = f"document {doc.get('id', doc.get('_id'))}"
    raw_code = doc.get("Employeecode", doc.get("EmployeeCode"))
    if raw_code is None or isinstance(raw_code, bool) or not isinstance(raw_code, (int, str)):
        raise BadDocument(f"{label}: no Employeecode")
    code = str(raw_code).strip()
    label = f"{label} (Employeecode {code})"
    try:
        employee_code_validator(code)
    except ValidationError as exc:
        raise BadDocument(f"{label}: invalid Employeecode: {' '.join(exc.messages)}") from None
    return Original(
        label=label,
        employee_code=code,
        name=str(doc.get("Name") or "").strip() or code,
        # The original stored free text; what is not recognisably male or female is kept as unspecified.
        gender=GENDERS.get(str(doc.get("gender") or "").strip().lower(), Gender.UNSPECIFIED),
        department=str(doc.get("Department") or "").strip(),
        created_at=_time(doc.get("time"), label),
        image=_image(doc.get("Image"), label),
    )


def _time(value, label) -> datetime | None:
    if value in (None, ""):
        return None
    moment: datetime | None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, DatetimeMS):  # a BSON date outside Python's years 1 to 9999
            moment = value.as_datetime()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):  # seconds (or ms) since 1970
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
        else:
            moment = parse_datetime(str(value).strip().replace(" ", "T", 1))
    except (ValueError, OverflowError, OSError, InvalidBSON) as exc:  # 30 February, month 13, NaN, 1e20
        raise BadDocument(f"{label}: time {value!r} is not a possible date and time ({exc})") from None
    if moment is None:
        raise BadDocument(f"{label}: time {value!r} is not a date and time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _image(value, label) -> bytes:
    if isinstance(value, bytes):  # stored as BSON binary
        return value
    if not isinstance(value, str) or not value.strip():
        raise BadDocument(f"{label}: no Image")
    try:
        return base64.b64decode(uploads.base64_payload(value), validate=True)
    except (binascii.Error, ValueError):
        raise BadDocument(f"{label}: Image is not valid base64") from None


class Command(BaseCommand):
    help = (
        "Import the employees of an original FaceRec MongoDB collection (faceEntries: Employeecode, Name, "
        "gender, Department, time, embeddings, Image in base64). Photos are embedded anew: the original "
        "embeddings came from an unknown model and are not used. Safe to re-run: codes already imported with "
        "the same photo are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--mongo-url", required=True, help="mongodb://HOST[:PORT]/DATABASE of the original.")
        parser.add_argument("--collection", default="faceEntries")
        parser.add_argument("--consent-reference", default="",
                            help="The consent reference recorded for every imported employee (the original "
                                 "kept none; required while FACEREC_REQUIRE_CONSENT is on).")
        parser.add_argument("--skip-existing", action="store_true", help="Leave existing employee codes alone.")
        parser.add_argument("--largest-face", action="store_true",
                            help="Take the largest face from photos that show several.")
        parser.add_argument("--allow-duplicate-faces", action="store_true",
                            help="Import faces that match another employee (e.g. twins).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, mongo_url, collection, consent_reference, skip_existing, largest_face,
               allow_duplicate_faces, no_progress, **options):
        if conf.get("REQUIRE_CONSENT") and not consent_reference.strip():
            raise CommandError("The original FaceRec recorded no consent: pass --consent-reference REF (the signed "
                               "forms' reference) to import. Nothing was imported.")
        documents, total = self._open(mongo_url, collection)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
        failures: list[str] = []
        seen: dict[str, str] = {}  # employee code -> the document it came from in this run
        bar = tqdm(total=total, unit="entry", disable=no_progress, file=self.stderr._out, desc="Importing")
        for doc in documents:
            bar.update()
            try:
                original = read_document(doc)
                if original.employee_code in seen:
                    raise BadDocument(f"{original.label}: duplicate Employeecode, already in "
                                      f"{seen[original.employee_code]}")
                seen[original.employee_code] = original.label
                outcome = self._import(original, consent_reference, skip_existing=skip_existing,
                                       largest_face=largest_face, allow_duplicate_face=allow_duplicate_faces)
                counts[outcome] += 1
            except BadDocument as exc:
                failures.append(str(exc))
            except FaceRecError as exc:
                failures.append(f"{original.label}: {exc.code}: {exc.message}")
            except ValidationError as exc:
                failures.append(f"{original.label}: invalid: {'; '.join(exc.messages)}")
        bar.close()
        emit(Action.IMPORT, sender=FaceEntry, employee_codes=sorted(seen),
             source=f"{_without_password(mongo_url)} {collection}",
             created=counts["created"], updated=counts["updated"], failed=len(failures))
        for failure in failures:
            self.stderr.write(f"FAILED {failure}")
        self.stdout.write(f"{total} documents: {counts['created']} created, {counts['updated']} updated, "
                          f"{counts['unchanged']} unchanged, {counts['skipped']} skipped, {len(failures)} failed.")
        if failures:
            raise CommandError(f"{len(failures)} of {total} documents failed (listed above).")

    def _open(self, mongo_url, collection):
        from pymongo import MongoClient
        from pymongo.errors import ConfigurationError, PyMongoError

        where = f"{_without_password(mongo_url)} collection {collection}"
        try:
            # DATETIME_AUTO: a date past year 9999 is read as DatetimeMS (its document fails) instead of
            # stopping the cursor, and with it every document after it.
            client = MongoClient(mongo_url, serverSelectionTimeoutMS=5000, datetime_conversion="DATETIME_AUTO")
            database = client.get_default_database()
            source = database[collection]
            total = source.count_documents({})
        except ConfigurationError as exc:
            raise CommandError(f"{where}: {exc} (the URL must name the database: mongodb://HOST/DATABASE)") from exc
        except PyMongoError as exc:
            raise CommandError(f"{where}: cannot read it: {exc}") from exc
        return source.find({}, sort=[("_id", 1)], batch_size=50), total

    @staticmethod
    def _import(original: Original, consent_reference, *, skip_existing, largest_face, allow_duplicate_face):
        entry = FaceEntry.objects.filter(employee_code=original.employee_code).first()
        metadata: dict[str, Any] = {"name": original.name, "gender": original.gender,
                                    "department": original.department}
        if entry is None:
            services.entry_register(employee_code=original.employee_code, image=original.image,
                                    largest_face=largest_face, allow_duplicate_face=allow_duplicate_face,
                                    consent_reference=consent_reference, created_at=original.created_at,
                                    **metadata)
            return "created"
        if skip_existing:
            return "skipped"
        if entry.image_sha256 == faces.digest(original.image) and all(
                getattr(entry, k) == v for k, v in metadata.items()):
            return "unchanged"
        services.entry_update(entry=entry, image=original.image, largest_face=largest_face,
                              allow_duplicate_face=allow_duplicate_face, **metadata)
        return "updated"


def _without_password(url: str) -> str:
    """The URL as it may be logged: any password replaced."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{host}"
