"""Bulk work on the employee list in the admin: import a ZIP as a job and watch it, export the list, and change
many employees at once. Thin over entries.archives, entries.jobs, entries.exporting and entries.services."""

from __future__ import annotations

from bson.errors import InvalidId
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core import conf as core_conf
from core.audit import Action, emit
from core.middleware import large_body

from . import archives, conf, exporting, services
from .access import may_see_faces
from .exceptions import ArchiveRefused, ConsentRequired, EntryGone, FaceRecError
from .jobs import import_retry, import_rows, import_start
from .models import FaceEntry

IMPORT_KIND = "import_faces"


class ImportForm(forms.Form):
    archive = forms.FileField(
        label="ZIP archive",
        help_text="A folder per employee named by the employee code, holding their photos (the first is the main "
                  "one); or photos plus one CSV manifest. JPEG, PNG or WebP.")
    consent_reference = forms.CharField(
        required=False, max_length=200,
        help_text="Recorded as the consent of new employees whose manifest row gives none (e.g. the signed forms' "
                  "batch).")
    largest_face = forms.BooleanField(required=False, label="Take the largest face from photos that show several")
    allow_duplicate_faces = forms.BooleanField(required=False,
                                               label="Register faces that look like another employee's (twins)")
    skip_existing = forms.BooleanField(required=False, label="Leave employees already enrolled alone")

    def clean_archive(self):
        upload = self.cleaned_data["archive"]
        limit = core_conf.get("MAX_ARCHIVE_BYTES")
        if upload.size > limit:
            raise forms.ValidationError(f"The archive is {upload.size:,} bytes; the limit is {limit:,}.",
                                        code="too_large")
        try:
            self.checked = archives.check(upload, size=upload.size)
        except ArchiveRefused as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        return upload


class RetryForm(forms.Form):
    largest_face = forms.BooleanField(required=False, label="Take the largest face from photos that show several")
    allow_duplicate_faces = forms.BooleanField(required=False,
                                               label="Register faces that look like another employee's")


class DepartmentForm(forms.Form):
    department = forms.CharField(max_length=128, required=False,
                                 help_text="Leave empty to clear it.")


class EmploymentEndForm(forms.Form):
    employment_end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Their face data is kept for the retention period after this day, then deleted.")


def _may_import(request) -> bool:
    return request.user.has_perm("entries.add_faceentry") and request.user.has_perm("entries.change_faceentry")


class BulkViews:
    """The import, its progress and the export, as views of the face entries' admin (`urls` for its get_urls)."""

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def urls(self):
        view = self.model_admin.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="entries_faceentry_import"),
            path("import/<str:job_id>/", view(self.progress_view), name="entries_faceentry_import_progress"),
            path("import/<str:job_id>/status/", view(self.status_view), name="entries_faceentry_import_status"),
            path("import/<str:job_id>/retry/", view(self.retry_view), name="entries_faceentry_import_retry"),
            path("export/", view(self.export_view), name="entries_faceentry_export"),
        ]

    def _context(self, request, **extra):
        return {**self.model_admin.admin_site.each_context(request), "opts": FaceEntry._meta, **extra}

    @large_body
    def import_view(self, request):
        """Upload a ZIP; once it passes every check it is unpacked and imported by the workers, photo by photo."""
        if not _may_import(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            job = self._start(request, form)
            if job is not None:
                return HttpResponseRedirect(reverse("admin:entries_faceentry_import_progress", args=[job.pk]))
        recent = self._jobs(request).order_by("-created_at")[:10]
        return TemplateResponse(request, "admin/entries/faceentry/import.html", self._context(
            request, title="Import employees from a ZIP", form=form, recent=recent,
            limits={"files": f"{conf.get('IMPORT_MAX_FILES'):,}", "bytes": core_conf.get("MAX_ARCHIVE_BYTES")}))

    def _start(self, request, form):
        """Unpack a checked archive and queue its import; or None, with why not on the form (and nothing kept)."""
        try:
            source = archives.unpack(*form.checked)
        except ArchiveRefused as exc:
            form.add_error("archive", forms.ValidationError(exc.message, code=exc.code))
            return None
        try:
            job = import_start(source=source, consent_reference=form.cleaned_data["consent_reference"],
                               largest_face=form.cleaned_data["largest_face"],
                               allow_duplicate_faces=form.cleaned_data["allow_duplicate_faces"],
                               skip_existing=form.cleaned_data["skip_existing"], created_by=request.user)
        except (ConsentRequired, ValueError, OSError) as exc:
            archives.discard(source)
            form.add_error("consent_reference" if isinstance(exc, ConsentRequired) else "archive",
                           getattr(exc, "message", str(exc)))
            return None
        emit(Action.IMPORT, sender=FaceEntry, employee_codes=sorted({row.employee_code for row in import_rows(job)}),
             source=form.cleaned_data["archive"].name, job=str(job.pk), photos=job.total)
        return job

    def _jobs(self, request):
        from jobs.models import Job

        jobs = Job.objects.filter(kind=IMPORT_KIND)
        return jobs if request.user.has_perm("jobs.view_job") else jobs.filter(created_by=request.user)

    def _job(self, request, job_id):
        if not _may_import(request):
            raise PermissionDenied
        try:
            return get_object_or_404(self._jobs(request), pk=job_id)
        except (ValueError, ValidationError, InvalidId) as exc:  # not an id this store could hold
            raise Http404 from exc

    def progress_view(self, request, job_id):
        """The progress bar (static/entries/import_progress.js moves it; without script the page refreshes) and,
        photo by photo, what became of each."""
        job = self._job(request, job_id)
        report = _report(job, named=may_see_faces(request))
        return TemplateResponse(request, "admin/entries/faceentry/import_progress.html", self._context(
            request, title=f"Import {job.pk}", job=job, report=report, retry_form=RetryForm(),
            percent=_percent(job), finished=job.status == job.Status.FINISHED,
            retry_of=job.params.get("retry_of")))

    def status_view(self, request, job_id):
        """What the progress bar polls: counts only (the report is on the page, drawn again when it finishes)."""
        job = self._job(request, job_id)
        return JsonResponse({"id": str(job.pk), "status": job.status, "total": job.total, "done": job.done,
                             "failed": job.failed, "percent": _percent(job),
                             "finished": job.status == job.Status.FINISHED})

    def retry_view(self, request, job_id):
        return require_POST(self._retry)(request, job_id)

    def _retry(self, request, job_id):
        job = self._job(request, job_id)
        form = RetryForm(request.POST)
        form.is_valid()
        try:
            retry = import_retry(job=job, largest_face=form.cleaned_data.get("largest_face") or None,
                                 allow_duplicate_faces=form.cleaned_data.get("allow_duplicate_faces") or None,
                                 created_by=request.user)
        except FaceRecError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("admin:entries_faceentry_import_progress", args=[job.pk]))
        messages.success(request, f"Retrying the {retry.total} photo(s) that failed.")
        return HttpResponseRedirect(reverse("admin:entries_faceentry_import_progress", args=[retry.pk]))

    def export_view(self, request):
        """The list as filtered and searched on the changelist (its query string), as CSV or XLSX."""
        if not self.model_admin.has_view_or_change_permission(request):
            raise PermissionDenied
        request.GET = request.GET.copy()
        format = request.GET.pop("format", ["csv"])[-1]
        if format not in exporting.FORMATS:
            return HttpResponse(f"format is csv or xlsx, not {format!r}.", status=400, content_type="text/plain")
        try:
            entries = self.model_admin.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponse("The list's filters in the address are not valid.", status=400,
                                content_type="text/plain")
        return _download(entries, format)


