"""HR's attendance pages: kiosks (pairing, revoking), events (filters, corrections, CSV) and the timesheet."""

import base64
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.http.request import split_domain_port
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.audit import Action, emit
from core.spreadsheets import csv_writer, xlsx_append, xlsx_fit_columns
from entries import services as entry_services
from entries.access import may_see_faces
from entries.models import FaceEntry

from . import api, badges, charts, conf, nonbiometric, services
from .models import AttendanceEvent, EventToReview, Kiosk, NonBiometricEmployee

NO_LIVENESS = ("Liveness is off: a printed photo or a phone screen showing an enrolled employee's face can clock "
               "them in. Place kiosks where staff can see them, and review corrections and unusual times.")
CHALLENGE = ("Challenge: a known face must turn and blink as asked, in a random order, checked on the server. It "
             "stops a photo or a phone screen held still, moved or tilted, a photo bent on a curve, a recording of "
             "another challenge and frames sent again. It does not stop a live video of the employee obeying this "
             "very challenge in real time, or a 3D mask. Its error rates are measured on synthetic sequences "
             "(docs/attendance.md, Liveness).")


LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def pairing_qr(link: str) -> str:
    """The pairing link as a QR code, an SVG data: URL for an <img> (the CSP allows data: images, no script).
    Dark on white whatever the admin's theme, or a camera cannot read it in dark mode."""
    import segno

    return segno.make_qr(link, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def _pairing_page(modeladmin, request, pairings) -> TemplateResponse:
    """Show new kiosk keys in this answer only: never in a cookie (Django's messages travel in one) or a redirect.
    The links use the address HR opened the admin with, which the device must be able to reach over HTTPS."""
    links = [request.build_absolute_uri(reverse("kiosk")) + f"#key={key}" for _kiosk, key in pairings]
    host, _port = split_domain_port(request.get_host())
    context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta,
               "title": "Pair the kiosk" if len(links) == 1 else "Pair the kiosks",
               "links": [(kiosk, link, pairing_qr(link)) for (kiosk, _key), link in zip(pairings, links, strict=True)],
               "loopback": host in LOOPBACK or host.startswith("127."), "plain_http": not request.is_secure()}
    return TemplateResponse(request, "admin/attendance/kiosk/pairing.html", context)


@admin.register(Kiosk)
class KioskAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "mode", "active", "key_prefix", "last_seen_at"]
    list_filter = ["active"]
    search_fields = ["name", "location"]
    fields = ["name", "location", "time_zone", "direction_mode", "active", "liveness", "liveness_failure",
              "liveness_note", "allow_pin", "allow_badge", "key_prefix", "pairing", "created_at", "last_seen_at"]
    readonly_fields = ["liveness_note", "key_prefix", "pairing", "created_at", "last_seen_at"]
    actions = ["issue_new_key", "revoke"]

    @admin.display(description="In / out")
    def mode(self, kiosk):
        return services.direction_mode(kiosk)

    @admin.display(description="What liveness stops")
    def liveness_note(self, kiosk):
        return CHALLENGE if services.liveness_mode(kiosk) == "challenge" else NO_LIVENESS

    @admin.display(description="Pairing link")
    def pairing(self, kiosk):
        if kiosk.pk is None:
            return "Saving shows the link to open on the device, and its QR code to scan."
        return ("Shown once, when the key was issued: only its digest is kept. To pair a device, select the kiosk "
                "in the list and choose “Issue a new key” (the old key stops working): it shows the link and its "
                "QR code.")

    def save_model(self, request, obj, form, change):
        if not change:
            kiosk, key = services.kiosk_register(
                name=obj.name, location=obj.location, direction_mode=obj.direction_mode, active=obj.active,
                time_zone=obj.time_zone, liveness=obj.liveness, liveness_failure=obj.liveness_failure,
                allow_pin=obj.allow_pin, allow_badge=obj.allow_badge)
            obj.pk, obj.created_at, obj.key_prefix = kiosk.pk, kiosk.created_at, kiosk.key_prefix
            obj._state.adding = False
            request.kiosk_pairings = [(kiosk, key)]
            return
        super().save_model(request, obj, form, change)
        if "active" in form.changed_data:
            services.kiosk_set_active(kiosk=obj, active=obj.active)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "kiosk_pairings", None):
            return _pairing_page(self, request, request.kiosk_pairings)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Issue a new key (pair the device again; the old key stops working)",
                  permissions=["change"])
    def issue_new_key(self, request, queryset):
        return _pairing_page(self, request, [(kiosk, services.kiosk_new_key(kiosk=kiosk)) for kiosk in queryset])

    @admin.action(description="Revoke (the kiosk can no longer clock anyone)", permissions=["change"])
    def revoke(self, request, queryset):
        kiosks = list(queryset.filter(active=True))
        for kiosk in kiosks:
            services.kiosk_set_active(kiosk=kiosk, active=False)
        messages.success(request, f"{len(kiosks)} kiosk(s) revoked.")


