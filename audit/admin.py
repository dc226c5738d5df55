"""The audit trail for HR admins: read-only, filterable, exportable."""

from django.contrib import admin
from django.http import HttpResponse

from core.spreadsheets import csv_writer

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "via", "address", "action", "employee_list"]
    list_filter = ["action", "via", "at"]
    date_hierarchy = "at"
    search_fields = ["employees", "actor_name"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    actions = ["export_csv"]

    @admin.display(description="employees")
    def employee_list(self, event):
        return event.employee_list

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
        for event in queryset.order_by("at", "id"):
            writer.writerow([event.at.isoformat(), event.actor_name, event.via, event.address or "", event.action,
                             event.employee_list, event.details])
        return response
