"""A morning HR would want to see on the dashboard, and users holding one preset role each."""

from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from attendance.models import AttendanceEvent, Direction, Kiosk, Review
from entries.models import FaceEntry
from hr import roles
from jobs.models import Job
from tests import factories


def earlier_today(now, hours=1):
    """A time `hours` before now, or halfway since local midnight when that is sooner: still today."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - timedelta(hours=hours), midnight + (now - midnight) / 2)


def clocking(code, name, at, direction=Direction.IN, **fields):
    return AttendanceEvent.objects.create(employee_code=code, employee_name=name, department="Sales", at=at,
                                          direction=direction, **fields)


def a_morning(now=None):
    """Ann is in; Bob came and went; Cy forgot to check out three days ago; Dee's clocking waits for review;
    Eve has no consent reference; Fay's retention ends in ten days; an import failed twice; a kiosk is silent."""
    now = now or timezone.now()
    clocking("E001", "Ann Lee", earlier_today(now))
    clocking("E002", "Bob Stone", earlier_today(now, 2))
    clocking("E002", "Bob Stone", earlier_today(now, 1), Direction.OUT)
    clocking("E003", "Cy Park", now - timedelta(days=3))
    clocking("E004", "Dee Holt", now - timedelta(days=1), review=Review.PENDING, review_reasons="low_confidence")
    factories.entry("E005", name="Eve Moss")
    FaceEntry.objects.filter(employee_code="E005").update(consent_reference="")  # imported before consent was asked
    factories.entry("E006", name="Fay Ward", retain_until=timezone.localdate(now) + timedelta(days=10))
    factories.entry("E007", name="Gil Kerr", retain_until=timezone.localdate(now) + timedelta(days=90))
    Job.objects.create(kind="import_faces", status=Job.Status.FINISHED, total=30, done=28, failed=2)
    Kiosk.objects.create(name="Back door", last_seen_at=now - timedelta(days=2))
    Kiosk.objects.create(name="Front door", last_seen_at=now - timedelta(minutes=5))


def user_in(role, username=None):
    roles.setup_roles()
    user = User.objects.create_user(username or role.lower().replace(" ", "_"), password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user
