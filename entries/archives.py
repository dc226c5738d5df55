"""ZIP archives HR uploads for a bulk import: checked whole before anything is unpacked, then unpacked safely.

An archive holds a folder per employee (named by the employee code) or photos plus one CSV manifest (the
columns import_faces reads). It is refused, naming the offending member, when it is not a ZIP, holds more
members or more bytes than the limits, expands suspiciously (a zip bomb), has a path that leaves its folder,
a link, a member that is not a photo, or a manifest row that would fail later. What is unpacked is what was
checked: each member is copied with its size counted, never past what its header declared.
"""

from __future__ import annotations

import csv
import io
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError

from core import conf as core_conf
from core.spreadsheets import unescape

from . import conf
from .exceptions import ArchiveRefused
from .importing import IMAGE_SUFFIXES, MANIFEST_COLUMNS, OPTIONAL_COLUMNS
from .models import Gender
from .validators import employee_code_validator

# What zip tools add beside the files, skipped rather than refused (macOS Finder, Windows Explorer).
IGNORED_PARTS = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
# The first bytes of each photo format import reads (entries.recognition.images decodes by content too).
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
SHOWN = 5  # offending members named in a refusal
DAMAGED = (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError)  # a member that cannot be read


@dataclass(frozen=True)
class Archive:
    """A checked archive: its photo members, its manifest member (or None) and the folder to import from."""

    photos: list[zipfile.ZipInfo]
    manifest: zipfile.ZipInfo | None
    root: str  # a single top folder every member is in ("" when none): the import starts inside it


def imports_dir() -> Path:
    """Where unpacked archives wait for their import job (FACEREC IMPORTS_DIR, default DATA_DIR/imports)."""
    return Path(conf.get("IMPORTS_DIR") or Path(settings.DATA_DIR) / "imports")


def _names(members) -> str:
    names = [m.filename for m in members[:SHOWN]]
    return ", ".join(names) + (f" and {len(members) - SHOWN} more" if len(members) > SHOWN else "")


def _unsafe(name: str) -> bool:
    """An absolute path, a drive, a backslash or a `..`: a name that could land outside the folder it is put in."""
    path = PurePosixPath(name)
    return not path.parts or "\\" in name or name.startswith("/") or ":" in path.parts[0] or ".." in path.parts


def _is_image(header: bytes) -> bool:
    return header.startswith(SIGNATURES) or (header[:4] == b"RIFF" and header[8:12] == b"WEBP")


