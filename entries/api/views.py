"""Thin viewsets: validation in serializers, work in entries.services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import parsers, viewsets

from .. import services
from ..models import FaceEntry
from .serializers import FaceEntryListSerializer, FaceEntrySerializer

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

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = queryset.defer("image", "thumbnail", "embedding")
        return queryset

    def get_serializer_class(self):
        return FaceEntryListSerializer if self.action == "list" else FaceEntrySerializer

    def perform_create(self, serializer):
        serializer.instance = services.entry_register(**serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.entry_update(
            entry=serializer.instance,
            image=data.pop("image", None),
            largest_face=data.pop("largest_face", False),
            allow_duplicate_face=data.pop("allow_duplicate_face", False),
            **data,
        )

    def perform_destroy(self, instance):
        services.entry_delete(entry=instance)
