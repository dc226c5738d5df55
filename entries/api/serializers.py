"""API representation of face entries, in the original FaceRec field names."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.utils import html

from core.api.fields import Base64ImageField, RecordId

from .. import services
from ..access import VIEW_ENTRIES
from ..models import FaceEntry, Gender
from ..recognition import faces
from ..validators import employee_code_validator

VIEW_EMBEDDINGS = "entries.view_embedding"


class FormNull:
    """In a form (multipart or urlencoded) `null` clears a nullable field as JSON's null does: forms have no null."""

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        return None if self.allow_null and value == "null" and html.is_html_input(dictionary) else value


class NullableDateField(FormNull, serializers.DateField):
    pass


class NullableDateTimeField(FormNull, serializers.DateTimeField):
    pass


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`possible_duplicate`: the face resembles another employee's, not enough "
                                           "to refuse it; HR is asked to check.")
    message = serializers.CharField()
    Employeecode = serializers.CharField(required=False, help_text="Whom it resembles (only for those who may view "
                                                                   "entries).")
    similarity = serializers.FloatField(required=False, help_text="Cosine similarity of the two faces, in [0, 1].")


class WarningsField(serializers.SerializerMethodField):
    """What a write registered but asks a person to look at (always empty when reading)."""

    def __init__(self, **kwargs):
        super().__init__(method_name="get_warnings", help_text=self.__doc__, **kwargs)


@extend_schema_field(WarningSerializer(many=True))
def _warnings(serializer, photo) -> list[dict]:
    request = serializer.context.get("request")
    named = request is None or request.user.has_perm(VIEW_ENTRIES)
    return [services.possible_duplicate_warning(match, named=named) for match in photo.flagged]


def entry_link():
    return serializers.HyperlinkedIdentityField(
        view_name="entry-detail", lookup_field="employee_code", lookup_url_kwarg="Employeecode"
    )


class FaceEntryListSerializer(serializers.HyperlinkedModelSerializer):
    """A list row: no photo and no embedding, just a link to the entry."""

    id = RecordId()
    url = entry_link()
    Employeecode = serializers.CharField(source="employee_code", read_only=True)
    Name = serializers.CharField(source="name", read_only=True)
    Department = serializers.CharField(source="department", read_only=True)
    time = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = FaceEntry
        fields = ["id", "url", "Employeecode", "Name", "gender", "Department", "time"]