class EventForm(forms.ModelForm):
    """Added or corrected by HR: always with a reason."""

    correction_reason = forms.CharField(label="Reason", max_length=300,
                                        help_text="Why this event is added or changed (kept with who and when).")
    future = forms.BooleanField(
        label="The time is in the future", required=False,
        help_text=f"Tick to confirm a time after now (at most {conf.get('FUTURE_EVENT_MAX_HOURS')} hours ahead); "
                  "kiosks ignore the event until then.")

    class Meta:
        model = AttendanceEvent
        fields = ["employee_code", "employee_name", "department", "at", "direction", "correction_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "employee_name" in self.fields:
            self.fields["employee_name"].required = False
            self.fields["employee_name"].help_text = "Blank: the enrolled employee's name."

    def clean(self):
        data = super().clean()
        if data.get("at"):
            try:
                services.check_event_time(data["at"], future=data.get("future", False))
            except services.FutureEvent as refused:
                self.add_error("at", refused.message)
        if "employee_name" in self.fields and data.get("employee_code"):
            try:  # what the event records is decided here, so a face deleted before the save changes nothing
                data["employee_name"], data["department"] = services.event_employee(
                    data["employee_code"], employee_name=data.get("employee_name", ""),
                    department=data.get("department", ""))
            except services.UnknownEmployee as refused:
                self.add_error("employee_name", refused.message)
        return data


class DeleteReasonForm(forms.Form):
    reason = forms.CharField(max_length=services.REASON_MAX_LENGTH,
                             help_text="Why the event is deleted (kept in the audit trail with who and when).")


@admin.register(AttendanceEvent)
class AttendanceEventAdmin(admin.ModelAdmin):
    form = EventForm
    date_hierarchy = "at"
    list_display = ["at", "employee", "employee_name", "department", "direction", "kiosk_name", "method",
                    "confidence_pct", "review", "reasons", "corrected"]
    list_filter = ["direction", "method", "review", "department", "kiosk_name",
                   ("corrected_at", admin.EmptyFieldListFilter)]
    search_fields = ["employee_code", "employee_name"]
    actions = ["export_csv", "delete_with_reason"]
    change_list_template = "admin/attendance/attendanceevent/change_list.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it asks no reason: delete_with_reason replaces it
        return actions

    @admin.action(description="Delete the selected events (with a reason)", permissions=["delete"])
    def delete_with_reason(self, request, queryset):
        return self._delete_with_reason(request, list(queryset.order_by("at")), bulk=True)

    def delete_view(self, request, object_id, extra_context=None):
        """Django's page asks no reason: this one does, and deletes through services.event_delete."""
        event = self.get_object(request, object_id)
        if event is None:
            return super().delete_view(request, object_id, extra_context)  # Django's "does not exist" redirect
        if not self.has_delete_permission(request, event):
            raise PermissionDenied
        return self._delete_with_reason(request, [event], bulk=False)

    def _delete_with_reason(self, request, events, *, bulk: bool):
        asked = "apply" in request.POST if bulk else request.method == "POST"
        form = DeleteReasonForm(request.POST if asked else None)
        if asked and form.is_valid():
            for event in events:
                services.event_delete(event=event, reason=form.cleaned_data["reason"], by=request.user)
            messages.success(request, f"{len(events)} event(s) deleted.")
            return None if bulk else HttpResponseRedirect(reverse("admin:attendance_attendanceevent_changelist"))
        return TemplateResponse(request, "admin/attendance/attendanceevent/delete_with_reason.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Delete attendance events",
            "events": events, "form": form, "bulk": bulk, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })

    def get_queryset(self, request):
        return super().get_queryset(request).defer("snapshot")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["employee_code", "employee_name", "department", "at", "future", "direction", "correction_reason"]
        return ["employee_code", "employee_name", "department", "kiosk_name", "at", "future", "direction",
                "correction_reason", "method", "confidence_pct", "liveness", "review", "reasons",
                "reviewed_by", "reviewed_at", "original_at", "original_direction", "corrected_by", "corrected_at",
                "snapshot_tag"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["employee_code", "employee_name", "department", "kiosk_name", "method", "confidence_pct",
                "liveness", "review", "reasons", "reviewed_by", "reviewed_at", "original_at", "original_direction",
                "corrected_by", "corrected_at", "snapshot_tag"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.event_correct(event=obj, at=data["at"], direction=data["direction"],
                                   reason=data["correction_reason"], by=request.user, future=data["future"])
        else:
            form.instance = services.event_add(
                employee_code=data["employee_code"], employee_name=data.get("employee_name", ""),
                department=data.get("department", ""), at=data["at"], direction=data["direction"],
                reason=data["correction_reason"], by=request.user, future=data["future"])

    def save_form(self, request, form, change):
        return form.instance  # services.event_add / event_correct do the saving

    def save_related(self, request, form, formsets, change):
        pass  # no relations to save

    @admin.display(description="employee", ordering="employee_code")
    def employee(self, event):
        url = reverse("admin:attendance_attendanceevent_changelist") + f"?employee_code={event.employee_code}"
        return format_html('<a href="{}" title="Only this employee">{}</a>', url, event.employee_code)

    @admin.display(description="match strength")
    def confidence_pct(self, event):
        return "" if event.confidence is None else f"{event.confidence:.0%}"

    @admin.display(description="review reasons")
    def reasons(self, event):
        return _reasons(event)

    @admin.display(description="corrected", boolean=True)
    def corrected(self, event):
        return event.corrected_at is not None

    @admin.display(description="snapshot")
    def snapshot_tag(self, event):
        if not event.snapshot:
            return "none kept"
        emit(Action.VIEW_SNAPSHOT, sender=AttendanceEvent, employee_codes=[event.employee_code], event=str(event.pk),
             kiosk=event.kiosk_name)
        return format_html('<img src="data:image/jpeg;base64,{}" style="max-width: 320px">',
                           base64.b64encode(bytes(event.snapshot)).decode())

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "employee_code" or super().lookup_allowed(lookup, value, request)

    @admin.action(description="Export the selected events to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="attendance-events.csv"'
        writer = csv_writer(response)
        writer.writerow(["time", "Employeecode", "Name", "Department", "direction", "kiosk", "confidence",
                         "corrected", "reason", "time zone", "method", "review", "review reasons"])
        zones = services.kiosk_zones()  # the time in the kiosk's zone, with its offset; the zone beside it
        for event in queryset.order_by("at"):
            writer.writerow([services.local_time(event, zones).isoformat(), event.employee_code, event.employee_name,
                             event.department, event.direction, event.kiosk_name,
                             "" if event.confidence is None else f"{event.confidence:.3f}",
                             "yes" if event.corrected_at else "", event.correction_reason,
                             services.zone_name(services.event_zone(event, zones)), event.method, event.review,
                             event.review_reasons])
        return response

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("timesheet/", view(self.timesheet_view), name="attendance_timesheet"), *super().get_urls()]

    def timesheet_view(self, request):
        """A day, week or month of timesheets, by department, with charts; CSV or XLSX to download."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = TimesheetForm(request.GET or None, departments=entry_services.departments())
        day, span, department = timezone.localdate(), "day", ""
        if form.is_valid():
            day, span, department = form.cleaned_data["day"] or day, form.cleaned_data["span"] or span, \
                form.cleaned_data["department"]
        start, end = services.period(day, span)
        days = services.timesheet(start, end, department or None)
        totals = services.totals(days)
        download = request.GET.get("download")
        if download in ("csv", "totals-csv"):
            serializer = api.DaySerializer(days, many=True) if download == "csv" else \
                api.TotalSerializer(totals, many=True)
            response = HttpResponse(api.CSVRenderer().render(serializer.data), content_type="text/csv; charset=utf-8")
            name = "timesheet" if download == "csv" else "timesheet-totals"
            response["Content-Disposition"] = f'attachment; filename="{name}-{start}-{end}.csv"'
            return response
        if download == "xlsx":
            return _xlsx(days, totals, start, end)
        previous, following = services.adjacent_periods(start, end, span)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Timesheet",
            "form": form, "days": days, "start": start, "end": end, "span": span, "department": department,
            "totals": totals, "total": services.hours_minutes(sum(t.minutes for t in totals)),
            "previous_query": _period_query(previous, span, department),
            "next_query": _period_query(following, span, department),
            "arrivals_chart": charts.bars(
                [(f"{h:02d}", n) for h, n in enumerate(services.arrivals_by_hour(days))],
                title="Arrivals by hour (first check-in)"),
            "presence_chart": charts.bars(
                [(d.strftime("%d"), n) for d, n in services.presence_by_day(days, start, end)],
                title="Employees present each day"),
            "missing": sum(d.missing_checkout for d in days),
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/attendance/timesheet.html", context)


REASON_LABELS = {
    "low_confidence": "low match confidence",
    "non_biometric": "PIN or badge (no face)",
    "two_locations": "another location just before",
    "liveness_failed": "liveness challenge failed",
}


def _reasons(event) -> str:
    return ", ".join(REASON_LABELS.get(reason, reason) for reason in event.review_reasons.split(",") if reason)


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=services.REASON_MAX_LENGTH, widget=forms.TextInput(attrs={"size": 60}),
                             help_text="Why the clocking is wrong: it is deleted, and the audit trail keeps it "
                                       "with who and why.")


@admin.register(EventToReview)
class EventToReviewAdmin(admin.ModelAdmin):
    """Flagged clockings waiting for HR: each page shows the kept frames beside the enrolled photo, to confirm
    or reject. The attendance event permissions decide (view to see the list, change to decide); seeing the
    faces needs the permission to view face entries, and each showing of kept frames is audited."""

    list_display = ["at", "employee_code", "employee_name", "department", "direction", "kiosk_name", "method",
                    "confidence_pct", "reasons"]
    list_display_links = ["at", "employee_code"]
    list_filter = ["method", "direction", "department", "kiosk_name"]
    search_fields = ["employee_code", "employee_name"]
    actions = None
    review_template = "admin/attendance/eventtoreview/review.html"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("snapshot")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("attendance.view_attendanceevent")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("attendance.change_attendanceevent")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # reject, with a reason, instead

    @admin.display(description="match strength")
    def confidence_pct(self, event):
        return "" if event.confidence is None else f"{event.confidence:.0%}"

    @admin.display(description="why")
    def reasons(self, event):
        return _reasons(event)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The review page: what was recorded and why it was flagged, the faces, Confirm and Reject."""
        event = self.get_object(request, unquote(object_id))
        if event is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, event):
            raise PermissionDenied
        changelist = HttpResponseRedirect(reverse("admin:attendance_eventtoreview_changelist"))
        rejecting = request.method == "POST" and "reject" in request.POST
        form = RejectForm(request.POST if rejecting else None)
        if request.method == "POST":
            if not self.has_change_permission(request, event):
                raise PermissionDenied
            try:
                if "confirm" in request.POST:
                    services.review_confirm(event=event, by=request.user)
                    messages.success(request, f"The clocking of {event.employee_name} at {event.at:%H:%M} stands.")
                    return changelist
                if rejecting and form.is_valid():
                    services.review_reject(event=event, reason=form.cleaned_data["reason"], by=request.user)
                    messages.success(request, f"The clocking of {event.employee_name} is rejected and deleted.")
                    return changelist
            except services.NotPending as refused:
                messages.error(request, refused.message)
                return changelist
        faces = may_see_faces(request)
        frames = [base64.b64encode(bytes(image)).decode()
                  for image in event.frames.values_list("image", flat=True)] if faces else []
        if frames:  # kept frames are face data: audited at each showing, as snapshots are
            emit(Action.VIEW_SNAPSHOT, sender=AttendanceEvent, employee_codes=[event.employee_code],
                 event=str(event.pk), kiosk=event.kiosk_name, review_frames=len(frames))
        entry = FaceEntry.objects.filter(employee_code=event.employee_code).values_list("pk", flat=True).first() \
            if faces else None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": f"Review: {event}",
            "event": event, "reasons": _reasons(event), "local_time": services.local_time(event),
            "time_zone": services.zone_name(services.event_zone(event)), "may_see_faces": faces, "frames": frames,
            "photo_url": reverse("admin:entries_faceentry_photo", args=[entry]) if entry is not None else "",
            "may_decide": self.has_change_permission(request, event), "form": form,
            "event_url": reverse("admin:attendance_attendanceevent_change", args=[event.pk]),
        }
        return TemplateResponse(request, self.review_template, context)


