from django.conf import settings
from django.db import models

from core.audit import Action

# Attendance events HR adds or corrects by hand are recorded as clockings, marked so in their details.
BY_HAND = {"manual": "added an attendance event by hand", "corrected": "corrected an attendance event"}


class AuditEvent(models.Model):
    """One access to or change of face data. Written once, never edited or deleted through the app."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField("who", max_length=150, help_text="Kept when the user account is deleted.")
    via = models.CharField(max_length=16, db_index=True)  # admin, api, command
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    employees = models.CharField(
        max_length=2000, blank=True, db_index=True,
        help_text="A summary of the employee codes concerned, framed by commas (,E001,E002,), ending '+N more,' "
                  "when they do not fit; every code is in the event's employee rows (AuditEmployee).")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "facerec_audit"
        ordering = ["-at", "-id"]
        verbose_name = "audit event"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action_label} {self.employee_list}"

    @property
    def employee_list(self) -> str:
        return self.employees.strip(",").replace(",", ", ")

    @property
    def action_label(self) -> str:
        """What was done, in HR's words: a clocking HR added or corrected by hand says so."""
        if self.action == Action.CLOCK:
            for flag, label in BY_HAND.items():
                if self.details.get(flag) is True:
                    return label
        return self.get_action_display()

    def readable_details(self) -> list[tuple[str, str]]:
        """Each detail as (label, text) for people: yes or no, lists joined, field names in words."""
        return [(key.replace("_", " ").capitalize(), readable(value, words=key == "fields"))
                for key, value in self.details.items()]


def readable(value, *, words: bool = False) -> str:
    """A detail's value as text: `words` spells out identifiers (employment_end: employment end)."""
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(readable(item, words=words) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')}: {readable(item)}" for key, item in value.items())
    return str(value).replace("_", " ") if words else str(value)


class AuditEmployee(models.Model):
    """One employee an event concerned: every one is kept, however many, so an auditor finds all that touched them."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="codes")
    employee_code = models.CharField(max_length=64, db_index=True)

    class Meta:
        db_table = "facerec_audit_employee"
        verbose_name = "audited employee"
        constraints = [models.UniqueConstraint(fields=["event", "employee_code"], name="audit_employee_once")]

    def __str__(self):
        return self.employee_code
