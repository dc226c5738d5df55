"""The audit trail for HR admins: read-only, searchable by employee code, exportable."""

import json

from django.contrib import admin
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from core.spreadsheets import csv_writer

from .models import AuditEmployee, AuditEvent


def concerning(code: str):
    """The ids of every event that concerned this employee (for `pk__in`: no join, so no duplicate rows)."""
    return AuditEmployee.objects.filter(employee_code=code).values("event_id")


class EmployeeFilter(admin.SimpleListFilter):
    """?employee=E123: every event that concerned E123 (the codes on an event's page link here)."""

    title = "employee"
    parameter_name = "employee"

    def lookups(self, request, model_admin):
        return [(self.value(), self.value())] if self.value() else []  # no list of every code ever audited

    def queryset(self, request, queryset):
        return queryset.filter(pk__in=concerning(self.value())) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "via", "address", "what", "employee_list", "details_summary"]
    list_filter = [EmployeeFilter, "action", "via", "at"]
    date_hierarchy = "at"
    search_fields = ["actor_name"]  # and employee codes: get_search_results
    search_help_text = "An employee code (every event that concerned them), or a user name."
    readonly_fields = ("at", "actor", "actor_name", "via", "address", "what", "every_employee", "details_list",
                       "technical_details")
    fields = readonly_fields
    actions = ["export_csv"]

    @admin.display(description="action", ordering="action")
    def what(self, event):
        return event.action_label

    @admin.display(description="employees")
    def employee_list(self, event):
        return event.employee_list

    @admin.display(description="details")
    def details_summary(self, event):
        return Truncator("; ".join(f"{label}: {text}" for label, text in event.readable_details())).chars(160) or "-"

    @admin.display(description="details")
    def details_list(self, event):
        items = format_html_join("", "<li>{}: {}</li>", event.readable_details())
        return format_html('<ul class="audit-details">{}</ul>', items) if items else "-"

    @admin.display(description="recorded")
    def technical_details(self, event):
        """The stored record as it is, for whoever checks the trail itself (a disclosure: no script needed)."""
        return format_html("<details><summary>Technical details</summary><pre>{}</pre></details>",
                           json.dumps(event.details, indent=2, ensure_ascii=False))

    @admin.display(description="employees")
    def every_employee(self, event):
        """Every code, each a link to the events that concerned that employee."""
        url = reverse("admin:audit_auditevent_changelist")
        return format_html_join(", ", '<a href="{}?employee={}">{}</a>',
                                ((url, code, code) for code in event_codes(event))) or "-"

    def get_search_results(self, request, queryset, search_term):
        """An employee code (exactly: every event that concerned them), or part of a user name."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(pk__in=concerning(term)) | Q(actor_name__icontains=term)), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Export the selected events as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="facerec-audit.csv"'
        writer = csv_writer(response)
        writer.writerow(["at", "who", "via", "address", "action", "employees", "details"])
        codes = Prefetch("codes", queryset=AuditEmployee.objects.order_by("employee_code"))
        for event in queryset.order_by("at", "id").prefetch_related(codes):
            writer.writerow([event.at.isoformat(), event.actor_name, event.via, event.address or "", event.action,
                             " ".join(event_codes(event)), json.dumps(event.details, ensure_ascii=False)])
        return response


def event_codes(event) -> list[str]:
    return sorted(code.employee_code for code in event.codes.all())