class TimesheetForm(forms.Form):
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    span = forms.ChoiceField(choices=[("day", "day"), ("week", "week"), ("month", "month")], required=False)
    department = forms.ChoiceField(required=False)

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "all departments"), *((d, d) for d in departments)]


def _period_query(day: date, span: str, department: str) -> str:
    return urlencode({"day": day.isoformat(), "span": span, **({"department": department} if department else {})})


HOURS_FORMAT = "[h]:mm"  # a duration, so 31:05 is not read as a clock time and the column still adds up


def _duration(sheet, minutes: int, column: int) -> None:
    """The last row's cell in `column` as a duration Excel shows as h:mm."""
    cell = sheet.cell(row=sheet.max_row, column=column, value=timedelta(minutes=minutes))
    cell.number_format = HOURS_FORMAT


def _xlsx(days, totals, start: date, end: date) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Timesheet"
    xlsx_append(sheet, ["date", "Employeecode", "Name", "Department", "first in", "last out", "hours",
                        "missing check-out", "time zone"])
    for day in days:  # Excel has no zones: the times as the kiosk's clock showed them, and the zone beside them
        first = day.first_in.replace(tzinfo=None) if day.first_in else None
        last = day.last_out.replace(tzinfo=None) if day.last_out else None
        xlsx_append(sheet, [day.date, day.employee_code, day.employee_name, day.department, first, last, None,
                            "yes" if day.missing_checkout else "", day.time_zone])
        _duration(sheet, day.minutes, 7)
    xlsx_fit_columns(sheet)
    sheet = book.create_sheet("Totals")
    xlsx_append(sheet, ["Employeecode", "Name", "Department", "days", "hours", "missing check-outs"])
    for total in totals:
        xlsx_append(sheet, [total.employee_code, total.employee_name, total.department, total.days, None,
                            total.missing_checkouts])
        _duration(sheet, total.minutes, 5)
    xlsx_fit_columns(sheet)
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="timesheet-{start}-{end}.xlsx"'
    book.save(response)
    return response



