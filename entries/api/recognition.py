"""POST /api/identify/ and /api/verify/: thin views over entries.recognition."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from core.api.schema import WITH_BODY, ErrorSerializer

from .. import identification
from ..models import FaceEntry
from .serializers import (
    IdentifyRequestSerializer,
    IdentifyResponseSerializer,
    VerifyRequestSerializer,
    VerifyResponseSerializer,
)


class CanViewEntries(BasePermission):
    """Recognising a face reveals who is enrolled: it needs the permission to view entries."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("entries.view_faceentry"))


class RecognitionViewSet(viewsets.ViewSet):
    permission_classes = [CanViewEntries]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "recognition"
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]

    @extend_schema(request=IdentifyRequestSerializer, responses={
        200: IdentifyResponseSerializer,
        422: OpenApiResponse(ErrorSerializer, description=f"{WITH_BODY[422]} Or `unknown_department`: nobody is "
                             "enrolled in that `department` (`details.departments` lists those that exist)."),
    })
    @action(detail=False, methods=["post"])
    def identify(self, request):
        """Who is in this photo? Every face (largest first) with its top-k candidates and a decision."""
        params = IdentifyRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = identification.identify(image=data["Image"], k=data["k"], threshold=data.get("threshold"),
                                      department=data.get("department"), max_faces=data["max_faces"])
        return Response(IdentifyResponseSerializer(result).data)

    @extend_schema(request=VerifyRequestSerializer, responses=VerifyResponseSerializer)
    @action(detail=False, methods=["post"])
    def verify(self, request):
        """Is the person in this photo employee Employeecode?"""
        params = VerifyRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        entry = get_object_or_404(FaceEntry, employee_code=data["Employeecode"])
        result = identification.verify(image=data["Image"], entry=entry, threshold=data.get("threshold"))
        return Response(VerifyResponseSerializer(result).data)
