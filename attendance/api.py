"""Attendance API: kiosks clock (their own key), HR reads events and timesheets (model permissions)."""

import io

import django_filters
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api.fields import Base64ImageField, RecordId, StrictCharField
from core.api.permissions import ModelPermissions
from core.spreadsheets import csv_writer

from . import badges, conf, liveness, nonbiometric, services
from .authentication import KioskKeyAuthentication
from .models import AttendanceEvent, Direction, NonBiometricEmployee, Review

TAG = "Attendance"
MAX_TIMESHEET_DAYS = 93


class IsKiosk(BasePermission):
    message = "Only a paired kiosk may clock people in and out."

    def has_permission(self, request, view):
        return request.auth is not None and hasattr(request.user, "kiosk")


class CanViewAttendance(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("attendance.view_attendanceevent"))


class CanReviewAttendance(BasePermission):
    """Confirming or rejecting a flagged event changes the record: the change permission (and view, to read it)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.has_perm("attendance.view_attendanceevent")
                    and user.has_perm("attendance.change_attendanceevent"))


class EventSerializer(serializers.ModelSerializer):
    id = RecordId()
    Employeecode = serializers.CharField(source="employee_code")
    Name = serializers.CharField(source="employee_name")
    Department = serializers.CharField(source="department")
    time = serializers.DateTimeField(source="at")
    kiosk = serializers.CharField(source="kiosk_name")
    corrected = serializers.SerializerMethodField()
    review_reasons = serializers.SerializerMethodField(help_text="Why it was flagged for review (empty: it was not).")
    local_time = serializers.SerializerMethodField(
        help_text="The time in the kiosk's zone (blank kiosk zone, or no kiosk: the server's TIME_ZONE).")
    time_zone = serializers.SerializerMethodField()

    class Meta:
        model = AttendanceEvent
        fields = ["id", "Employeecode", "Name", "Department", "time", "local_time", "time_zone", "direction",
                  "kiosk", "method", "similarity", "confidence", "liveness", "review", "review_reasons",
                  "reviewed_at", "corrected", "correction_reason", "original_at"]

    def get_corrected(self, event) -> bool:
        return event.corrected_at is not None

    def get_review_reasons(self, event) -> list[str]:
        return [reason for reason in event.review_reasons.split(",") if reason]

    def _zones(self):
        if "zones" not in self.context:  # one read of the kiosks' zones for a page of events
            self.context["zones"] = services.kiosk_zones()
        return self.context["zones"]

    def get_local_time(self, event) -> str:
        return services.local_time(event, self._zones()).isoformat()

    def get_time_zone(self, event) -> str:
        return services.zone_name(services.event_zone(event, self._zones()))


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=services.REASON_MAX_LENGTH, allow_blank=True, required=False,
                                   help_text="Why the clocking is wrong (kept in the audit trail with who and when).")


class KioskEventSerializer(serializers.ModelSerializer):
    """A clocking as the kiosk shows it: nothing HR recorded about it, nothing about the match."""

    time = serializers.DateTimeField(source="at")
    Name = serializers.CharField(source="employee_name")

    class Meta:
        model = AttendanceEvent
        fields = ["time", "direction", "Name"]


class ClockRequestSerializer(serializers.Serializer):
    Image = Base64ImageField(help_text="A camera frame (JPEG, about 640 px wide): base64 in JSON, or a file.")
    direction = serializers.ChoiceField(choices=Direction.choices, required=False,
                                        help_text="In or Out, on kiosks that show the two buttons.")


class ChallengeSerializer(serializers.Serializer):
    nonce = serializers.CharField(help_text="Send it back with the answer; it counts once.")
    steps = serializers.ListField(child=serializers.ChoiceField(choices=liveness.STEPS),
                                  help_text="What to ask, in this order (left and right: the person's own).")
    deadline = serializers.DateTimeField(help_text="The answer must arrive by then.")
    step_seconds = serializers.FloatField(help_text="How long to show each step (the person faces the camera "
                                                    "for lead_seconds before the first and after the last).")
    lead_seconds = serializers.FloatField()

    def to_representation(self, challenge):
        return {"nonce": challenge.nonce, "steps": challenge.steps.split(","),
                "deadline": serializers.DateTimeField().to_representation(challenge.deadline),
                "step_seconds": conf.get("CHALLENGE_STEP_SECONDS"), "lead_seconds": services.LEAD_SECONDS}


class ClockResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["clocked", "already", "confirming", "unknown", "no_face", "challenge",
                                              "liveness_failed"])
    message = serializers.CharField(help_text="What the kiosk shows: a name only once someone is clocked.")
    event = KioskEventSerializer(allow_null=True, help_text="The clocking (clocked, already), else null.")
    challenge = ChallengeSerializer(required=False, help_text="status challenge: answer it at clock/challenge/.")


class ChallengeAnswerSerializer(serializers.Serializer):
    nonce = StrictCharField(max_length=64, trim_whitespace=False, help_text="The challenge's nonce, as issued.")
    frames = serializers.ListField(child=Base64ImageField(), min_length=2, max_length=services.MAX_CHALLENGE_FRAMES,
                                   help_text="JPEG frames taken while the person answered (files, or base64).")
    times = serializers.ListField(child=serializers.FloatField(min_value=0), min_length=2,
                                  max_length=services.MAX_CHALLENGE_FRAMES,
                                  help_text="Each frame's time, in seconds since the challenge was shown.")
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)


class KioskSerializer(serializers.Serializer):
    name = serializers.CharField()
    location = serializers.CharField()
    time_zone = serializers.CharField(help_text="The kiosk's IANA time zone: its clock and greetings use it.")
    direction_mode = serializers.CharField()
    confirm_frames = serializers.IntegerField()
    liveness = serializers.CharField(help_text="off, or challenge: a known face must turn and blink as asked.")
    allow_pin = serializers.BooleanField(help_text="Whether employees without a face may clock with a PIN here.")
    allow_badge = serializers.BooleanField(help_text="Whether a badge's QR code held to the camera clocks.")


class PinClockRequestSerializer(serializers.Serializer):
    Employeecode = StrictCharField(max_length=64)
    pin = StrictCharField(max_length=8, min_length=1, trim_whitespace=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False,
                                        help_text="In or Out, on kiosks that show the two buttons.")


def message(result: services.Clocking) -> str:
    """The kiosk's words for a result, in the kiosk's time zone (a morning is the kiosk's morning)."""
    if result.event is not None:  # clocked, or already
        at, name = services.local_time(result.event), result.event.employee_name
        verb = "in" if result.event.direction == Direction.IN else "out"
        if result.status == "already":
            return f"{name}, you are already clocked {verb} at {at:%H:%M}"
        if result.event.direction == Direction.OUT:
            return f"Goodbye, {name} — out at {at:%H:%M}"
        part = "morning" if at.hour < 12 else "afternoon" if at.hour < 18 else "evening"
        return f"Good {part}, {name} — in at {at:%H:%M}"
    if result.status == "liveness_failed":
        return result.advice or "Please try again"
    return {"confirming": "Hold still…", "unknown": "Not recognised — please see HR",
            "no_face": "Look at the camera", "challenge": "Follow the arrows"}[result.status]


def answer(result: services.Clocking) -> Response:
    body = {"status": result.status, "message": message(result),
            "event": KioskEventSerializer(result.event).data if result.event else None}
    if result.challenge is not None:
        body["challenge"] = ChallengeSerializer(result.challenge).data
    return Response(body)


class KioskViewSet(viewsets.ViewSet):
    """What a paired kiosk may do: read its settings, and clock."""

    authentication_classes = [KioskKeyAuthentication]
    permission_classes = [IsKiosk]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "kiosk"
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser]

    @extend_schema(tags=[TAG], responses=KioskSerializer)
    def kiosk(self, request):
        """This kiosk: its name, its time zone and how it asks for In and Out."""
        kiosk = request.auth
        return Response({"name": kiosk.name, "location": kiosk.location,
                         "time_zone": services.zone_name(services.kiosk_zone(kiosk)),
                         "direction_mode": services.direction_mode(kiosk),
                         "confirm_frames": conf.get("CONFIRM_FRAMES"), "liveness": services.liveness_mode(kiosk),
                         "allow_pin": kiosk.allow_pin, "allow_badge": kiosk.allow_badge})

    @extend_schema(tags=[TAG], request=ClockRequestSerializer, responses=ClockResponseSerializer)
    def clock(self, request):
        """A kiosk's camera frame: the employee clocked in or out once consecutive captures agree, or unknown.

        Until someone is clocked the answer names no one (confirming: "Hold still…"); a frame sent again, or
        re-encoded, is not a second capture.
        """
        params = ClockRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = services.clock(kiosk=request.auth, image=params.validated_data["Image"],
                                direction=params.validated_data.get("direction"))
        return answer(result)

    @extend_schema(tags=[TAG], request=ChallengeAnswerSerializer, responses=ClockResponseSerializer)
    def challenge(self, request):
        """The answer to a liveness challenge: the frames taken while the person followed its steps.

        Clocked if the same employee turned and blinked as asked, in order, as a live head moves; otherwise
        liveness_failed, with what to do (or, where the kiosk's policy says so, clocked and flagged for review).
        A challenge counts once, before its deadline, and a frame sent before is refused (409).
        """
        params = ChallengeAnswerSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return answer(services.clock_challenge(kiosk=request.auth, nonce=data["nonce"], images=data["frames"],
                                               times=data["times"], direction=data.get("direction")))

    @extend_schema(tags=[TAG], request=PinClockRequestSerializer, responses=ClockResponseSerializer)
    def clock_pin(self, request):
        """An employee without a face clocks with their code and PIN (kiosks that allow PINs).

        A wrong PIN and a code nobody has get the same answer (403 pin_refused); after ATTENDANCE_PIN_ATTEMPTS
        in a row, for the employee or at this kiosk, PINs are refused for a while (429 pin_locked).
        """
        params = PinClockRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = nonbiometric.clock_pin(kiosk=request.auth, employee_code=params.validated_data["Employeecode"],
                                        pin=params.validated_data["pin"],
                                        direction=params.validated_data.get("direction"))
        return answer(result)


