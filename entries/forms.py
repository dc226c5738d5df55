from django import forms

from core.exceptions import FaceRecError

from . import conf, identification
from .models import FaceEntry, FacePhoto
from .recognition import faces


def analyse_upload(form, upload, *, exclude_id, largest_face=False, allow_duplicate=False, hint=""):
    """Analyse an uploaded photo for a form: the face, or None with the reason added to the photo field."""
    try:
        face = faces.analyse(upload.read(), largest_face=largest_face)
    except FaceRecError as exc:
        form.add_error("photo", forms.ValidationError(exc.message, code=exc.code))
        return None
    other = identification.duplicate_check(face, exclude_id=exclude_id).refused
    if other and not allow_duplicate:
        who = (f"employee {other.employee_code} ({other.name}), similarity {other.similarity:.3f}"
               if form.may_view_entries else "another employee")  # who a face is: only for viewers
        form.add_error("photo", forms.ValidationError(f"This face matches {who}.{hint}", code="duplicate_face"))
        return None
    return face


class IdentifyForm(forms.Form):
    photo = forms.FileField(help_text="A JPEG, PNG, WebP or HEIC photo with one or more faces.")
    department = forms.CharField(required=False, max_length=128, help_text="Search only this department (optional).")


class FaceEntryForm(forms.ModelForm):
    """Admin form: metadata plus a photo, analysed in clean() so face problems show on the form."""

    may_view_entries = False  # set by the admin per request: may the user learn whose face a photo is?

    photo = forms.FileField(
        required=False,
        help_text="A JPEG, PNG, WebP or HEIC photo showing one face, front-facing. "
                  "Leave empty to keep the current photo.",
    )
    largest_face = forms.BooleanField(
        required=False, label="Use the largest face",
        help_text="If the photo shows several people, register the largest face instead of refusing the photo.",
    )

    allow_duplicate_face = forms.BooleanField(
        required=False, label="Allow a duplicate face",
        help_text="Register even though the face matches another employee (e.g. twins).",
    )

    class Meta:
        model = FaceEntry
        fields = ["employee_code", "name", "gender", "department", "consent_reference", "consent_at",
                  "employment_end", "retain_until"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.face = None
        if self.instance._state.adding:
            self.fields["photo"].required = True
            self.fields["photo"].help_text = "A JPEG, PNG, WebP or HEIC photo showing one face, front-facing."

    def clean(self):
        cleaned = super().clean()
        if (self.instance._state.adding and conf.get("REQUIRE_CONSENT")
                and not (cleaned.get("consent_reference") or "").strip()):
            self.add_error("consent_reference", forms.ValidationError(
                "Record the employee's consent to biometric processing (the signed form) before registering "
                "their face.", code="consent_required"))
        upload = cleaned.get("photo")
        if upload:
            self.face = analyse_upload(
                self, upload, exclude_id=self.instance.pk, largest_face=cleaned.get("largest_face", False),
                allow_duplicate=cleaned.get("allow_duplicate_face", False),
                hint=' Tick "Allow a duplicate face" if they really are different people.')
        return cleaned


class NoInput(forms.Widget):
    """Nothing to fill in, yet a visible cell: a hidden widget's cell is hidden, and the columns after it move left."""

    def render(self, name, value, attrs=None, renderer=None):
        return ""


class FacePhotoInlineForm(forms.ModelForm):
    """One more photo of the employee, analysed in clean() so face problems show beside it."""

    may_view_entries = False

    photo = forms.FileField(required=False, help_text="Another clear, front-facing photo of the same employee.")

    class Meta:
        model = FacePhoto
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.face = None
        if self.instance.pk:  # an enrolled photo is kept or deleted, never replaced in place
            self.fields["photo"].widget, self.fields["photo"].disabled = NoInput(), True

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("photo")
        if upload and not self.instance.pk:
            self.face = analyse_upload(self, upload, exclude_id=self.instance.entry_id)
        return cleaned
