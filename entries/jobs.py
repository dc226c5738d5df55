"""The kinds of job on face entries: re-embedding (reembed, the 1.x recalculate_embeddings) and bulk import."""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.utils import timezone

from jobs.models import Job, JobItem
from jobs.registry import kind
from jobs.services import Item, job_start

from . import archives, conf, services
from .exceptions import ConsentRequired, EntryGone, FaceRecError
from .importing import Report, add_photo, read_rows, save_row, unconsented
from .models import FaceEntry
from .recognition import faces


@kind("reembed")
def reembed(*, job, item, record):
    """Re-embed one entry's photos; the item is recorded in the same transaction as the new embeddings."""
    entry = FaceEntry.objects.filter(pk=item.key).first()
    if entry is None:
        raise EntryGone(f"{item.label} was deleted before it was re-embedded.", employee_code=item.label)
    services.entry_reembed(entry=entry, on_write=record)


@lru_cache(maxsize=4)
def _rows(source: str, pattern: str, modified: float) -> tuple[list, dict[str, int]]:
    """A folder's or manifest's rows, and the row number of each employee's first photo (read once a worker)."""
    rows = read_rows(Path(source), pattern)
    firsts: dict[str, int] = {}
    for number, row in enumerate(rows):
        firsts.setdefault(row.employee_code, number)
    return rows, firsts


class ImportFailed(FaceRecError):
    code = "import_failed"


@kind("import_faces")
def import_photo(*, job, item, record):
    """Import one photo (row number `key` of the folder or manifest), as import_faces does.

    Safe to run again after a crash: a photo already in is left unchanged, so nothing is imported twice.
    """
    params = job.params
    source = Path(params["source"])
    rows, firsts = _rows(str(source), params.get("glob", "*"), source.stat().st_mtime)
    row = rows[int(item.key)]
    row.consent_reference = row.consent_reference or params.get("consent_reference", "")
    try:
        face = faces.analyse(row.path.read_bytes(), largest_face=params.get("largest_face", False))
    except OSError as exc:
        raise ImportFailed(f"unreadable: {exc.strerror or exc}") from exc
    entry = FaceEntry.objects.filter(employee_code=row.employee_code).first()
    allow_duplicate = params.get("allow_duplicate_faces", False)
    if firsts[row.employee_code] == int(item.key):
        save_row(row, face, entry, Report(), allow_duplicate)
    elif entry is None:
        raise ImportFailed(f"{row.employee_code}'s first photo was not imported, so this one cannot be added.")
    else:
        add_photo(entry, face, Report(), allow_duplicate)


def import_start(*, source: Path, glob: str = "*", skip_existing: bool = False, largest_face: bool = False,
                 allow_duplicate_faces: bool = False, consent_reference: str = "", created_by=None):
    """Start a job that imports a folder or manifest on the workers (what import_faces does in the foreground)."""
    rows = read_rows(source, glob)
    existing = set(FaceEntry.objects.values_list("employee_code", flat=True))
    missing = unconsented(rows, existing, consent_reference)
    if missing and conf.get("REQUIRE_CONSENT"):
        raise ConsentRequired(f"{len(missing)} new employees have no recorded consent "
                              f"({', '.join(missing[:5])}): nothing was queued.", employee_codes=missing[:5])
    items = [Item(key=str(number), label=_label(source, row.path), group=row.employee_code)
             for number, row in enumerate(rows) if not (skip_existing and row.employee_code in existing)]
    params = {"source": str(source), "glob": glob, "largest_face": largest_face,
              "allow_duplicate_faces": allow_duplicate_faces, "consent_reference": consent_reference}
    return job_start(kind="import_faces", items=items, params=params, created_by=created_by)


def _label(source: Path, path: Path) -> str:
    """A photo as HR finds it in what they sent: its path in the folder (E001/2.jpg), not only its name."""
    base = (source if source.is_dir() else source.parent).resolve()
    resolved = path.resolve()
    return resolved.relative_to(base).as_posix() if base in resolved.parents else path.name


def import_rows(job: Job) -> list:
    """The rows an import job reads (path, employee code, name...), or [] once its files are gone."""
    source = Path(job.params["source"])
    try:
        return _rows(str(source), job.params.get("glob", "*"), source.stat().st_mtime)[0]
    except OSError:
        return []


def import_retry(*, job: Job, largest_face: bool | None = None, allow_duplicate_faces: bool | None = None,
                 created_by=None) -> Job:
    """Start a job that imports again the photos that failed in `job`, from the same files, optionally with the
    options that cure the usual failures (several faces: largest_face; a face like another's: allow it)."""
    failed = list(job.items.filter(status=JobItem.Status.FAILED).order_by("pk"))
    if not failed:
        raise ImportFailed("Nothing failed in this import: there is nothing to retry.")
    rows = import_rows(job)
    if not rows:
        raise ImportFailed("The uploaded files of this import were deleted (imports keep them "
                           f"{conf.get('IMPORT_KEEP_DAYS')} days): upload the archive again.")
    params = {**job.params, "retry_of": str(job.pk)}
    if largest_face is not None:
        params["largest_face"] = largest_face
    if allow_duplicate_faces is not None:
        params["allow_duplicate_faces"] = allow_duplicate_faces
    items = [Item(key=item.key, label=item.label, group=rows[int(item.key)].employee_code) for item in failed]
    return job_start(kind="import_faces", items=items, params=params, created_by=created_by)


def imports_purge(*, now=None) -> int:
    """Delete unpacked archives no import job needs: every job on them finished, and none failed or the newest
    finished IMPORT_KEEP_DAYS ago (its failures were not retried in time). Return how many were deleted."""
    now, deleted = now or timezone.now(), 0
    sources: dict[str, list[Job]] = {}
    for job in Job.objects.filter(kind="import_faces"):
        sources.setdefault(job.params.get("source", ""), []).append(job)
    base = archives.imports_dir().resolve()
    for source, jobs in sources.items():
        path = Path(source)
        if not source or base not in path.resolve().parents or not path.exists():
            continue  # a folder import_start was given by a command: not ours to delete
        if any(job.status != Job.Status.FINISHED for job in jobs):
            continue
        newest = max(jobs, key=lambda job: job.created_at)
        if newest.failed == 0 or newest.finished_at < now - timedelta(days=conf.get("IMPORT_KEEP_DAYS")):
            archives.discard(path)
            deleted += 1
    return deleted
