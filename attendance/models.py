import hashlib
import secrets
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

REASON_MAX_LENGTH = 300  # of a correction's or a deletion's reason


class Direction(models.TextChoices):
    IN = "in", "in"
    OUT = "out", "out"


class DirectionMode(models.TextChoices):
    ALTERNATE = "alternate", "alternate automatically (in, out, in…)"
    BUTTONS = "buttons", "two buttons, In and Out, before looking"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Liveness(models.TextChoices):
    OFF = "off", "off: a face alone clocks (a photo of the employee can too)"
    CHALLENGE = "challenge", "challenge: turn the head and blink as asked"


class LivenessFailure(models.TextChoices):
    REFUSE = "refuse", "refuse: nobody is clocked"
    FLAG = "flag", "clock, and flag the event for HR's review"


class Method(models.TextChoices):
    FACE = "face", "face"
    FACE_LIVENESS = "face_liveness", "face + liveness"
    PIN = "pin", "PIN"
    BADGE = "badge", "badge"
    HR = "hr", "HR correction"


class Review(models.TextChoices):
    NONE = "", "not flagged"
    PENDING = "pending", "to review"
    CONFIRMED = "confirmed", "confirmed"


def validate_time_zone(value: str) -> None:
    from zoneinfo import available_timezones

    from django.core.exceptions import ValidationError

    if value and value not in available_timezones():
        raise ValidationError(f"{value!r} is not a time zone (e.g. Europe/Paris, America/New_York).",
                              code="time_zone")


