"""The original FaceRec 1.x HTTP API, at its own paths and in its own shapes, over the same services.

Existing clients keep working by changing their host name and adding a token. Validation, guards,
permissions, throttling and the audit trail are those of the rest of the API; where FaceRec refuses what
the original accepted, the answer keeps FaceRec's status and body (`code`, `message`, `details`).
"""

import base64
import json

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import parsers, serializers, viewsets
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from core.api.fields import Base64ImageField
from core.api.permissions import ModelPermissions
from core.audit import Action, emit
from core.exceptions import FaceRecError

from .. import conf, identification, services
from ..models import FaceEntry, FacePhoto, Gender
from ..validators import employee_code_validator
from .permissions import PhotoPermissions
from .recognition import CanViewEntries

TAG = "FaceRec 1.x compatibility"
ORIGINAL_GENDER = {Gender.MALE: "Male", Gender.FEMALE: "Female", Gender.OTHER: "Other",
                   Gender.UNSPECIFIED: "Unspecified"}


@extend_schema_field({"oneOf": [{"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                               {"type": "integer", "minimum": 0, "maximum": 10**18}]})
class EmployeeCodeField(serializers.Field):
    """The original sent employee codes as numbers or strings."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            raise serializers.ValidationError("EmployeeCode must be a number or a string.")
        code = str(data).strip()
        employee_code_validator(code)
        return code

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class OriginalGenderField(serializers.Field):
    """'Male', 'Female' (any case); anything else is 'other'. Answered in the original spelling."""

    def to_internal_value(self, data):
        text = str(data or "").strip().lower()
        if not text:
            return Gender.UNSPECIFIED
        return {"male": Gender.MALE, "female": Gender.FEMALE}.get(text, Gender.OTHER)

    def to_representation(self, value):
        return ORIGINAL_GENDER.get(value, "Unspecified")


class OriginalEntrySerializer(serializers.Serializer):
    EmployeeCode = EmployeeCodeField(source="employee_code")
    Name = serializers.CharField(source="name", max_length=200)
    gender = OriginalGenderField(required=False)
    Department = serializers.CharField(source="department", max_length=128, required=False, allow_blank=True)
    Images = serializers.ListField(child=Base64ImageField(), required=False, min_length=1, max_length=50,
                                   help_text="Base64 photos of the employee (older clients send one `Image`).")
    Image = Base64ImageField(required=False, write_only=True)
    ConsentReference = serializers.CharField(
        required=False, allow_blank=True, write_only=True, max_length=200,
        help_text="Not in the original: the employee's signed consent (required while FACEREC_REQUIRE_CONSENT).")

    def validate(self, data):
        images = data.pop("Images", None) or ([data.pop("Image")] if "Image" in data else [])
        data.pop("Image", None)
        if not images:
            raise serializers.ValidationError({"Images": "At least one photo is needed."})
        data["images"] = images
        return data

    def to_representation(self, entry):
        return {"EmployeeCode": entry.employee_code, "Name": entry.name,
                "gender": ORIGINAL_GENDER.get(entry.gender, "Unspecified"), "Department": entry.department,
                "Images": [Base64ImageField().to_representation(p.image) for p in entry.all_photos()]}


class UpdateSerializer(OriginalEntrySerializer):
    EmployeeCode = None  # type: ignore[assignment]  # DRF's way to drop a field the parent declares


class OriginalEntryScheme(OpenApiSerializerExtension):
    """In the schema too: a request sends `Images` or (older clients) `Image`."""

    target_class = OriginalEntrySerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["anyOf"] = [{"required": ["Images"]}, {"required": ["Image"]}]
        return schema


MESSAGE = inline_serializer("OriginalMessage", {"message": serializers.CharField()})
FACE_UPLOAD = inline_serializer("OriginalFace", {"Face": serializers.FileField()})
MATCH = inline_serializer("OriginalMatch", {"EmployeeCode": serializers.CharField(), "Name": serializers.CharField(),
                                            "gender": serializers.CharField(), "Department": serializers.CharField(),
                                            "score": serializers.FloatField()})


class FaceSerializer(serializers.Serializer):
    Face = Base64ImageField()


class PageSerializer(serializers.Serializer):
    """/Data/'s optional paging, not in the original: without it the whole gallery, up to the cap."""

    # Bounded: a database's OFFSET is a 64-bit integer, and no gallery is near 2**31 entries.
    offset = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0,
                                      help_text="Entries to skip (by EmployeeCode).")
    limit = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False,
                                     help_text="At most this many entries (at most FACEREC_COMPAT_DATA_MAX_ENTRIES).")


class TooManyEntries(FaceRecError):
    """/Data/ past its cap: one answer that long would outlive the worker's timeout."""

    code = "too_many_entries"
    status = 422


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _base64(data, piece=3 * 64 * 1024):
    """A photo as base64 in 256 KB pieces: no copy of a whole photo is ever made."""
    view = memoryview(data)
    for start in range(0, len(view), piece):
        yield base64.b64encode(view[start:start + piece])


def _stream_entries(rows):
    """The original /Data/ array, written as it is read: one photo in memory at a time, whatever the gallery."""
    yield b"["
    first = True
    for pk, code, name, gender, department in rows:
        main = FaceEntry.objects.filter(pk=pk).values_list("image", flat=True).first()
        if main is None:  # deleted meanwhile
            continue
        head = _json({"EmployeeCode": code, "Name": name, "gender": ORIGINAL_GENDER.get(gender, "Unspecified"),
                      "Department": department})
        yield (b"" if first else b",") + head[:-1] + b',"Images":["'
        first = False
        yield from _base64(main)
        del main
        for photo in FacePhoto.objects.filter(entry_id=pk).values_list("pk", flat=True):
            image = FacePhoto.objects.filter(pk=photo).values_list("image", flat=True).first()
            if image is not None:
                yield b'","'
                yield from _base64(image)
        yield b'"]}'
    yield b"]"


def _message(text, status=200):
    return Response({"message": text}, status=status)


@extend_schema(tags=[TAG])
class FaceRec1ViewSet(viewsets.GenericViewSet):
    """The original endpoints. Permissions are face-entry model permissions by what each one does."""

    queryset = FaceEntry.objects.all()
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]
    throttle_scope = "recognition"
    pagination_class = None  # the original answers arrays; /Data/ pages with ?offset=&limit=
    filter_backends = []

    def get_permissions(self):
        if self.action == "recognize_face":
            return [CanViewEntries()]
        if self.action == "recalculate_embeddings":
            return [PhotoPermissions()]  # POST that changes entries: the change permission
        return [ModelPermissions()]

    def get_throttles(self):
        throttles = super().get_throttles()
        return [*throttles, ScopedRateThrottle()] if self.action == "recognize_face" else throttles

    def _entry(self, code):
        return FaceEntry.objects.filter(employee_code=str(code)).first()

    @extend_schema(request=OriginalEntrySerializer, responses={200: MESSAGE})
    def create_new_face_entry(self, request):
        """Register an employee with one or several photos (all enrolled, or none)."""
        data = OriginalEntrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        first, *more = values.pop("images")
        services.entry_register(image=first, extra_images=more, recorded_by=request.user,
                                consent_reference=values.pop("ConsentReference", ""), **values)
        return _message("Face entry created successfully")

    @extend_schema(parameters=[PageSerializer], responses={
        200: OpenApiResponse(OriginalEntrySerializer(many=True),
                             description="A JSON array, streamed; `X-Total-Count` is the number of entries."),
        422: OpenApiResponse(description="`too_many_entries`: more than FACEREC_COMPAT_DATA_MAX_ENTRIES; page with "
                                         "?offset=&limit=.")})
    def data(self, request):
        """Every employee with their photos, by EmployeeCode: a JSON array streamed one photo at a time.

        Up to FACEREC_COMPAT_DATA_MAX_ENTRIES entries in one answer (the worker's timeout bounds how long it may
        take); `?offset=&limit=` reads a larger gallery page by page.
        """
        page = PageSerializer(data=request.query_params)
        page.is_valid(raise_exception=True)
        offset, limit = page.validated_data["offset"], page.validated_data.get("limit")
        cap = conf.get("COMPAT_DATA_MAX_ENTRIES")
        total = FaceEntry.objects.count()
        wanted = min(limit, cap) if limit else cap
        if limit is None and total - offset > cap:
            raise TooManyEntries(
                f"The gallery has {total} entries; /Data/ answers at most {cap} at a time: read it page by page "
                f"with ?offset=0&limit={cap}, then ?offset={cap}&limit={cap}, and so on.", total=total, limit=cap)
        if limit is not None and limit > cap:
            raise TooManyEntries(f"limit is at most {cap}.", total=total, limit=cap)
        rows = list(FaceEntry.objects.order_by("employee_code")
                    .values_list("pk", "employee_code", "name", "gender", "department")[offset:offset + wanted])
        emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=[row[1] for row in rows], photos="all")
        response = StreamingHttpResponse(_stream_entries(rows), content_type="application/json")
        response["X-Total-Count"] = str(total)
        return response

    @extend_schema(responses={200: OriginalEntrySerializer, 404: MESSAGE})
    def read(self, request, code):
        entry = self._entry(code)
        if entry is None:
            return _message("Employee not found", 404)
        emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=[entry.employee_code], photos="all")
        answer = OriginalEntrySerializer(entry).data
        answer.pop("EmployeeCode")
        return Response(answer)

    @extend_schema(request=UpdateSerializer, responses={200: OpenApiTypes.STR, 404: MESSAGE})
    def update(self, request, code):
        """Change the metadata; the images replace the employee's photos and are embedded again."""
        entry = self._entry(code)
        if entry is None:
            return _message("Employee not found", 404)
        data = UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("ConsentReference", None)
        services.entry_set_photos(entry=entry, images=values.pop("images"), recorded_by=request.user, **values)
        return Response("Updated Successfully")

    @extend_schema(responses={200: inline_serializer("OriginalDeleted", {"Message": serializers.CharField()}),
                              404: MESSAGE})
    def delete(self, request, code):
        entry = self._entry(code)
        if entry is None:
            return _message("Employee not found", 404)
        services.entry_delete(entry=entry)
        return Response({"Message": "Successfully Deleted"})

    @extend_schema(request={"multipart/form-data": FACE_UPLOAD}, responses={200: MATCH, 404: MESSAGE})
    def recognize_face(self, request):
        """Who is this? The largest face, matched as identify decides (calibrated threshold), or 404."""
        upload = FaceSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        face = identification.identify(image=upload.validated_data["Face"], k=1, max_faces=1).faces[0]
        if face.match is None:
            return _message("No match found", 404)
        entry = FaceEntry.objects.filter(pk=face.match.entry_id).first()
        if entry is None:  # deleted since the search: no longer enrolled
            return _message("No match found", 404)
        return Response({"EmployeeCode": entry.employee_code, "Name": entry.name,
                         "gender": ORIGINAL_GENDER.get(entry.gender, "Unspecified"),
                         "Department": entry.department, "score": face.match.similarity})

    @extend_schema(request=None, responses={202: OpenApiResponse(inline_serializer("RecalculateStarted", {
        "message": serializers.CharField(), "job": serializers.CharField(), "status": serializers.CharField(),
        "total": serializers.IntegerField(), "url": serializers.URLField()}),
        description="Started: poll `url` (GET /api/jobs/{id}/, also in `Location`) for its progress.")})
    def recalculate_embeddings(self, request):
        """Embed every photo again with the configured model (what `manage.py reembed --all` does), on the workers.

        Answers 202 at once with the job's id; GET `/api/jobs/{id}/` shows its progress (done and failed of
        total, and why items failed) to whoever started it.
        """
        job = services.entries_reembed_start(created_by=request.user)
        url = reverse("job-detail", args=[job.pk])
        return Response({"message": "Recalculating embeddings", "job": str(job.pk), "status": job.status,
                         "total": job.total, "url": request.build_absolute_uri(url)},
                        status=202, headers={"Location": url})


def urls():
    """The original paths, each answering only its own method (405 with `Allow` for any other)."""
    from django.urls import path

    def view(actions):
        methods = [*actions, "head"] if "get" in actions else [*actions]
        return FaceRec1ViewSet.as_view(actions, http_method_names=methods)

    return [
        path("create_new_faceEntry", view({"post": "create_new_face_entry"}), name="facerec1-create"),
        path("Data/", view({"get": "data"}), name="facerec1-data"),
        path("read/<str:code>", view({"get": "read"}), name="facerec1-read"),
        path("update/<str:code>", view({"put": "update"}), name="facerec1-update"),
        path("delete/<str:code>", view({"delete": "delete"}), name="facerec1-delete"),
        path("recognize_face", view({"post": "recognize_face"}), name="facerec1-recognize"),
        path("recalculate_embeddings", view({"post": "recalculate_embeddings"}), name="facerec1-recalculate"),
    ]
