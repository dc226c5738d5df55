"""A photo kept across a refused admin form (no consent, several faces, a duplicate face, a taken code, a
refused extra photo).

HR corrects the form, or picks one of the numbered faces, without finding the file again. The photo waits in
the database (KeptUpload) for FACEREC_KEPT_UPLOAD_SECONDS, under a random token that only the user who sent it
can use; saving the form deletes it, and each new one (and purge_expired) deletes those expired.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.exceptions import FaceRecError

from . import conf
from .models import KeptUpload
from .recognition import images

TOKEN_SUFFIX = "_kept"  # the hidden input beside the photo's file input: "photo_kept"
PREVIEW_SIDE = 480


def _cutoff():
    return timezone.now() - timedelta(seconds=conf.get("KEPT_UPLOAD_SECONDS"))


def forget_expired() -> int:
    """Delete the kept photos past FACEREC_KEPT_UPLOAD_SECONDS (each keep() and purge_expired call it)."""
    return KeptUpload.objects.filter(created_at__lt=_cutoff()).delete()[0]


def keep(user, name: str, data: bytes, boxes: Sequence[Sequence[int]] = ()) -> KeptUpload:
    """Keep a photo for this user (and forget the expired ones of everyone)."""
    forget_expired()
    return KeptUpload.objects.create(token=secrets.token_urlsafe(32), uploaded_by=user, name=name[:255],
                                     image=data, boxes=[list(box) for box in boxes])


def find(user, token: str | None) -> KeptUpload | None:
    """The photo this user kept under this token, unless it expired (None for anyone else's token)."""
    if not token or user is None or not user.is_authenticated:
        return None
    return KeptUpload.objects.filter(token=token, uploaded_by=user, created_at__gte=_cutoff()).first()


def forget(kept: KeptUpload | None) -> None:
    if kept is not None:
        KeptUpload.objects.filter(pk=kept.pk).delete()


@dataclass(frozen=True)
class NumberedFace:
    """A face drawn on the preview: a box and its number, no decision."""

    box: tuple[int, int, int, int]
    match: bool = True
    decision: str = ""


def face_choices(kept: KeptUpload) -> list[tuple[str, str]]:
    """The radio choices for a photo of several people: "x,y,w,h" of each numbered face."""
    return [(",".join(map(str, box)), f"Face {n}") for n, box in enumerate(kept.boxes, start=1)]


def parse_box(value: str) -> tuple[int, int, int, int] | None:
    """A face box from its radio value, or None for no choice; ValidationError for anything else."""
    if not value:
        return None
    try:
        x, y, w, h = (int(v) for v in value.split(","))
    except ValueError:
        raise forms.ValidationError("Choose one of the numbered faces.", code="invalid_face_box") from None
    return x, y, w, h


class KeptPhotoInput(forms.FileInput):
    """The file input and, after a refused form, the photo kept: its name, a preview with the faces numbered,
    and beside it the photo of the employee it was refused as (compare_with, a gallery Match), if any."""

    kept: KeptUpload | None = None
    compare_with = None

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, None, attrs, renderer)
        if self.kept is None:
            return html
        try:
            preview = images.annotate(bytes(self.kept.image),
                                      [NumberedFace(tuple(box)) for box in self.kept.boxes], side=PREVIEW_SIDE)
        except FaceRecError:  # kept photos were analysed once; should one no longer decode, its name is enough
            preview = ""
        photos = format_html('<figure><img src="{}" alt="the kept photo"><figcaption>The photo sent</figcaption>'
                             '</figure>', preview) if preview else ""
        if (other := self.compare_with) is not None:  # served, and audited, by the entries' photo view
            photos += format_html(
                '<figure><img src="{}" alt="photo of {}"><figcaption>{} {}, whose face this matches</figcaption>'
                '</figure>', reverse("admin:entries_faceentry_photo", args=[other.entry_id]), other.employee_code,
                other.employee_code, other.name)
        return format_html(
            '<div class="facerec-photo">{}<input type="hidden" name="{}" value="{}"><div class="facerec-kept">'
            '<p>Photo kept: <strong>{}</strong> (choose another file to replace it)</p>'
            '<div class="facerec-compare">{}</div></div></div>',
            html, name + TOKEN_SUFFIX, self.kept.token, self.kept.name, photos)
