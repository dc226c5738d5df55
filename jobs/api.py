"""Read-only API on jobs: GET /api/jobs/ and /api/jobs/{id}/, to poll a job started elsewhere."""

from bson.errors import InvalidId
from django.core.exceptions import ValidationError
from django.http import Http404
from rest_framework import permissions, serializers, viewsets
from rest_framework.routers import SimpleRouter

from . import conf
from .models import Job, JobItem


class FailureSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="label")

    class Meta:
        model = JobItem
        fields = ["item", "code", "reason"]


class JobSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    failures = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "status", "total", "done", "failed", "created_at", "started_at", "finished_at",
                  "failures"]

    def get_failures(self, job) -> list[dict]:
        """The first JOBS FAILURES_SHOWN failed items, with why (the admin lists them all)."""
        failed = job.items.filter(status=JobItem.Status.FAILED).order_by("pk")[:conf.get("FAILURES_SHOWN")]
        return list(FailureSerializer(failed, many=True).data)


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Jobs and their progress: done and failed of total, and why items failed.

    jobs.view_job shows every job; without it, only the jobs you started (a 1.x client polling its re-embed).
    """

    serializer_class = JobSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["kind", "status"]
    search_fields: list[str] = []
    ordering_fields = ["created_at"]
    queryset = Job.objects.all()
    lookup_value_regex = r"[0-9a-f]{1,24}"  # an id on SQL databases, an ObjectId on MongoDB

    def get_queryset(self):
        jobs = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or self.request.user.has_perm("jobs.view_job"):
            return jobs
        return jobs.filter(created_by=self.request.user)

    def get_object(self):
        try:
            return super().get_object()
        except (ValueError, ValidationError, InvalidId) as exc:  # not an id this store could hold
            raise Http404 from exc


router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")
urlpatterns = router.urls

