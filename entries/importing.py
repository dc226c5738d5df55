"""Bulk import: read a folder or CSV manifest, analyse photos on every core, write through services."""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from core.exceptions import FaceRecError
from core.spreadsheets import unescape

from .exceptions import EngineUnavailable, PhotoAlreadyEnrolled
from .recognition import faces

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MANIFEST_COLUMNS = ("image", "Employeecode", "Name", "gender", "Department")
OPTIONAL_COLUMNS = ("consent_reference", "employment_end")  # employment_end as YYYY-MM-DD


@dataclass
class Row:
    """One photo to import and the entry it belongs to."""

    path: Path
    employee_code: str
    name: str
    gender: str = ""
    department: str = ""
    consent_reference: str = ""
    employment_end: str = ""


@dataclass
class Report:
    created: int = 0
    photos_added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    possible_duplicates: list[tuple[str, str]] = field(default_factory=list)  # (registered, resembled) for HR

    def flagged(self, employee_code: str, photo) -> None:
        self.possible_duplicates += [(employee_code, match.employee_code) for match in photo.flagged]


def read_rows(source: Path, pattern: str = "*") -> list[Row]:
    """Rows from a folder or a CSV manifest; an employee's first row is their main photo, later ones add photos.

    In a folder, a photo's file name is the employee code, and a sub-folder's name is the code of an
    employee whose photos it holds. In a manifest, an Employeecode may appear on several rows.
    """
    if source.is_dir():
        rows = []
        for path in sorted(source.glob(pattern)):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                rows.append(Row(path=path, employee_code=path.stem, name=path.stem))
        for folder in sorted(p for p in source.iterdir() if p.is_dir()):
            for path in sorted(folder.glob(pattern)):
                if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                    rows.append(Row(path=path, employee_code=folder.name, name=folder.name))
        return rows
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"image", "Employeecode"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{source}: the manifest lacks the column(s) {', '.join(sorted(missing))}; "
                             f"expected {', '.join(MANIFEST_COLUMNS)}")
        return [
            Row(
                path=(source.parent / record["image"]).resolve(),
                employee_code=_text(record, "Employeecode"),
                name=_text(record, "Name") or _text(record, "Employeecode"),
                gender=_text(record, "gender").lower(),
                department=_text(record, "Department"),
                consent_reference=_text(record, "consent_reference"),
                employment_end=_text(record, "employment_end"),
            )
            for record in reader
        ]


def unconsented(rows: list[Row], existing, default_reference: str = "") -> list[str]:
    """The codes of new employees (not in `existing`) whose rows, and the default, give no consent reference."""
    return sorted({r.employee_code for r in rows
                   if r.employee_code not in existing and not (r.consent_reference or default_reference)})


def _text(record: dict, column: str) -> str:
    """A manifest cell as written before export_faces kept it from running as a formula (core.spreadsheets)."""
    return unescape((record.get(column) or "").strip())


def analyse_file(path: Path, largest_face: bool):
    """Worker: return (analysis, None) or (None, reason); raise EngineUnavailable, which fails every photo."""
    try:
        return faces.analyse(path.read_bytes(), largest_face=largest_face), None
    except EngineUnavailable:
        raise
    except FaceRecError as exc:
        return None, f"{exc.code}: {exc.message}"
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"


_unavailable: EngineUnavailable | None = None  # in a worker: why its engine did not load


def _worker_start():
    """In each worker: leave Ctrl-C to the parent (it stops the pool), and load the engine once.

    A failure is kept for the first task to raise in the parent: raised here, it would end the worker, and
    multiprocessing.Pool would start another in its place, forever.
    """
    global _unavailable
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        faces.get_engine()
    except EngineUnavailable as exc:
        _unavailable = exc


def _analyse_one(task):
    if _unavailable is not None:
        raise _unavailable
    return analyse_file(*task)


def analyse_all(rows: list[Row], *, largest_face: bool, workers: int):
    """Yield (row, analysis, error) in input order, analysing on `workers` processes.

    If the caller stops early (an error, Ctrl-C, SIGTERM), the workers are terminated at once:
    nothing is left running and nothing queued is analysed. EngineUnavailable stops it so, from any worker.
    """
    if workers <= 1 or len(rows) < 2:
        for row in rows:
            yield (row, *analyse_file(row.path, largest_face))
        return
    # spawn: a fresh interpreter per worker, safe whatever the parent has loaded.
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_worker_start)
    finished = False
    try:
        results = pool.imap(_analyse_one, [(r.path, largest_face) for r in rows], chunksize=1)
        yield from ((row, *result) for row, result in zip(rows, results, strict=False))
        finished = True
    finally:
        if finished:
            pool.close()
        else:
            pool.terminate()
        pool.join()


def save_row(row, face: faces.FaceAnalysis, entry, report: Report, allow_duplicate_face: bool):
    """Register a row's employee, or update them from it; an employee already so is left unchanged."""
    from . import services  # here, not above: analysing workers import this module before Django is set up
    from .models import FaceEntry

    metadata = {"name": row.name, "department": row.department}
    if row.employment_end:
        metadata["employment_end"] = date.fromisoformat(row.employment_end)
    if row.gender:
        metadata["gender"] = row.gender
    if entry is None:
        entry = services.entry_register(employee_code=row.employee_code, image=face.image, face=face,
                                        allow_duplicate_face=allow_duplicate_face,
                                        consent_reference=row.consent_reference, **metadata)
        report.created += 1
        report.flagged(entry.employee_code, entry)
        return entry
    same_photo = entry.image_sha256 == face.sha256 and entry.embedding_model == face.model_name
    if same_photo and all(getattr(entry, k) == v for k, v in metadata.items()):
        report.unchanged += 1
        return entry
    entry = services.entry_update(entry=FaceEntry.objects.get(pk=entry.pk), image=face.image, face=face,
                                  allow_duplicate_face=allow_duplicate_face, **metadata)
    report.updated += 1
    report.flagged(entry.employee_code, entry)
    return entry


def add_photo(entry, face: faces.FaceAnalysis, report: Report, allow_duplicate_face: bool):
    """Add a later row's photo to its employee; a photo already enrolled is left unchanged."""
    from . import services

    try:
        photo = services.photo_add(entry=entry, image=face.image, face=face, allow_duplicate_face=allow_duplicate_face)
    except PhotoAlreadyEnrolled:  # a re-run: this photo is in already
        report.unchanged += 1
    else:
        report.photos_added += 1
        report.flagged(entry.employee_code, photo)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