def check(upload, *, size: int) -> tuple[zipfile.ZipFile, Archive]:
    """Open an uploaded archive and check it whole; raise ArchiveRefused naming what is wrong."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveRefused("This file is not a ZIP archive: make one with your computer's "
                             "\"Compress\" or \"Send to > Compressed folder\".", code="not_a_zip") from exc
    members = [m for m in archive.infolist()
               if not m.is_dir() and not IGNORED_PARTS & set(PurePosixPath(m.filename).parts)]
    if len(members) > conf.get("IMPORT_MAX_FILES"):
        raise ArchiveRefused(f"The archive holds {len(members)} files; the limit is {conf.get('IMPORT_MAX_FILES')}: "
                             "split it into several archives.", code="too_many_files")
    total, limit = sum(m.file_size for m in members), conf.get("IMPORT_MAX_BYTES")
    if total > limit:
        raise ArchiveRefused(f"The archive unpacks to {total:,} bytes; the limit is {limit:,}: "
                             "split it into several archives.", code="too_large")
    if total > max(size, 1) * conf.get("IMPORT_MAX_RATIO"):
        raise ArchiveRefused(f"The archive would unpack to {total:,} bytes from {size:,}: photos do not compress "
                             "like that, so it was refused as a possible zip bomb.", code="zip_bomb")
    unsafe = [m for m in members if _unsafe(m.filename) or stat.S_ISLNK(m.external_attr >> 16)]
    if unsafe:
        raise ArchiveRefused(f"These members point outside the archive or are links: {_names(unsafe)}.",
                             code="unsafe_path")
    too_big = [m for m in members if m.file_size > core_conf.get("MAX_IMAGE_BYTES")]
    if too_big:
        raise ArchiveRefused(f"These files are larger than the {core_conf.get('MAX_IMAGE_BYTES'):,}-byte photo limit: "
                             f"{_names(too_big)}.", code="image_too_large")
    root = _wrapper(members)
    inside = [PurePosixPath(m.filename).relative_to(root) if root else PurePosixPath(m.filename) for m in members]
    manifests = [m for m, path in zip(members, inside, strict=True) if path.suffix.lower() == ".csv"
                 and len(path.parts) == 1]
    if len(manifests) > 1:
        raise ArchiveRefused(f"The archive holds several manifests ({_names(manifests)}): keep one.",
                             code="bad_manifest")
    photos = [m for m, path in zip(members, inside, strict=True)
              if m not in manifests and path.suffix.lower() in IMAGE_SUFFIXES]
    others = [m for m in members if m not in manifests and m not in photos]
    if others:
        raise ArchiveRefused(f"These files are not photos (JPEG, PNG or WebP): {_names(others)}.",
                             code="not_an_image")
    not_images = [m for m in photos if not _is_image(_head(archive, m))]
    if not_images:
        raise ArchiveRefused(f"These files are named as photos but are not: {_names(not_images)}.",
                             code="not_an_image")
    if not photos:
        raise ArchiveRefused("The archive holds no photos.", code="no_photos")
    checked = Archive(photos=photos, manifest=manifests[0] if manifests else None, root=root)
    if checked.manifest is None:
        _check_folders(checked)
    else:
        _check_manifest(archive, checked)
    return archive, checked


def _wrapper(members) -> str:
    """The one top folder that wraps folders or a manifest (what "Compress" on a folder of folders makes), or ""."""
    paths = [PurePosixPath(m.filename) for m in members]
    tops = {path.parts[0] for path in paths}
    if len(tops) != 1 or any(len(path.parts) < 2 for path in paths):
        return ""
    wraps = any(len(path.parts) > 2 or path.suffix.lower() == ".csv" for path in paths)
    return tops.pop() if wraps else ""  # E001/1.jpg, E001/2.jpg: one employee's folder, not a wrapper


def _head(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(member) as opened:
            return opened.read(16)
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise ArchiveRefused(f"{member.filename} is encrypted: make the archive without a password.",
                             code="encrypted") from exc
    except DAMAGED as exc:
        raise _damaged(exc) from exc


def _damaged(exc: Exception) -> ArchiveRefused:
    return ArchiveRefused(f"The archive is damaged and cannot be read ({exc}): make it again.", code="not_a_zip")


def _check_folders(archive: Archive) -> None:
    """A folder per employee (or photos named by the code): each name must be an employee code."""
    codes = set()
    for member in archive.photos:
        path = PurePosixPath(member.filename)
        path = path.relative_to(archive.root) if archive.root else path
        if len(path.parts) > 2:
            raise ArchiveRefused(f"{member.filename}: photos go in one folder per employee, not deeper.",
                                 code="bad_layout")
        codes.add(path.parts[0] if len(path.parts) == 2 else path.stem)
    bad = sorted(code for code in codes if not _valid_code(code))
    if bad:
        raise ArchiveRefused(f"These folder or file names are not employee codes (letters, digits, - and _, at "
                             f"most 64): {', '.join(bad[:SHOWN])}.", code="bad_employee_code")


def _valid_code(code: str) -> bool:
    try:
        employee_code_validator(code)
    except ValidationError:
        return False
    return True


def _check_manifest(zipped: zipfile.ZipFile, archive: Archive) -> None:
    """Every row names a photo in the archive and holds values the import will take, or the row is named."""
    assert archive.manifest is not None
    try:
        text = zipped.read(archive.manifest).decode("utf-8-sig")
    except DAMAGED as exc:
        raise _damaged(exc) from exc
    except UnicodeDecodeError as exc:
        raise ArchiveRefused(f"{archive.manifest.filename} is not UTF-8 text: save it as \"CSV UTF-8\".",
                             code="bad_manifest") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = {"image", "Employeecode"} - set(reader.fieldnames or [])
    if missing:
        raise ArchiveRefused(f"{archive.manifest.filename} lacks the column(s) {', '.join(sorted(missing))}; its "
                             f"columns are {', '.join(MANIFEST_COLUMNS + OPTIONAL_COLUMNS)}.", code="bad_manifest")
    base = PurePosixPath(archive.root) if archive.root else PurePosixPath()
    photos = {m.filename for m in archive.photos}
    problems = []
    for line, record in enumerate(reader, start=2):
        image = (record.get("image") or "").strip()
        code = unescape((record.get("Employeecode") or "").strip())
        end = unescape((record.get("employment_end") or "").strip())
        gender = unescape((record.get("gender") or "").strip()).lower()
        if not image or _unsafe(image) or (base / image).as_posix() not in photos:
            problems.append(f"row {line}: the photo {image!r} is not in the archive")
        elif not _valid_code(code):
            problems.append(f"row {line}: {code!r} is not an employee code")
        elif gender and gender not in Gender.values:
            problems.append(f"row {line}: gender is one of {', '.join(Gender.values)}, not {gender!r}")
        elif end and not _iso_date(end):
            problems.append(f"row {line}: employment_end {end!r} is not a date written YYYY-MM-DD")
        if len(problems) >= SHOWN:
            break
    if problems:
        raise ArchiveRefused(f"{archive.manifest.filename}: {'; '.join(problems)}.", code="bad_manifest")


def _iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def unpack(zipped: zipfile.ZipFile, archive: Archive) -> Path:
    """Unpack a checked archive's photos and manifest into a new folder; return what to import (folder or CSV)."""
    folder = imports_dir() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        for member in [*archive.photos, *([archive.manifest] if archive.manifest else [])]:
            target = folder.joinpath(*PurePosixPath(member.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
                copied = out.tell()
            if copied > member.file_size:  # zipfile stops at the declared size; this says so if it did not
                raise ArchiveRefused(f"{member.filename} unpacks to more than it declared.", code="zip_bomb")
    except (*DAMAGED, RuntimeError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise _damaged(exc) from exc
    except ArchiveRefused:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    top = folder / archive.root if archive.root else folder
    if archive.manifest is not None:
        return folder.joinpath(*PurePosixPath(archive.manifest.filename).parts)
    return top


def discard(source: Path) -> None:
    """Delete an unpacked archive (its folder under imports_dir, whatever inside it the import read)."""
    base = imports_dir().resolve()
    source = source.resolve()
    if base in source.parents:
        shutil.rmtree(base / source.relative_to(base).parts[0], ignore_errors=True)