class NonBiometricEmployeeSerializer(serializers.ModelSerializer):
    """An employee without a face: never their PIN's hash or their badge's digest."""

    Employeecode = StrictCharField(source="employee_code", max_length=64)
    Name = StrictCharField(source="employee_name", max_length=200)
    Department = StrictCharField(source="department", max_length=128, required=False, allow_blank=True)
    # Empty is no PIN (a change: the PIN stays), as an HTML form sends a field left blank.
    pin = StrictCharField(write_only=True, required=False, allow_blank=True, max_length=8, trim_whitespace=False,
                          # the service's own pattern; "" is let through before validators (allow_blank)
                          validators=[RegexValidator(rf"^{nonbiometric.PIN_PATTERN.pattern}\Z",
                                                     "A PIN is 4 to 8 digits.", "invalid_pin")],
                          help_text="4 to 8 digits; only its hash is stored. Empty or absent: no PIN, or unchanged.")
    has_pin = serializers.SerializerMethodField()
    has_badge = serializers.SerializerMethodField()

    class Meta:
        model = NonBiometricEmployee
        fields = ["Employeecode", "Name", "Department", "pin", "has_pin", "has_badge", "badge_prefix",
                  "locked_until", "consent_withdrawn_at", "created_at"]
        read_only_fields = ["badge_prefix", "locked_until", "consent_withdrawn_at", "created_at"]

    def get_has_pin(self, employee) -> bool:
        return bool(employee.pin_hash)

    def get_has_badge(self, employee) -> bool:
        return bool(employee.badge_sha256)