class FaceEntrySerializer(serializers.ModelSerializer):
    id = RecordId()
    url = entry_link()
    Employeecode = serializers.CharField(
        source="employee_code", max_length=64, validators=[employee_code_validator],
        help_text="Unique employee code: letters, digits, '-' and '_'.",
    )
    Name = serializers.CharField(source="name", max_length=200)
    gender = serializers.ChoiceField(choices=Gender.choices, default=Gender.UNSPECIFIED)
    Department = serializers.CharField(source="department", max_length=128, allow_blank=True, default="")
    time = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)
    Image = Base64ImageField(
        source="image", help_text="JPEG, PNG, WebP or HEIC photo of one face: a file (multipart) or base64 (JSON).",
    )
    largest_face = serializers.BooleanField(
        write_only=True, default=False,
        help_text="If the photo shows several faces, register the largest instead of refusing.",
    )
    allow_duplicate_face = serializers.BooleanField(
        write_only=True, default=False,
        help_text="Register even if the face matches another employee (e.g. twins).",
    )
    embeddings = serializers.SerializerMethodField(
        help_text="The embedding of each of the employee's photos, main photo first (only with ?include=embeddings).",
    )
    photos = serializers.SerializerMethodField(help_text="How many photos are enrolled (main photo included).")
    consent_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True,
        help_text="The employee's signed consent to biometric processing (form number, file name); required to "
                  "register while FACEREC_REQUIRE_CONSENT is on (422 consent_required).")
    consent_at = NullableDateTimeField(required=False, allow_null=True,
                                           help_text="When consent was given (default: now).")
    employment_end = NullableDateField(required=False, allow_null=True)
    retain_until = NullableDateField(
        required=False, allow_null=True,
        help_text="Deleted by purge_expired after this day; default employment_end + FACEREC_RETENTION_DAYS.")
    embedding_model = serializers.CharField(read_only=True)
    face_box = serializers.JSONField(read_only=True, help_text="[x, y, width, height] of the face in the photo.")
    warnings = WarningsField()

    class Meta:
        model = FaceEntry
        fields = [
            "id", "url", "Employeecode", "Name", "gender", "Department", "time", "updated",
            "Image", "largest_face", "allow_duplicate_face", "embeddings", "embedding_model", "face_box",
            "photos", "consent_reference", "consent_at", "employment_end", "retain_until", "warnings",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:  # keep the photo unless a new one is sent
            self.fields["Image"].required = False
        request = self.context.get("request")
        wanted = request.query_params.get("include", "").split(",") if request else []
        if "embeddings" in wanted and not request.user.has_perm(VIEW_EMBEDDINGS):
            raise PermissionDenied("Face embeddings are biometric templates: reading them needs the "
                                   "'Can view face embeddings' permission.")
        if "embeddings" not in wanted:
            self.fields.pop("embeddings")
        if request and not request.user.has_perm(VIEW_ENTRIES):  # e.g. may change but not view: no photo back
            self.fields["Image"].write_only = True

    def get_embeddings(self, entry) -> list[list[float]]:
        return [[round(float(x), 7) for x in photo.vector] for photo in entry.all_photos()]

    def get_photos(self, entry) -> int:
        return 1 + entry.photos.count()

    get_warnings = _warnings


class FacePhotoSerializer(serializers.Serializer):
    """One of an employee's enrolled photos; `id` is "main" for the entry's own photo."""

    id = serializers.SerializerMethodField()
    primary = serializers.SerializerMethodField(help_text="The entry's main photo (replace it with PUT Image).")
    Image = Base64ImageField(source="image", help_text="JPEG, PNG, WebP or HEIC photo of the employee's face.")
    largest_face = serializers.BooleanField(write_only=True, default=False)
    allow_duplicate_face = serializers.BooleanField(write_only=True, default=False)
    face_box = serializers.JSONField(read_only=True)
    embedding_model = serializers.CharField(read_only=True)
    time = serializers.DateTimeField(source="created_at", read_only=True)
    warnings = WarningsField()

    get_warnings = _warnings

    def get_id(self, photo) -> str:
        return "main" if self.get_primary(photo) else str(photo.pk)

    def get_primary(self, photo) -> bool:
        return not hasattr(photo, "entry_id")


class IdentifyRequestSerializer(serializers.Serializer):
    Image = Base64ImageField(help_text="JPEG, PNG, WebP or HEIC photo: a file (multipart) or base64 (JSON).")
    k = serializers.IntegerField(min_value=1, max_value=50, default=3, help_text="Candidates per face.")
    threshold = serializers.FloatField(
        min_value=0.0, max_value=1.0, required=False,
        help_text="Similarity a match must reach; default: calibrated for the gallery size.",
    )
    department = serializers.CharField(
        required=False, max_length=128,
        help_text="Search only this department, matched ignoring case; one nobody is enrolled in is refused "
                  "(422 `unknown_department`).")
    max_faces = serializers.IntegerField(min_value=1, max_value=50, default=10)


class VerifyRequestSerializer(serializers.Serializer):
    Image = Base64ImageField(help_text="JPEG, PNG, WebP or HEIC photo; its largest face is compared.")
    Employeecode = serializers.CharField(max_length=64, validators=[employee_code_validator])
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)


class BoxSerializer(serializers.Serializer):
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    w = serializers.IntegerField()
    h = serializers.IntegerField()


@extend_schema_field(BoxSerializer)
class BoxField(serializers.Field):
    """A face box, stored as (x, y, w, h), shown as {"x", "y", "w", "h"} in photo pixels."""

    def to_representation(self, value):
        return faces.box_dict(value)


class CandidateSerializer(serializers.Serializer):
    Employeecode = serializers.CharField(source="employee_code")
    Name = serializers.CharField(source="name")
    Department = serializers.CharField(source="department")
    similarity = serializers.FloatField(help_text="Cosine similarity of the embeddings, in [0, 1].")
    distance = serializers.FloatField(help_text="Cosine distance, 1 - similarity.")


class IdentifiedFaceSerializer(serializers.Serializer):
    box = BoxField()
    decision = serializers.CharField(help_text="The matched Employeecode, or 'unknown'.")
    confidence = serializers.FloatField(
        help_text="Probability, in [0, 1], that the decision (a match or unknown) is right at this gallery size, "
                  "calibrated on people not enrolled here (enrolled people and strangers equally likely).")
    match = CandidateSerializer(allow_null=True)
    candidates = CandidateSerializer(many=True)


class IdentifyResponseSerializer(serializers.Serializer):
    faces = IdentifiedFaceSerializer(many=True)
    threshold = serializers.FloatField()
    gallery_size = serializers.IntegerField()
    model = serializers.CharField(source="model_name")


class VerifyResponseSerializer(serializers.Serializer):
    Employeecode = serializers.CharField(source="entry.employee_code")
    match = serializers.BooleanField()
    similarity = serializers.FloatField(help_text="Best cosine similarity over the employee's photos.")
    distance = serializers.FloatField()
    threshold = serializers.FloatField()
    confidence = serializers.FloatField(help_text="Probability, in [0, 1], that the answer is right.")
    box = BoxField()