def _download(entries, format: str) -> HttpResponse:
    response = HttpResponse(exporting.employees_export(entries, format=format),
                            content_type=exporting.FORMATS[format])
    response["Content-Disposition"] = f'attachment; filename="employees-{timezone.localdate()}.{format}"'
    return response


def _percent(job) -> int:
    return 100 if not job.total else (job.done + job.failed) * 100 // job.total


def _report(job, *, named: bool) -> list[dict]:
    """Each photo of the job: its file, the employee it is for, and whether it is in (or why not); the failures
    first, as they are what HR has to act on."""
    rows = import_rows(job)
    report = []
    for item in job.items.order_by("pk"):
        row = rows[int(item.key)] if item.key.isdigit() and int(item.key) < len(rows) else None
        reason = item.reason
        if item.code == "duplicate_face" and not named:  # whose face it resembles: only for those who may view
            reason = "This face matches another employee's."
        report.append({"file": item.label, "employee": row.employee_code if row else "", "status": item.status,
                       "code": item.code, "reason": reason})
    order = {"failed": 0, "pending": 1, "done": 2}
    return sorted(report, key=lambda row: order.get(row["status"], 1))


# --- actions on the changelist -------------------------------------------------------------------------

def _intermediate(modeladmin, request, queryset, form, *, action: str, title: str, button: str):
    context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "title": title,
               "form": form, "queryset": queryset, "action": action, "button": button,
               "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
               "departments": services.departments()}
    return TemplateResponse(request, "admin/entries/faceentry/bulk_action.html", context)


def _update_each(modeladmin, request, queryset, **fields) -> None:
    changed = []
    for entry in queryset:
        try:
            services.entry_update(entry=entry, recorded_by=request.user, **fields)
        except EntryGone:
            continue
        changed.append(entry.employee_code)
    modeladmin.message_user(request, f"{len(changed)} employee(s) changed: {', '.join(changed)}.", messages.SUCCESS)


@admin.action(description="Set the department of the selected employees", permissions=["change"])
def set_department(modeladmin, request, queryset):
    form = DepartmentForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return _intermediate(modeladmin, request, queryset, form, action="set_department",
                             title="Set the department", button="Set the department")
    _update_each(modeladmin, request, queryset, department=form.cleaned_data["department"].strip())
    return None


@admin.action(description="Set the employment end of the selected employees (retention follows)",
              permissions=["change"])
def set_employment_end(modeladmin, request, queryset):
    """The service computes Retain until from the day, as for one employee (FACEREC RETENTION_DAYS after it)."""
    form = EmploymentEndForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return _intermediate(modeladmin, request, queryset, form, action="set_employment_end",
                             title="Set the employment end", button="Set the employment end")
    _update_each(modeladmin, request, queryset, employment_end=form.cleaned_data["employment_end"])
    return None


@admin.action(description="Export the selected employees (CSV)", permissions=["view"])
def export_csv(modeladmin, request, queryset):
    return _download(queryset, "csv")


@admin.action(description="Export the selected employees (Excel)", permissions=["view"])
def export_xlsx(modeladmin, request, queryset):
    return _download(queryset, "xlsx")


ACTIONS = [set_department, set_employment_end, export_csv, export_xlsx]
