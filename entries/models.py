from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone

from .recognition import faces, vectors
from .validators import employee_code_validator

IMAGE_FIELDS = {"image", "image_sha256", "embedding", "embedding_sha256", "embedding_model", "face_box", "thumbnail"}
PHOTO_FIELDS = frozenset({*IMAGE_FIELDS, "image_mime"})  # what apply_face sets: a photo change saves these
EMBEDDING_FIELDS = PHOTO_FIELDS - {"image", "image_mime", "image_sha256"}  # what re-embedding the same photo changes

# Sent, inside the write's transaction, after FaceEntryQuerySet wrote rows that save() never saw
# (update, bulk_create, bulk_update), so data derived from entries (entries.gallery) follows them.
# Arguments: photos (the entries whose embeddings were written; none for update()), using.
written_in_bulk = Signal()


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Other"
    UNSPECIFIED = "unspecified", "Unspecified"


class FaceEntryQuerySet(models.QuerySet):
    def with_model(self, model_name: str):
        return self.filter(embedding_model=model_name)

    def update(self, **kwargs):
        # bulk_update() sends all photo fields together, after ensure_embedding().
        if IMAGE_FIELDS & kwargs.keys() and not IMAGE_FIELDS <= kwargs.keys():
            raise TypeError("Photos and embeddings change only through entries.services (entry_update).")
        kwargs.setdefault("updated_at", timezone.now())  # search indexes notice changes by this
        updated = super().update(**kwargs)
        written_in_bulk.send(sender=self.model, photos=[], using=self.db)
        return updated

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.ensure_embedding()
        created = super().bulk_create(objs, *args, **kwargs)
        written_in_bulk.send(sender=self.model, photos=created, using=self.db)  # bulk_create sends no post_save
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if IMAGE_FIELDS & set(fields):
            for obj in objs:
                obj.ensure_embedding()
            fields = set(fields) | IMAGE_FIELDS
        updated = super().bulk_update(objs, fields, *args, **kwargs)
        written_in_bulk.send(sender=self.model, photos=objs if IMAGE_FIELDS & set(fields) else [], using=self.db)
        return updated


class PhotoFields(models.Model):
    """A photo together with the embedding computed from it (an entry's own photo, or one more)."""

    image = models.BinaryField(editable=False)
    image_mime = models.CharField(max_length=32, editable=False)
    image_sha256 = models.CharField(max_length=64, editable=False)
    thumbnail = models.BinaryField(editable=False)
    embedding = models.BinaryField(editable=False, help_text="float32 vector, little-endian")
    embedding_model = models.CharField(max_length=64, editable=False, db_index=True)
    embedding_sha256 = models.CharField(
        max_length=64, editable=False, help_text="Digest of the photo the embedding was computed from."
    )
    face_box = models.JSONField(editable=False, help_text="[x, y, width, height] in photo pixels")

    # Not stored: set by entries.services on what a write returns, the employees its new photos resemble
    # (gallery.index.Match, which models may not import; stored for HR as PossibleDuplicate), so callers warn.
    flagged: Sequence[Any] = ()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.ensure_embedding()
        super().save(*args, **kwargs)

    @property
    def vector(self) -> np.ndarray:
        return vectors.from_bytes(self.embedding)

    def embedding_is_current(self) -> bool:
        return bool(self.image) and self.embedding_sha256 == faces.digest(bytes(self.image))

    def ensure_embedding(self, *, largest_face: bool = False) -> None:
        """Recompute the embedding when the photo changed without it (e.g. from the shell)."""
        if not self.embedding_is_current():
            self.apply_face(faces.analyse(bytes(self.image or b""), largest_face=largest_face, check_quality=False))

    def apply_face(self, face) -> None:
        """Store a photo together with the embedding computed from it."""
        self.image = face.image
        self.image_mime = face.mime_type
        self.image_sha256 = face.sha256
        self.thumbnail = face.thumbnail
        self.embedding = vectors.to_bytes(face.embedding)
        self.embedding_model = face.model_name
        self.embedding_sha256 = face.sha256
        self.face_box = list(face.box)


class FaceEntry(PhotoFields):
    """One employee's registered face: metadata, their main photo and its embedding (more photos: FacePhoto)."""

    employee_code = models.CharField(
        "employee code", max_length=64, unique=True, validators=[employee_code_validator],
        help_text="Letters, digits, '-' and '_'; at most 64.",
    )
    name = models.CharField(max_length=200)
    gender = models.CharField(max_length=16, choices=Gender.choices, default=Gender.UNSPECIFIED)
    department = models.CharField(max_length=128, blank=True, db_index=True)
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True, db_index=True)

    # Consent to biometric processing (GDPR art. 9, BIPA) and how long the face may be kept.
    consent_at = models.DateTimeField("consent given", null=True, blank=True)
    consent_reference = models.CharField(
        max_length=200, blank=True, help_text="The signed consent: document number, file name or form reference.")
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        editable=False)
    employment_end = models.DateField(null=True, blank=True)
    retain_until = models.DateField(
        null=True, blank=True, db_index=True,
        help_text="`purge_expired` deletes the entry after this day (default: employment end plus the retention "
                  "period).")

    objects = FaceEntryQuerySet.as_manager()

    class Meta:
        db_table = "faceEntries"
        verbose_name = "employee"  # HR's word; the code says entry
        verbose_name_plural = "employees"
        ordering = ["employee_code"]
        permissions = [("view_embedding", "Can view face embeddings (the biometric templates)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(embedding_sha256=F("image_sha256")), name="embedding_matches_image"
            ),
        ]

    def __str__(self):
        return f"{self.employee_code} {self.name}"

    def get_absolute_url(self):
        return reverse("entry-detail", kwargs={"Employeecode": self.employee_code})

    def all_photos(self) -> list[PhotoFields]:
        """The main photo, then the extra ones, oldest first."""
        return [self, *self.photos.all()]

    def templates(self, model_name: str) -> list[np.ndarray]:
        """Unit-length embeddings of every photo made by this model (what recognition compares)."""
        return [vectors.normalise(p.vector) for p in self.all_photos() if p.embedding_model == model_name]


