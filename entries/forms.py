from django import forms

from core.exceptions import FaceRecError

from . import admin_uploads, conf, identification
from .exceptions import MultipleFacesFound
from .models import FaceEntry, FacePhoto
from .recognition import faces

# A form refused for these reasons only (or for another field) keeps its photo: the photo itself is fine.
KEPT_FOR = {"multiple_faces", "duplicate_face"}


def analyse_upload(form, data, *, exclude_id, largest_face=False, face_box=None, allow_duplicate=False, hint="",
                   several_hint=""):
    """Analyse an uploaded photo for a form: the face, or None with the reason added to the photo field.

    For a photo of several people the form's `boxes` are their faces, largest first.
    """
    try:
        face = faces.analyse(data, largest_face=largest_face, face_box=face_box)
    except MultipleFacesFound as exc:
        form.boxes = [tuple(box.values()) for box in exc.details["boxes"]]
        # With the faces numbered on the photo, their pixel coordinates say nothing more to HR.
        message = (f"{exc.details['count']} faces were found in the photo.{several_hint}" if several_hint
                   else exc.message)
        form.add_error("photo", forms.ValidationError(message, code=exc.code))
        return None
    except FaceRecError as exc:
        form.add_error("photo", forms.ValidationError(exc.message, code=exc.code))
        return None
    other = identification.duplicate_check(face, exclude_id=exclude_id).refused
    if other and not allow_duplicate:
        form.duplicate_of = other
        who = (f"employee {other.employee_code} ({other.name}), similarity {other.similarity:.3f}"
               if form.may_view_entries else "another employee")  # who a face is: only for viewers
        form.add_error("photo", forms.ValidationError(f"This face matches {who}.{hint}", code="duplicate_face"))
        return None
    return face


class IdentifyForm(forms.Form):
    """A photo to identify; the department is picked from those that exist (typed, a typo would search nobody)."""

    photo = forms.FileField(help_text="A JPEG, PNG, WebP or HEIC photo with one or more faces.")
    department = forms.ChoiceField(required=False, help_text="Search only this department (optional).")
    show_closest = forms.BooleanField(
        required=False, label="Show the closest employees",
        help_text="Also list the employees who look most alike. They are not matches: only a named decision is.")

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "all departments"), *((d, d) for d in departments)]


class FaceEntryForm(forms.ModelForm):
    """Admin form: metadata plus a photo, analysed in clean() so face problems show on the form.

    A refused form keeps its photo (entries.admin_uploads) and shows it; for a photo of several people, with
    the faces numbered, and HR picks one (chosen_face).
    """

    may_view_entries = False  # set by the admin per request: may the user learn whose face a photo is?
    uploader = None  # set by the admin per request: the user whose kept photo the form may use

    photo = forms.FileField(
        required=False, widget=admin_uploads.KeptPhotoInput,
        help_text="A JPEG, PNG, WebP or HEIC photo showing one face, front-facing. "
                  "Leave empty to keep the current photo.",
    )
    chosen_face = forms.CharField(required=False, widget=forms.HiddenInput, label="Which face",
                               help_text="The numbered face on the photo to register.")
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
        self.kept = None  # the photo kept from a refused form, as this one uses it or keeps it
        self.upload = None  # (name, bytes) of the photo this form analyses
        self.boxes: list[tuple[int, ...]] = []
        self.duplicate_of = None  # the employee whose face the photo was refused as
        if self.instance._state.adding:
            self.fields["photo"].help_text = "A JPEG, PNG, WebP or HEIC photo showing one face, front-facing."

    def clean_chosen_face(self):
        return admin_uploads.parse_box(self.cleaned_data["chosen_face"])

    def clean(self):
        cleaned = super().clean()
        if (self.instance._state.adding and conf.get("REQUIRE_CONSENT")
                and not (cleaned.get("consent_reference") or "").strip()):
            self.add_error("consent_reference", forms.ValidationError(
                "Record the employee's consent to biometric processing (the signed form) before registering "
                "their face.", code="consent_required"))
        upload, face_box = cleaned.get("photo"), cleaned.get("chosen_face")
        if upload:
            self.upload, face_box = (upload.name, upload.read()), None  # the numbered faces were the kept photo's
        elif token := self.data.get(self.add_prefix("photo") + admin_uploads.TOKEN_SUFFIX):
            self.kept = admin_uploads.find(self.uploader, token)
            if self.kept is None:
                self.add_error("photo", forms.ValidationError(
                    "The photo kept from before has expired: choose the file again.", code="kept_photo_expired"))
            else:
                self.upload, self.boxes = (self.kept.name, bytes(self.kept.image)), list(self.kept.boxes)
        if self.upload:
            self.face = analyse_upload(
                self, self.upload[1], exclude_id=self.instance.pk, largest_face=cleaned.get("largest_face", False),
                face_box=face_box, allow_duplicate=cleaned.get("allow_duplicate_face", False),
                hint=' Tick "Allow a duplicate face" if they really are different people.',
                several_hint=" Choose the employee's face, numbered on the photo below, or tick "
                             '"Use the largest face".')
        elif self.instance._state.adding and "photo" not in self.errors:
            self.add_error("photo", forms.ValidationError(self.fields["photo"].error_messages["required"],
                                                          code="required"))
        return cleaned

    def keep_photo(self):
        """Keep the photo of a refused form (this one's errors or its inline's) and show it, unless the photo
        itself was refused (no face, not an image): called by the admin when it shows the form again."""
        if self.upload is None or self.uploader is None:
            return
        if {error.code for error in self.errors.as_data().get("photo", [])} - KEPT_FOR:
            return
        if self.kept is None:
            self.kept = admin_uploads.keep(self.uploader, *self.upload, boxes=self.boxes)
        elif self.boxes and self.kept.boxes != [list(box) for box in self.boxes]:
            self.kept.boxes = [list(box) for box in self.boxes]
            self.kept.save(update_fields=["boxes"])
        self.fields["photo"].widget.kept = self.kept
        if self.duplicate_of is not None and self.may_view_entries:  # side by side: HR sees whether they differ
            self.fields["photo"].widget.compare_with = self.duplicate_of
        if self.kept.boxes:
            self.fields["chosen_face"].widget = forms.RadioSelect(choices=admin_uploads.face_choices(self.kept))


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
            self.face = analyse_upload(self, upload.read(), exclude_id=self.instance.entry_id)
        return cleaned
