"""Thin viewsets: validation in serializers, work in entries.services."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.audit import Action, emit

from .. import services
from ..models import FaceEntry, FacePhoto
from .permissions import PhotoPermissions
from .serializers import FaceEntryListSerializer, FaceEntrySerializer, FacePhotoSerializer

INCLUDE = OpenApiParameter(
    "include", OpenApiTypes.STR, description="`embeddings` to add the face embedding to the answer."
)


@extend_schema_view(
    retrieve=extend_schema(parameters=[INCLUDE]),
    create=extend_schema(responses={201: FaceEntrySerializer}),
)
class FaceEntryViewSet(viewsets.ModelViewSet):
    """Face entries, addressed by employee code."""

    queryset = FaceEntry.objects.all()
    lookup_field = "employee_code"
    lookup_url_kwarg = "Employeecode"
    lookup_value_regex = r"[A-Za-z0-9_-]{1,64}"
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]
    filterset_fields = ["department", "gender"]
    search_fields = ["employee_code", "name"]
    ordering_fields = ["employee_code", "name", "department", "created_at"]

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        self._reads(response.data)
        return response

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        self._reads(response.data)
        return response

    def _reads(self, data):
        """Audit what the answer disclosed: the photo, and the embeddings when asked for."""
        if "Image" in data:
            emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=[data["Employeecode"]])
        if "embeddings" in data:
            emit(Action.VIEW_EMBEDDINGS, sender=FaceEntry, employee_codes=[data["Employeecode"]])

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = queryset.defer("image", "thumbnail", "embedding")
        return queryset

    def get_serializer_class(self):
        if self.action in ("faces", "remove_face"):
            return FacePhotoSerializer
        return FaceEntryListSerializer if self.action == "list" else FaceEntrySerializer

    @extend_schema(responses=FacePhotoSerializer(many=True), methods=["GET"])
    @extend_schema(request=FacePhotoSerializer, responses={201: FacePhotoSerializer}, methods=["POST"])
    @action(detail=True, methods=["get", "post"], permission_classes=[PhotoPermissions],
            pagination_class=None, filter_backends=[])  # an employee's few photos: one array
    def faces(self, request, Employeecode=None):
        """The employee's enrolled photos (main photo first), or enrol one more (POST)."""
        entry = self.get_object()
        if request.method == "GET":
            emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=[entry.employee_code], photos="all")
            return Response(FacePhotoSerializer(entry.all_photos(), many=True).data)
        serializer = FacePhotoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        photo = services.photo_add(entry=entry, **serializer.validated_data)
        return Response(FacePhotoSerializer(photo).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"faces/(?P<photo_id>[0-9a-f]{1,24})",
            permission_classes=[PhotoPermissions])
    def remove_face(self, request, Employeecode=None, photo_id=None):
        """Remove one extra photo (the main photo is replaced with PUT, not removed)."""
        entry = self.get_object()
        try:  # an integer on SQL stores, an ObjectId on MongoDB
            photo = entry.photos.get(pk=photo_id)
        except (FacePhoto.DoesNotExist, ValueError, ValidationError):
            raise Http404(f"{entry.employee_code} has no photo {photo_id}.") from None
        services.photo_remove(photo=photo)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_create(self, serializer):
        serializer.instance = services.entry_register(**serializer.validated_data, recorded_by=self.request.user)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.entry_update(
            entry=serializer.instance,
            image=data.pop("image", None),
            largest_face=data.pop("largest_face", False),
            allow_duplicate_face=data.pop("allow_duplicate_face", False),
            recorded_by=self.request.user,
            **data,
        )

    def perform_destroy(self, instance):
        services.entry_delete(entry=instance)