# --- employees without a face ------------------------------------------------------------------------------

class NonBiometricEmployeeForm(forms.ModelForm):
    pin = forms.CharField(required=False, min_length=4, max_length=8, widget=forms.PasswordInput(render_value=False),
                          label="New PIN", help_text="4 to 8 digits; blank keeps the current one. Only its hash is "
                                                     "kept: tell the employee in person.")

    class Meta:
        model = NonBiometricEmployee
        fields = ["employee_code", "employee_name", "department"]

    def clean_employee_code(self):
        code = self.cleaned_data["employee_code"]
        if self.instance.pk is None and entry_services.employee_summary(code) is not None:
            raise forms.ValidationError("This employee has a face entry: withdraw their consent first (an action "
                                        "of the face entries list).", code="employee_exists")
        return code

    def clean_pin(self):
        pin = self.cleaned_data.get("pin") or None
        if pin is not None and not nonbiometric.PIN_PATTERN.fullmatch(pin):
            raise forms.ValidationError("A PIN is 4 to 8 digits.", code="invalid_pin")
        return pin


def _badge_page(modeladmin, request, issued) -> TemplateResponse:
    """The new badges, to print now: their tokens are in this answer only."""
    context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta,
               "title": "Print the badge" if len(issued) == 1 else "Print the badges",
               # The SVG is segno's drawing of our own token: nothing in it comes from a user.
               "badges": [(employee, mark_safe(badges.svg(token))) for employee, token in issued]}  # noqa: S308
    return TemplateResponse(request, "admin/attendance/nonbiometricemployee/badges.html", context)


