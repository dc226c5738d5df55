import hashlib
import secrets

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


class Kiosk(models.Model):
    """A camera device at an entrance. It authenticates with its own key, which can only clock people."""

    name = models.CharField(max_length=100, unique=True)
    location = models.CharField(max_length=200, blank=True)
    direction_mode = models.CharField(max_length=16, choices=DirectionMode.choices, blank=True,
                                      help_text="Blank: the ATTENDANCE_DIRECTION_MODE setting.")
    active = models.BooleanField(default=True, help_text="Untick to revoke the kiosk's key at once.")
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
    confidence = models.FloatField(null=True, blank=True, help_text="Calibrated probability the match is right.")
    liveness = models.FloatField(null=True, blank=True, help_text="No liveness model is used: always empty.")
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
        verbose_name = "attendance event"
        indexes = [models.Index(fields=["employee_code", "at"])]

    def __str__(self):
        return f"{self.employee_code} {self.direction} at {self.at:%Y-%m-%d %H:%M}"
