from django.contrib import admin

from .models import Job, JobItem


class FailedItemInline(admin.TabularInline):
    """The items that failed, with why: what someone has to look at after a job."""

    model = JobItem
    verbose_name_plural = "failed items"
    readonly_fields = ("label", "key", "code", "reason")
    fields = readonly_fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=JobItem.Status.FAILED)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs are started by what they do (reembed, the 1.x recalculate, imports, the schedule), never here."""

    list_display = ["pk", "kind", "status", "progress", "failed", "created_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ("kind", "status", "progress", "failed", "params", "created_by", "created_at", "started_at",
                       "finished_at")
    fields = readonly_fields
    inlines = [FailedItemInline]

    @admin.display(description="done")
    def progress(self, job):
        return f"{job.done + job.failed} of {job.total}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