class NonBiometricEmployeeUpdateSerializer(NonBiometricEmployeeSerializer):
    """A change: the code is the employee's identity and stays (sent, it is ignored)."""

    Employeecode = StrictCharField(source="employee_code", read_only=True)


class BadgeSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: print it now (only its digest is kept).")
    payload = serializers.CharField(help_text="What the QR code says.")
    svg = serializers.CharField(help_text="The QR code, to print.")


@extend_schema(tags=[TAG])
class NonBiometricEmployeeViewSet(viewsets.ModelViewSet):
    """Employees who clock without a face (PIN or badge): HR adds them, sets PINs, issues badges, unlocks them."""

    queryset = NonBiometricEmployee.objects.all()
    serializer_class = NonBiometricEmployeeSerializer
    # JSON only: no file to send, and a form's every value is text (a list or a number sent would be read as one).
    parser_classes = [parsers.JSONParser]
    permission_classes = [ModelPermissions]
    lookup_field = "employee_code"
    lookup_url_kwarg = "Employeecode"
    search_fields = ["employee_code", "employee_name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_serializer_class(self):
        if self.action == "partial_update":
            return NonBiometricEmployeeUpdateSerializer
        return super().get_serializer_class()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = nonbiometric.employee_add(
            employee_code=data["employee_code"], name=data["employee_name"], department=data.get("department", ""),
            pin=data.get("pin") or None, by=self.request.user)

    def perform_update(self, serializer):
        data = serializer.validated_data
        employee, pin = serializer.instance, data.get("pin") or None
        if {"employee_name", "department"} & set(data):
            nonbiometric.employee_update(employee=employee, name=data.get("employee_name", employee.employee_name),
                                         department=data.get("department", employee.department), by=self.request.user)
        if pin is not None:
            nonbiometric.employee_set_pin(employee=serializer.instance, pin=pin, by=self.request.user)

    def perform_destroy(self, instance):
        nonbiometric.employee_delete(employee=instance, by=self.request.user)

    @extend_schema(request=None, responses={201: BadgeSerializer})
    @action(detail=True, methods=["post"])
    def badge(self, request, Employeecode=None):
        """Issue a new badge (the old one stops working): its token and QR code, shown this once."""
        token = nonbiometric.employee_new_badge(employee=self.get_object(), by=request.user)
        return Response({"token": token, "payload": badges.payload(token), "svg": badges.svg(token)},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=NonBiometricEmployeeSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request, Employeecode=None):
        """End the employee's PIN lockout now."""
        employee = self.get_object()
        nonbiometric.employee_unlock(employee=employee, by=request.user)
        return Response(self.get_serializer(employee).data)


class CanWithdrawConsent(BasePermission):
    message = "Withdrawing consent needs the permissions to delete face entries and add employees without a face."

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perms(
            ["entries.delete_faceentry", "attendance.add_nonbiometricemployee"]))


