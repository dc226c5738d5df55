"""Business operations on face entries. Admin, API and commands all call these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from django.db import DatabaseError, IntegrityError
from django.db.models import Q
from django.utils import timezone

from core.audit import Action, emit
from facerec import databases
from jobs.models import Job
from jobs.services import Item, job_start

from . import conf, identification
from .exceptions import (
    ConsentRequired,
    DuplicateEmployeeCode,
    DuplicateFace,
    EntryGone,
    NotLearned,
    PhotoAlreadyEnrolled,
    TooManyPhotos,
)
from .gallery.index import Match
from .models import (
    EMBEDDING_FIELDS,
    PHOTO_FIELDS,
    FaceEntry,
    FacePhoto,
    PhotoFields,
    PhotoSource,
    PossibleDuplicate,
    Resolution,
)
from .recognition import calibration, faces, vectors

METADATA_FIELDS = ("employee_code", "name", "gender", "department")
CONSENT_FIELDS = ("consent_reference", "consent_at", "employment_end", "retain_until")
Actor = User | AnonymousUser | None  # who asked: a request's user, or None for a command


@contextmanager
def _serialised_write(entry: FaceEntry | None = None) -> Iterator[None]:
    """One transaction that sees every write committed before it and lets none in until it ends.

    So the duplicate-face check and the insert are one step, and an entry deleted meanwhile is
    never written back. How each store serialises is facerec.databases' business. Slow work
    (embedding) happens before, never inside.
    """
    with databases.serialised():
        if entry is not None and not FaceEntry.objects.filter(pk=entry.pk).exists():
            raise _gone(entry)
        yield


def _gone(entry: FaceEntry) -> EntryGone:
    return EntryGone(f"{entry.employee_code} was deleted while this request was being handled.",
                     employee_code=entry.employee_code)


def _update(photo: PhotoFields, fields: Iterable[str]) -> None:
    """Save the fields this write changed, and only those, of an existing row.

    The row was read before the slow work (analysing photos): saving every field would write back
    what another request changed meanwhile (a consent withdrawal, a new photo). A row deleted
    meanwhile is never inserted again.
    """
    fields = {*fields, "updated_at"} if isinstance(photo, FaceEntry) else set(fields)
    try:
        photo.save(update_fields=fields)
    except DatabaseError as exc:
        if "did not affect any rows" in str(exc):
            raise _gone(photo.entry if isinstance(photo, FacePhoto) else cast(FaceEntry, photo)) from exc
        raise


def _reread(entry: FaceEntry, written: Iterable[str]) -> None:
    """Inside the write: read back the fields this write did not change, so the caller has what is stored."""
    written = {*written, "updated_at"}
    entry.refresh_from_db(fields=[f.attname for f in entry._meta.concrete_fields
                                  if not f.primary_key and f.name not in written])


def _user(recorded_by: Actor) -> User | None:
    """The user who recorded something, or None for a command or an anonymous caller."""
    if recorded_by is None or isinstance(recorded_by, AnonymousUser) or not recorded_by.pk:
        return None
    return recorded_by


def _duplicate(code: str) -> DuplicateEmployeeCode:
    return DuplicateEmployeeCode(
        f"An entry with employee code {code!r} already exists.", employee_code=code
    )


def _face_for(image: bytes, face: faces.FaceAnalysis | None, largest_face: bool,
              face_box: Sequence[int] | None = None) -> faces.FaceAnalysis:
    """Reuse a face analysed earlier (e.g. by a form or a worker) only if it is of these bytes."""
    if face is not None and face.sha256 == faces.digest(image) and face.model_name == conf.get("MODEL"):
        return face
    return faces.analyse(image, largest_face=largest_face, face_box=face_box)


def _check_duplicate_face(face: faces.FaceAnalysis, *, exclude_id: int | None,
                          allow_duplicate_face: bool) -> Match | None:
    """Refuse a face that is another employee's; return the employee it only resembles (or None).

    allow_duplicate_face (twins) skips both: nothing is refused, nothing flagged.
    """
    if allow_duplicate_face:
        return None
    check = identification.duplicate_check(face, exclude_id=exclude_id)
    if (other := check.refused) is not None:
        raise DuplicateFace(
            f"This face matches employee {other.employee_code} ({other.name}) with similarity "
            f"{other.similarity:.3f}. If they really are different people (e.g. twins), allow duplicate faces.",
            employee_code=other.employee_code, similarity=other.similarity,
        )
    return check.possible


def _flag(entry: FaceEntry, resembled: Iterable[Match | None]) -> list[Match]:
    """Inside the write: store each pair of this entry and an employee it resembles, for HR; return those employees.

    One pair per two employees: a pair still open keeps the highest similarity seen, a decided one stays decided.
    """
    flagged: dict[object, Match] = {}
    for match in resembled:
        if match is None or (match.entry_id in flagged and flagged[match.entry_id].similarity >= match.similarity):
            continue
        flagged[match.entry_id] = match
    for match in flagged.values():
        pair = PossibleDuplicate.objects.of_pair(entry.pk, match.entry_id).first()
        if pair is None:
            PossibleDuplicate.objects.create(entry=entry, other_id=match.entry_id, similarity=match.similarity)
        elif pair.resolved_at is None and match.similarity > pair.similarity:
            pair.similarity = match.similarity
            pair.save(update_fields=["similarity"])
    return list(flagged.values())


def possible_duplicate_warning(match: Match, *, named: bool) -> dict[str, Any]:
    """What a caller tells whoever registered a face flagged as a possible duplicate (named: who it resembles).

    Whose face it resembles only for those who may view entries, as DuplicateFace.
    """
    who = (f"employee {match.employee_code} ({match.name}), similarity {match.similarity:.3f}" if named
           else "another employee")
    warning: dict[str, Any] = {
        "code": "possible_duplicate",
        "message": f"This face resembles {who}. It was registered, and the pair is listed for HR to check that "
                   "they are different people.",
    }
    if named:
        warning.update(Employeecode=match.employee_code, similarity=round(match.similarity, 4))
    return warning


def _flagged_codes(flagged: Iterable[Match]) -> dict[str, list[str]]:
    """The audit detail of a write that flagged possible duplicates (nothing when it flagged none)."""
    codes = [match.employee_code for match in flagged]
    return {"possible_duplicates": codes} if codes else {}


def possible_duplicate_resolve(*, pair: PossibleDuplicate, resolved_by: Actor = None,
                               resolution: str = Resolution.DIFFERENT) -> bool:
    """Record HR's decision that two alike faces are different people; False if already decided (or deleted).

    A real duplicate is not resolved here: deleting either entry deletes the pair.
    """
    with _serialised_write():
        decided = PossibleDuplicate.objects.open().filter(pk=pair.pk).update(
            resolution=resolution, resolved_at=timezone.now(), resolved_by=_user(resolved_by))
        if decided:
            pair.refresh_from_db()
            emit(Action.RESOLVE_DUPLICATE, sender=FaceEntry,
                 employee_codes=[pair.entry.employee_code, pair.other.employee_code],
                 resolution=pair.resolution, similarity=round(pair.similarity, 4))
    return bool(decided)


@dataclass(frozen=True)
class Employee:
    """What other apps may know of an enrolled employee (no photo, no embedding)."""

    employee_code: str
    name: str
    department: str


def employee_summary(employee_code: str) -> Employee | None:
    entry = FaceEntry.objects.filter(employee_code=employee_code).only("employee_code", "name", "department").first()
    return Employee(entry.employee_code, entry.name, entry.department) if entry else None


def departments() -> list[str]:
    """The departments employees are enrolled in, for filters (identify's own list, which it checks against)."""
    return identification.departments()


def entry_register(
    *,
    employee_code: str,
    name: str,
    image: bytes,
    gender: str = "",
    department: str = "",
    largest_face: bool = False,
    face_box: Sequence[int] | None = None,
    allow_duplicate_face: bool = False,
    face: faces.FaceAnalysis | None = None,
    consent_reference: str = "",
    consent_at: datetime | None = None,
    recorded_by: Actor = None,
    employment_end: date | None = None,
    retain_until: date | None = None,
    extra_images: Sequence[bytes] = (),
    created_at: datetime | None = None,
) -> FaceEntry:
    """Create an entry; the embedding is computed, and checked against others, before anything is written.

    A face that is another employee's is refused (DuplicateFace); one that only resembles theirs registers,
    and the returned entry's `flagged` names them (the pairs are stored for HR). With FACEREC_REQUIRE_CONSENT
    (the default) the employee's consent must be referenced. extra_images are more photos of the employee,
    enrolled in the same transaction: all of them or none. created_at keeps the date an entry imported from
    another system was first made. face_box (x, y, w, h) picks the face of a photo of several people, as
    HR chose it from MultipleFacesFound's boxes.
    """
    if conf.get("REQUIRE_CONSENT") and not consent_reference.strip():
        raise ConsentRequired(
            "Registering a face needs the employee's consent to biometric processing: give consent_reference "
            "(the signed form's number or file name).")
    if FaceEntry.objects.filter(employee_code=employee_code).exists():
        raise _duplicate(employee_code)
    entry = FaceEntry(employee_code=employee_code, name=name, department=department)
    if gender:
        entry.gender = gender
    if consent_reference.strip():
        entry.consent_reference = consent_reference.strip()
        entry.consent_at = consent_at or timezone.now()
        entry.consent_recorded_by = _user(recorded_by)
    entry.employment_end = employment_end
    entry.retain_until = _retention(employment_end, retain_until)
    entry.apply_face(face := _face_for(image, face, largest_face, face_box))
    extras = _analyse_photos(extra_images, largest_face, main=1)
    entry.full_clean(validate_unique=False)
    try:
        with _serialised_write():
            resembled = _check_duplicate_face(face, exclude_id=None, allow_duplicate_face=allow_duplicate_face)
            entry.save()
            if created_at is not None:  # auto_now_add ignores a value given on save
                FaceEntry.objects.filter(pk=entry.pk).update(created_at=created_at)
                entry.created_at = created_at
            _, more = _enrol_extras(entry, extras, allow_duplicate_face)
            entry.flagged = _flag(entry, [resembled, *more])
            emit(Action.CREATE, sender=FaceEntry, employee_codes=[entry.employee_code],
                 consent_reference=entry.consent_reference, photos=1 + len(extras), **_flagged_codes(entry.flagged))
    except IntegrityError as exc:
        if FaceEntry.objects.filter(employee_code=employee_code).exists():
            raise _duplicate(employee_code) from exc
        raise
    return entry


def entry_update(
    *,
    entry: FaceEntry,
    image: bytes | None = None,
    largest_face: bool = False,
    face_box: Sequence[int] | None = None,
    allow_duplicate_face: bool = False,
    face: faces.FaceAnalysis | None = None,
    recorded_by: Actor = None,
    **fields: Any,
) -> FaceEntry:
    """Change metadata, consent and retention, and/or the photo; a new photo re-embeds, metadata alone does not.

    A new photo meets the duplicate-face guard as at registration (`flagged` on the returned entry); face_box
    picks its face as at registration. Nothing to change (an admin page saved for its more-photos inline alone)
    writes nothing and audits nothing.
    """
    if not fields and image is None:
        entry.flagged = []
        return entry
    changed = _set_fields(entry, fields, recorded_by)
    new_face = None
    other_face = face_box is not None and tuple(face_box) != tuple(entry.face_box)  # of the same photo, too
    if image is not None and (faces.digest(image) != entry.image_sha256 or other_face):
        entry.apply_face(new_face := _face_for(image, face, largest_face, face_box))
        changed |= PHOTO_FIELDS
    entry.full_clean(validate_unique=False)
    with _saving_fields(entry, fields), _serialised_write(entry):
        resembled = None if new_face is None else _check_duplicate_face(
            new_face, exclude_id=entry.pk, allow_duplicate_face=allow_duplicate_face)
        _update(entry, changed)
        _reread(entry, changed)
        entry.flagged = _flag(entry, [resembled])
        emit(Action.UPDATE, sender=FaceEntry, employee_codes=[entry.employee_code], fields=sorted(fields),
             photo_replaced=new_face is not None, **_flagged_codes(entry.flagged))
        if new_face is not None:
            databases.scrub_deleted()
    return entry


def _set_fields(entry: FaceEntry, fields: dict[str, Any], recorded_by: Actor) -> set[str]:
    """Set metadata, consent and retention on an entry (not saved yet); return the fields to save.

    fields gains what follows from it (consent_at, retain_until).
    """
    unknown = set(fields) - set(METADATA_FIELDS) - set(CONSENT_FIELDS)
    if unknown:
        raise TypeError(f"cannot update {', '.join(sorted(unknown))}")
    changed = set()
    if fields.get("consent_reference") and fields["consent_reference"] != entry.consent_reference:
        fields.setdefault("consent_at", timezone.now())
        entry.consent_recorded_by = _user(recorded_by)
        changed.add("consent_recorded_by")
    if "employment_end" in fields and "retain_until" not in fields:
        fields["retain_until"] = _retention(fields["employment_end"], None)
    code = fields.get("employee_code")
    if code and code != entry.employee_code and FaceEntry.objects.filter(employee_code=code).exists():
        raise _duplicate(code)
    for name, value in fields.items():
        setattr(entry, name, value)
    return changed | set(fields)


@contextmanager
def _saving_fields(entry: FaceEntry, fields: dict[str, Any]) -> Iterator[None]:
    """A new employee code taken by another entry meanwhile is refused as a duplicate."""
    try:
        yield
    except IntegrityError as exc:
        raise _duplicate(fields.get("employee_code") or entry.employee_code) from exc


def _analyse_photos(images: Sequence[bytes], largest_face: bool, *, main: int = 0) -> list[faces.FaceAnalysis]:
    """Analyse photos of one employee before anything is written (any failure refuses them all).

    main: photos the employee has besides these, counted against FACEREC_MAX_PHOTOS_PER_ENTRY.
    """
    limit = conf.get("MAX_PHOTOS_PER_ENTRY")
    if main + len(images) > limit:
        raise TooManyPhotos(f"{main + len(images)} photos were given; an employee may have {limit}.", limit=limit)
    return [faces.analyse(image, largest_face=largest_face) for image in images]


def _enrol_extras(entry: FaceEntry, extras: list[faces.FaceAnalysis],
                  allow_duplicate_face: bool) -> tuple[list[FacePhoto], list[Match | None]]:
    """Inside a serialised write: store extra photos, each checked against other employees' faces.

    Returns the photos and, for each, the employee it resembles (None: nobody).
    """
    photos, resembled = [], []
    for extra in extras:
        resembled.append(_check_duplicate_face(extra, exclude_id=entry.pk, allow_duplicate_face=allow_duplicate_face))
        photo = FacePhoto(entry=entry)
        photo.apply_face(extra)
        photo.save()
        photos.append(photo)
    return photos, resembled


def entry_set_photos(*, entry: FaceEntry, images: Sequence[bytes], largest_face: bool = False,
                     allow_duplicate_face: bool = False, recorded_by: Actor = None, **fields: Any) -> FaceEntry:
    """Replace all an employee's photos: the first becomes the main photo, the rest extra photos; all or none.

    fields (as entry_update's) change in the same transaction: the 1.x update is one change, audited once.
    """
    if not images:
        raise TypeError("at least one photo is needed")
    changed = _set_fields(entry, fields, recorded_by) | PHOTO_FIELDS
    main, *extras = _analyse_photos(images, largest_face)
    entry.apply_face(main)
    entry.full_clean(validate_unique=False)
    with _saving_fields(entry, fields), _serialised_write(entry):
        resembled = _check_duplicate_face(main, exclude_id=entry.pk, allow_duplicate_face=allow_duplicate_face)
        _update(entry, changed)
        for old in entry.photos.all():
            old.delete()
        _, more = _enrol_extras(entry, extras, allow_duplicate_face)
        _reread(entry, changed)
        entry.flagged = _flag(entry, [resembled, *more])
        emit(Action.UPDATE, sender=FaceEntry, employee_codes=[entry.employee_code], fields=sorted({*fields, "photos"}),
             photos=len(images), **_flagged_codes(entry.flagged))
        databases.scrub_deleted()
    return entry


def entry_delete(*, entry: FaceEntry, retention: bool = False) -> None:
    """Delete an entry with all its photos (retention: because its retention day has passed)."""
    with _serialised_write():
        entry.delete()
        emit(Action.PURGE if retention else Action.DELETE, sender=FaceEntry, employee_codes=[entry.employee_code])
        databases.scrub_deleted()


def photo_add(
    *,
    entry: FaceEntry,
    image: bytes,
    largest_face: bool = False,
    allow_duplicate_face: bool = False,
    face: faces.FaceAnalysis | None = None,
) -> FacePhoto:
    """Enrol one more photo of an employee: identify and the duplicate-face guard then use them all.

    The photo meets the duplicate-face guard as at registration (`flagged` on the returned photo).
    """
    sha256 = faces.digest(image)
    _refuse_photo(entry, sha256)
    face = _face_for(image, face, largest_face)
    with _serialised_write(entry):
        _refuse_photo(entry, sha256)  # again: another photo may have been added while this one was analysed
        _make_room(entry)
        (photo,), resembled = _enrol_extras(entry, [face], allow_duplicate_face)
        photo.flagged = _flag(entry, resembled)
        emit(Action.ADD_PHOTO, sender=FaceEntry, employee_codes=[entry.employee_code], photo=photo.pk,
             **_flagged_codes(photo.flagged))
    return photo


def _refuse_photo(entry: FaceEntry, sha256: str) -> None:
    """Refuse a photo the employee has already, or one more than they may have (as stored now)."""
    main = FaceEntry.objects.filter(pk=entry.pk).values_list("image_sha256", flat=True).first()
    if sha256 == main or entry.photos.filter(image_sha256=sha256).exists():
        raise PhotoAlreadyEnrolled(f"This photo is already one of {entry.employee_code}'s.",
                                   employee_code=entry.employee_code)
    limit = conf.get("MAX_PHOTOS_PER_ENTRY")
    if 1 + entry.photos.exclude(source=PhotoSource.KIOSK).count() >= limit:  # kiosk templates make room
        raise TooManyPhotos(f"{entry.employee_code} already has {limit} photos, the most allowed; "
                            "remove one first.", employee_code=entry.employee_code, limit=limit)


def _make_room(entry: FaceEntry) -> None:
    """Inside the write: an HR photo over the limit replaces the oldest kiosk templates (audited)."""
    spare = 1 + entry.photos.count() - conf.get("MAX_PHOTOS_PER_ENTRY") + 1
    oldest = list(entry.photos.filter(source=PhotoSource.KIOSK).order_by("created_at", "pk")[:max(0, spare)])
    for photo in oldest:
        photo.delete()
        emit(Action.REMOVE_PHOTO, sender=FaceEntry, employee_codes=[entry.employee_code], photo=photo.pk,
             source=photo.source, reason="replaced by a photo from HR")
    if oldest:
        databases.scrub_deleted()


def photo_remove(*, photo: FacePhoto) -> None:
    with _serialised_write():
        photo.delete()
        emit(Action.REMOVE_PHOTO, sender=FaceEntry, employee_codes=[photo.entry.employee_code], photo=photo.pk,
             source=photo.source)
        databases.scrub_deleted()


@dataclass(frozen=True)
class LearnRules:
    """How far a kiosk may teach an employee's face (the caller's settings: attendance's ATTENDANCE_LEARN_*)."""

    cap: int = 3  # kiosk templates per employee; a new one replaces the oldest
    every: timedelta = timedelta(hours=24)  # at most one new template per employee this often
    # The frame must match the HR enrolment photo as identify would in a gallery of this many photos (stricter
    # than identify's own threshold at any smaller gallery): learning cannot drift away from the enrolled face.
    anchor_gallery: int = 1000
    near_duplicate: float = 0.97  # a frame this similar to one of the employee's photos adds nothing


def photo_learn_due(employee_code: str, rules: LearnRules, now: datetime | None = None) -> bool:
    """Whether the employee may be given a kiosk template now (one query: a kiosk asks before keeping a frame)."""
    since = (now or timezone.now()) - rules.every
    return not FacePhoto.objects.filter(entry__employee_code=employee_code, source=PhotoSource.KIOSK,
                                        created_at__gt=since).exists()


def photo_learn(*, employee_code: str, image: bytes, event: str, kiosk: str, rules: LearnRules,
                face: faces.FaceAnalysis | None = None) -> FacePhoto:
    """Make a kiosk frame of a confidently clocked employee one more template of theirs (the caller decided the
    clocking was not doubtful); refuse with NotLearned (`reason`) where a guard says no.

    Guards against poisoning the template set: the frame passes the enrolment quality gate; it matches the HR
    enrolment photo (the anchor, never an earlier kiosk template, so no chain of frames can walk the templates
    towards someone else) at least as strictly as LearnRules.anchor_gallery says; it matches no other employee (the
    duplicate-face guard); it is no near-copy of a photo the employee has; one per `every`. Kiosk templates are
    capped; HR's photos are never replaced.
    """
    entry = FaceEntry.objects.filter(employee_code=employee_code).defer("image", "thumbnail").first()
    if entry is None:
        raise NotLearned(f"{employee_code} is not enrolled.", employee_code=employee_code, reason="not_enrolled")
    face = _face_for(image, face, largest_face=True)  # the enrolment quality gate (PoorFaceQuality)
    model = face.model_name
    if entry.embedding_model != model:
        raise NotLearned("The enrolment photo was embedded by another model: re-embed first.",
                         employee_code=employee_code, reason="stale_embedding")
    anchor = vectors.answer(float(vectors.normalise(entry.vector) @ vectors.normalise(face.embedding)))
    needed = max(calibration.identify_threshold(model, max(1, identification.index().photo_count())),
                 calibration.identify_threshold(model, rules.anchor_gallery, conf.get("IDENTIFY_FPIR")))
    if anchor < needed:
        raise NotLearned(f"The frame matches {employee_code}'s enrolment photo with similarity {anchor:.3f}, "
                         f"under {needed:.3f}.", employee_code=employee_code, reason="far_from_enrolment",
                         similarity=anchor, needed=needed)
    with _serialised_write(entry):
        _refuse_learning(entry, face, rules)
        # Refused above identify's threshold for another employee, as any photo; and not even a possible
        # duplicate: a template must be this employee's face beyond doubt.
        other = _check_duplicate_face(face, exclude_id=entry.pk, allow_duplicate_face=False)
        if other is not None:
            raise NotLearned(f"The frame resembles employee {other.employee_code} too ({other.similarity:.3f}).",
                             employee_code=employee_code, reason="resembles_another", similarity=other.similarity)
        learned = list(entry.photos.filter(source=PhotoSource.KIOSK).order_by("created_at", "pk"))
        replaced = learned[:max(0, len(learned) - rules.cap + 1)]
        if 1 + entry.photos.count() - len(replaced) >= conf.get("MAX_PHOTOS_PER_ENTRY"):
            replaced = learned[:1]
            if not replaced:
                raise NotLearned(f"{employee_code} has the most photos allowed, all from HR.",
                                 employee_code=employee_code, reason="too_many_photos")
        for old in replaced:
            old.delete()
        photo = FacePhoto(entry=entry, source=PhotoSource.KIOSK, learned_from=event, kiosk_name=kiosk)
        photo.apply_face(face)  # checked against other employees above: one search, one insert
        photo.save()
        emit(Action.ADD_PHOTO, sender=FaceEntry, employee_codes=[employee_code], photo=photo.pk,
             source=PhotoSource.KIOSK, event=event, kiosk=kiosk, similarity_to_enrolment=round(anchor, 4),
             replaced=[old.pk for old in replaced])
        if replaced:
            databases.scrub_deleted()
    return photo


def _refuse_learning(entry: FaceEntry, face: faces.FaceAnalysis, rules: LearnRules) -> None:
    """Inside the write: one template per `every`, and none that is a near-copy of a photo the employee has."""
    if not photo_learn_due(entry.employee_code, rules):
        raise NotLearned(f"{entry.employee_code} was given a kiosk template less than {rules.every} ago.",
                         employee_code=entry.employee_code, reason="learned_recently")
    closest = max((float(t @ vectors.normalise(face.embedding)) for t in entry.templates(face.model_name)),
                  default=0.0)
    if closest >= rules.near_duplicate:
        raise NotLearned(f"The frame is a near-copy of one of {entry.employee_code}'s photos ({closest:.3f}).",
                         employee_code=entry.employee_code, reason="near_duplicate", similarity=closest)


def _retention(employment_end: date | None, retain_until: date | None) -> date | None:
    """The day after which the face is deleted: as given, or employment end plus FACEREC_RETENTION_DAYS."""
    if retain_until or not employment_end:
        return retain_until
    return employment_end + timedelta(days=conf.get("RETENTION_DAYS"))


def entries_purge_expired(*, today: date | None = None) -> list[str]:
    """Delete every entry kept past its retention day (photos, embeddings, vectors); return their codes."""
    today = today or timezone.localdate()
    purged = []
    for entry in FaceEntry.objects.filter(retain_until__lt=today).defer("image", "thumbnail", "embedding"):
        entry_delete(entry=entry, retention=True)
        purged.append(entry.employee_code)
    return purged


def entry_reembed(*, entry: FaceEntry, largest_face: bool = True,
                  on_write: Callable[[], object] | None = None) -> FaceEntry:
    """Recompute the embeddings of all an entry's photos with the configured model (e.g. after a model change).

    A photo registered with largest_face would otherwise fail again, so the largest face is taken; photos
    already enrolled are not refused by the quality gate again. on_write() is called inside the write's
    transaction: a job records the item it counts in the same commit (jobs.services).
    """
    photos = entry.all_photos()
    for photo in photos:
        photo.apply_face(faces.analyse(bytes(photo.image), largest_face=largest_face, check_quality=False))
    with _serialised_write(entry):
        for photo in photos:
            # a photo replaced or removed meanwhile was embedded, or deleted, by the write that did it
            if type(photo)._default_manager.filter(pk=photo.pk, image_sha256=photo.image_sha256).exists():
                _update(photo, EMBEDDING_FIELDS)
        emit(Action.UPDATE, sender=FaceEntry, employee_codes=[entry.employee_code], fields=["embeddings"],
             model=entry.embedding_model)
        if on_write is not None:
            on_write()
    return entry


def entries_reembed_start(*, stale_only: bool = False, created_by: User | AnonymousUser | None = None,
                          queue: bool = True) -> Job:
    """Start a job that re-embeds every entry (or only those another model embedded) on the workers."""
    entries = FaceEntry.objects.all()
    if stale_only:
        model = faces.get_engine().model_name
        stale = Q(~Q(embedding_model=model)) | Q(photos__in=FacePhoto.objects.exclude(embedding_model=model))
        entries = entries.filter(stale).distinct()
    rows = entries.order_by("pk").values_list("pk", "employee_code")
    return job_start(kind="reembed", items=[Item(key=str(pk), label=code) for pk, code in rows],
                     params={"stale_only": stale_only}, created_by=created_by, queue=queue)