class PhotoSource(models.TextChoices):
    HR = "hr", "HR"
    KIOSK = "kiosk", "kiosk (learned)"


class FacePhoto(PhotoFields):
    """One more photo of an employee: identify and the duplicate-face guard use all of them.

    HR enrols them, or a kiosk's confident clocking adds one (services.photo_learn): then `learned_from` names the
    attendance event, as plain text (entries knows nothing of attendance), and `kiosk_name` where it was taken.
    """

    entry = models.ForeignKey(FaceEntry, on_delete=models.CASCADE, related_name="photos")
    created_at = models.DateTimeField("added", auto_now_add=True)
    source = models.CharField(max_length=8, choices=PhotoSource.choices, default=PhotoSource.HR, editable=False)
    learned_from = models.CharField("learned from event", max_length=64, blank=True, editable=False)
    kiosk_name = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        db_table = "facePhotos"
        ordering = ["id"]
        verbose_name = "photo"
        constraints = [
            models.CheckConstraint(
                condition=Q(embedding_sha256=F("image_sha256")), name="photo_embedding_matches_image"
            ),
        ]

    def __str__(self):
        return f"photo {self.pk} of {self.entry_id}"


class Resolution(models.TextChoices):
    DIFFERENT = "different", "different people"


class PossibleDuplicateQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def of_pair(self, a, b):
        """The pair of these two entries (given as ids), whichever was enrolled second."""
        return self.filter(Q(entry_id=a, other_id=b) | Q(entry_id=b, other_id=a))


class PossibleDuplicate(models.Model):
    """Two employees whose faces are alike enough for HR to look, not enough for the guard to refuse.

    entry is the one whose new photo was found like other's. Deleted with either.
    """

    entry = models.ForeignKey(FaceEntry, on_delete=models.CASCADE, related_name="possible_duplicates")
    other = models.ForeignKey(FaceEntry, on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField(help_text="The best cosine similarity found between their photos.")
    created_at = models.DateTimeField("flagged", auto_now_add=True)
    resolved_at = models.DateTimeField("resolved", null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)

    objects = PossibleDuplicateQuerySet.as_manager()

    class Meta:
        db_table = "facePossibleDuplicates"
        ordering = ["-created_at"]
        verbose_name = "possible duplicate face"

    def __str__(self):
        return f"{self.entry} like {self.other}"


def photos_of_model(model_name: str, department: str | None = None) -> int:
    """How many photos (main and extra) have embeddings of this model, counted in the database."""
    entries = FaceEntry.objects.with_model(model_name)
    photos = FacePhoto.objects.filter(embedding_model=model_name)
    if department is not None:
        entries, photos = entries.filter(department=department), photos.filter(entry__department=department)
    return entries.count() + photos.count()


class GalleryState(models.Model):
    """A token renewed, in the same transaction, by every write to face entries (entries.gallery does it).

    Each process's search index compares it (one primary-key read) before a search and
    re-reads the entries only when it changed: workers agree without a restart or a broker.
    A random token rather than a counter: after a rolled-back write a counter could return
    to a value an index already saw with different rows.
    """

    KEY = "faces"
    # One row, found by this key rather than by id: ids are integers on SQL stores, ObjectIds on MongoDB.
    key = models.CharField(max_length=16, unique=True, default=KEY)
    token = models.CharField(max_length=32, default="")

    class Meta:
        db_table = "facerec_gallery_state"

    def __str__(self):
        return f"gallery state {self.token}"

    @classmethod
    def bump(cls, using: str = "default") -> None:
        token = uuid.uuid4().hex
        if not cls.objects.using(using).filter(key=cls.KEY).update(token=token):
            cls.objects.using(using).get_or_create(key=cls.KEY, defaults={"token": token})

    @classmethod
    def current(cls, using: str = "default") -> str:
        return cls.objects.using(using).filter(key=cls.KEY).values_list("token", flat=True).first() or ""


class KeptUpload(models.Model):
    """A photo sent with an admin form that was refused (no consent, several faces, a duplicate face).

    Kept for FACEREC_KEPT_UPLOAD_SECONDS so HR can correct the form without finding the file again; found only
    by its random token and only for the user who sent it (entries.admin_uploads). In the database, beside the
    other photos, so every web worker finds it.
    """

    token = models.CharField(max_length=64, unique=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255, help_text="The file's name, as HR chose it.")
    image = models.BinaryField()
    boxes = models.JSONField(default=list, help_text="The faces found, [x, y, w, h] each, when there were several.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "facerec_kept_uploads"

    def __str__(self):
        return f"kept upload {self.name}"