@admin.register(NonBiometricEmployee)
class NonBiometricEmployeeAdmin(admin.ModelAdmin):
    form = NonBiometricEmployeeForm
    list_display = ["employee_code", "employee_name", "department", "has_pin", "badge_prefix", "locked_until",
                    "consent_withdrawn_at"]
    list_filter = ["department"]
    search_fields = ["employee_code", "employee_name"]
    readonly_fields = ["badge_prefix", "failed_pins", "locked_until", "consent_withdrawn_at", "created_at"]
    actions = ["issue_new_badge", "unlock"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "employee_code"] if obj else self.readonly_fields

    @admin.display(boolean=True, description="PIN")
    def has_pin(self, employee):
        return bool(employee.pin_hash)

    def save_model(self, request, obj, form, change):
        pin = form.cleaned_data.get("pin")
        if not change:
            employee = nonbiometric.employee_add(employee_code=obj.employee_code, name=obj.employee_name,
                                                 department=obj.department, pin=pin, by=request.user)
            obj.pk, obj.created_at, obj.pin_hash = employee.pk, employee.created_at, employee.pin_hash
            obj._state.adding = False
            return
        nonbiometric.employee_update(employee=obj, name=obj.employee_name, department=obj.department, by=request.user)
        if pin:
            nonbiometric.employee_set_pin(employee=obj, pin=pin, by=request.user)

    def delete_model(self, request, obj):
        nonbiometric.employee_delete(employee=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for employee in queryset:
            nonbiometric.employee_delete(employee=employee, by=request.user)

    @admin.action(description="Issue a new badge (the old one stops working) and print it", permissions=["change"])
    def issue_new_badge(self, request, queryset):
        issued = [(employee, nonbiometric.employee_new_badge(employee=employee, by=request.user))
                  for employee in queryset]
        return _badge_page(self, request, issued)

    @admin.action(description="Unlock PIN clocking now", permissions=["change"])
    def unlock(self, request, queryset):
        for employee in queryset:
            nonbiometric.employee_unlock(employee=employee, by=request.user)
        self.message_user(request, f"{len(queryset)} unlocked.", messages.SUCCESS)


@admin.action(description="Withdraw consent: delete the face data, keep them as employees without a face")
def withdraw_consent(modeladmin, request, queryset):
    """A face entries admin action (registered from here: entries knows nothing of attendance)."""
    if not (request.user.has_perm("entries.delete_faceentry")
            and request.user.has_perm("attendance.add_nonbiometricemployee")):
        raise PermissionDenied
    codes = list(queryset.values_list("employee_code", flat=True))
    if request.POST.get("confirmed") != "yes":
        context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta,
                   "title": "Withdraw consent", "codes": codes, "queryset": queryset,
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
        return TemplateResponse(request, "admin/attendance/nonbiometricemployee/withdraw_consent.html", context)
    for code in codes:
        nonbiometric.withdraw_consent(employee_code=code, by=request.user)
    modeladmin.message_user(request, f"Face data deleted for {', '.join(codes)}; they now clock with a PIN or badge "
                                     "(set one under Employees without a face).", messages.SUCCESS)
    return HttpResponseRedirect(reverse("admin:attendance_nonbiometricemployee_changelist"))


_face_entries = admin.site._registry.get(FaceEntry)
if _face_entries is not None:
    _face_entries.actions = [*(_face_entries.actions or []), withdraw_consent]