class Kiosk(models.Model):
    """A camera device at an entrance. It authenticates with its own key, which can only clock people."""

    name = models.CharField(max_length=100, unique=True)
    location = models.CharField(max_length=200, blank=True)
    direction_mode = models.CharField(max_length=16, choices=DirectionMode.choices, blank=True,
                                      help_text="Blank: the ATTENDANCE_DIRECTION_MODE setting.")
    active = models.BooleanField(default=True, help_text="Untick to revoke the kiosk's key at once.")
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone],
                                 help_text="Blank: the server's TIME_ZONE. The kiosk greets, and timesheets show "
                                           "its events, in this zone.")
    liveness = models.CharField(max_length=16, choices=Liveness.choices, blank=True,
                                help_text="Blank: the ATTENDANCE_LIVENESS setting.")
    liveness_failure = models.CharField(max_length=8, choices=LivenessFailure.choices, blank=True,
                                        help_text="Blank: the ATTENDANCE_LIVENESS_FAILURE setting.")
    allow_pin = models.BooleanField(default=False, help_text="Employees without a face may clock with their PIN.")
    allow_badge = models.BooleanField(default=False, help_text="Employees may clock by showing their badge's QR code.")
    # Wrong PINs typed at this kiosk, and until when it refuses PINs after too many (attendance.services).
    failed_pins = models.PositiveIntegerField(default=0, editable=False)
    pins_locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    key_prefix = models.CharField(max_length=8, editable=False, blank=True,
                                  help_text="The start of the current key, to tell keys apart.")
    key_sha256 = models.CharField(max_length=64, editable=False, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The sequence of frames in front of the kiosk now: who they show ('' nobody known), how many different
    # captures agreed, how many frames ran recognition (audited when the sequence ends), the last capture's
    # fingerprint (attendance.frames) and when the last frame came.
    pending_code = models.CharField(max_length=64, blank=True, editable=False)
    pending_count = models.PositiveSmallIntegerField(default=0, editable=False)
    pending_frames = models.PositiveIntegerField(default=0, editable=False)
    pending_fingerprint = models.BinaryField(null=True, blank=True, editable=False)
    pending_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def new_key(self) -> str:
        """Set a new key (the old one stops working) and return it: it is shown once, never stored."""
        key = secrets.token_urlsafe(24)
        self.key_prefix, self.key_sha256 = key[:6], _digest(key)
        return key

    @classmethod
    def for_key(cls, key: str):
        return cls.objects.filter(key_sha256=_digest(key), active=True).first() if key else None


class AttendanceEvent(models.Model):
    """One clocking in or out. An HR record: it outlives the employee's face entry (no foreign key to it)."""

    employee_code = models.CharField(max_length=64, db_index=True)
    employee_name = models.CharField(max_length=200)
    department = models.CharField(max_length=128, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kiosk = models.ForeignKey(Kiosk, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    kiosk_name = models.CharField(max_length=100, blank=True, help_text="Kept when the kiosk is deleted.")
    similarity = models.FloatField(null=True, blank=True)
    confidence = models.FloatField("match strength", null=True, blank=True,
                                   help_text="Calibrated probability the match is right.")
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.FACE)
    liveness = models.FloatField(null=True, blank=True,
                                 help_text="The liveness challenge: 1 passed, 0 failed (clocked for review), "
                                           "empty not asked.")
    review = models.CharField(max_length=10, choices=Review.choices, blank=True, default="", db_index=True)
    review_reasons = models.CharField(max_length=200, blank=True, help_text="Why it was flagged, comma-separated.")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    snapshot = models.BinaryField(null=True, blank=True, editable=False)
    snapshot_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Corrections by HR: who, when and why (a kiosk event changed, or an event added by hand).
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", editable=False)
    corrected_at = models.DateTimeField(null=True, blank=True, editable=False)
    correction_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    original_at = models.DateTimeField(null=True, blank=True, editable=False,
                                       help_text="The time the kiosk recorded, before a correction.")
    original_direction = models.CharField(max_length=3, blank=True, editable=False)

    class Meta:
        ordering = ["-at"]
        verbose_name = "clocking"  # HR's word; the code says event
        indexes = [models.Index(fields=["employee_code", "at"])]

    def __str__(self):
        return f"{self.employee_code} {self.direction} at {self.at:%Y-%m-%d %H:%M}"


class EventFrame(models.Model):
    """A frame kept for HR's review of a flagged event, or for the job that learns a template from it
    (attendance.learning), until its day (even when snapshots are off)."""

    event = models.ForeignKey(AttendanceEvent, on_delete=models.CASCADE, related_name="frames")
    image = models.BinaryField()
    keep_until = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"frame of {self.event_id} until {self.keep_until:%Y-%m-%d}"


class Challenge(models.Model):
    """A liveness challenge issued to a kiosk: its steps, in order, answered once before its deadline."""

    kiosk = models.ForeignKey(Kiosk, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=43, unique=True)
    steps = models.CharField(max_length=64, help_text="Comma-separated: left, right, blink.")
    issued_at = models.DateTimeField()
    deadline = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["issued_at"])]

    def __str__(self):
        return f"{self.steps} for {self.kiosk_id}"


class SeenFrame(models.Model):
    """The digest of a frame a challenge was answered with: a frame is never accepted twice (a replay)."""

    digest = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.digest


class NonBiometricEmployee(models.Model):
    """An employee who clocks without a face (no consent, or withdrawn): a PIN and/or a badge. Never a face entry."""

    employee_code = models.CharField(max_length=64, unique=True)
    employee_name = models.CharField(max_length=200)
    department = models.CharField(max_length=128, blank=True, db_index=True)
    pin_hash = models.CharField(max_length=128, blank=True, editable=False, help_text="Django's password hash.")
    badge_prefix = models.CharField(max_length=8, blank=True, editable=False)
    badge_sha256 = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    failed_pins = models.PositiveIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    consent_withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False,
                                                help_text="When their face data was deleted at their request.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["employee_code"]
        verbose_name = "employee without a face"
        verbose_name_plural = "employees without a face"

    def __str__(self):
        return f"{self.employee_code} {self.employee_name}"


class EventToReviewManager(models.Manager["EventToReview"]):
    def get_queryset(self):
        return super().get_queryset().filter(review=Review.PENDING)


class EventToReview(AttendanceEvent):
    """HR's list of flagged clockings still waiting for a decision (confirm, or reject with a reason)."""

    objects: ClassVar[EventToReviewManager] = EventToReviewManager()

    class Meta:
        proxy = True
        ordering = ["at"]
        verbose_name = "clocking to review"
        verbose_name_plural = "clockings to review"