class WithdrawConsentSerializer(serializers.Serializer):
    Employeecode = serializers.CharField(max_length=64)


class WithdrawConsentView(APIView):
    permission_classes = [CanWithdrawConsent]

    @extend_schema(tags=[TAG], request=WithdrawConsentSerializer, responses={201: NonBiometricEmployeeSerializer})
    def post(self, request):
        """The employee withdraws consent: their face entry, photos and embeddings are deleted; they stay an
        employee without a face (PIN or badge), their attendance history untouched."""
        params = WithdrawConsentSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        employee = nonbiometric.withdraw_consent(employee_code=params.validated_data["Employeecode"],
                                                 by=request.user)
        return Response(NonBiometricEmployeeSerializer(employee).data, status=status.HTTP_201_CREATED)


class EventFilter(django_filters.FilterSet):
    employee = django_filters.CharFilter(field_name="employee_code")
    kiosk = django_filters.CharFilter(field_name="kiosk_name")
    start = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="from")
    end = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="to")
    review = django_filters.ChoiceFilter(
        choices=[(Review.PENDING, "to review"), (Review.CONFIRMED, "confirmed"), ("none", "not flagged")],
        method="filter_review", label="review (pending, confirmed or none)")

    class Meta:
        model = AttendanceEvent
        fields = ["employee", "department", "kiosk", "direction", "method", "review", "start", "end"]

    def filter_review(self, queryset, name, value):
        return queryset.filter(review="" if value == "none" else value)


@extend_schema(tags=[TAG])
class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """Attendance events, newest first: filter by employee, department, kiosk, direction and dates."""

    queryset = AttendanceEvent.objects.defer("snapshot")
    serializer_class = EventSerializer
    permission_classes = [ModelPermissions]
    filterset_class = EventFilter
    search_fields = ["employee_code", "employee_name"]
    ordering_fields = ["at", "employee_code"]

    @extend_schema(request=None, responses=EventSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanReviewAttendance])
    def confirm(self, request, pk=None):
        """A flagged clocking stands (its kept frames are dropped). 409 not_pending if it is not waiting."""
        event = services.review_confirm(event=self.get_object(), by=request.user)
        return Response(EventSerializer(event).data)

    @extend_schema(request=RejectSerializer, responses={204: None})
    @action(detail=True, methods=["post"], permission_classes=[CanReviewAttendance])
    def reject(self, request, pk=None):
        """A flagged clocking is wrong: it is deleted, with the reason (400 reason_required without one)."""
        params = RejectSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.review_reject(event=self.get_object(), reason=params.validated_data.get("reason", ""),
                               by=request.user)
        return Response(status=204)


class TimesheetQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (default: today).")
    end = serializers.DateField(required=False, help_text="Last day (default: the first).")
    department = serializers.CharField(required=False, max_length=128)

    def validate(self, data):
        data.setdefault("start", timezone.localdate())
        data.setdefault("end", data["start"])
        if data["end"] < data["start"]:
            raise serializers.ValidationError({"to": "The last day is before the first."})
        if (data["end"] - data["start"]).days >= MAX_TIMESHEET_DAYS:
            raise serializers.ValidationError({"to": f"At most {MAX_TIMESHEET_DAYS} days at a time."})
        return data


class ZonedDateTimeField(serializers.DateTimeField):
    """An aware time as given (ISO 8601 with its offset), not moved to the server's zone."""

    def enforce_timezone(self, value):
        return value


class DaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The local date, in the zone of the kiosk of the day's first event.")
    Employeecode = serializers.CharField(source="employee_code")
    Name = serializers.CharField(source="employee_name")
    Department = serializers.CharField(source="department")
    first_in = ZonedDateTimeField(allow_null=True, help_text="In the day's zone, with its UTC offset.")
    last_out = ZonedDateTimeField(allow_null=True, help_text="In the day's zone, with its UTC offset.")
    hours = serializers.FloatField()
    hours_hmm = serializers.CharField(source="hours_minutes", help_text="The hours as h:mm, to the nearest minute.")
    missing_checkout = serializers.BooleanField()
    still_in = serializers.BooleanField(help_text="Today, and the last event is an in.")
    time_zone = serializers.CharField(help_text="The zone of the date and times (the kiosk's; else TIME_ZONE).")


class TotalSerializer(serializers.Serializer):
    """An employee's totals for a timesheet's period (the admin's totals CSV)."""

    Employeecode = serializers.CharField(source="employee_code")
    Name = serializers.CharField(source="employee_name")
    Department = serializers.CharField(source="department")
    days = serializers.IntegerField(help_text="Days with a check-in.")
    hours = serializers.SerializerMethodField()
    hours_hmm = serializers.CharField(source="hours_minutes")
    missing_checkouts = serializers.IntegerField()

    def get_hours(self, total) -> float:
        return round(total.minutes / 60, 2)


class CSVRenderer(renderers.BaseRenderer):
    """Rows (a list of dicts) as CSV, columns in the serializer's order: `?format=csv` or `Accept: text/csv`."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv_writer(out)
        if not isinstance(data, list):  # an error: its message
            writer.writerows([["error"], [data.get("message", data) if isinstance(data, dict) else data]])
            return out.getvalue()
        serializer = getattr(data, "serializer", None)  # DRF's ReturnList: the header even with no rows
        columns = list(serializer.child.fields) if serializer is not None else list(data[0]) if data else []
        if columns:
            writer.writerow(columns)
        writer.writerows(row.values() for row in data)
        return out.getvalue()


class TimesheetView(APIView):
    permission_classes = [CanViewAttendance]
    renderer_classes = [*APIView.renderer_classes, CSVRenderer]

    @extend_schema(
        tags=[TAG], responses={200: DaySerializer(many=True), (200, "text/csv"): OpenApiTypes.STR},
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: today)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (default: the first)."),
            OpenApiParameter("department", OpenApiTypes.STR),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], description="Or Accept: text/csv."),
        ])
    def get(self, request):
        """Each employee's days: first in, last out, hours worked, and a flag where a check-out is missing."""
        params = request.query_params
        query = TimesheetQuery(data={k: v for k, v in {"start": params.get("from"), "end": params.get("to"),
                                                       "department": params.get("department")}.items() if v})
        query.is_valid(raise_exception=True)
        days = services.timesheet(query.validated_data["start"], query.validated_data["end"],
                                  query.validated_data.get("department"))
        data = DaySerializer(days, many=True).data
        if getattr(request.accepted_renderer, "format", "") == "csv":
            name = f"timesheet-{query.validated_data['start']}-{query.validated_data['end']}.csv"
            return Response(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return Response(data)
