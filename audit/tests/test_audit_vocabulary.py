"""The audit's vocabulary is typed: every app emits an Action with its own sender, and a typo fails at once."""

from datetime import timedelta

import pytest
from django.dispatch import receiver
from django.utils import timezone

from attendance import receivers as attendance_receivers
from attendance import services as attendance_services
from attendance.models import AttendanceEvent, Kiosk
from audit.models import AuditEvent
from core.audit import Action, emit, face_data_event
from entries.models import FaceEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """(sender, action) of every face-data event sent while the test runs."""
    events = []

    @receiver(face_data_event, weak=False)
    def listen(sender, *, action, **kwargs):
        events.append((sender, action))

    yield events
    face_data_event.disconnect(listen)


@pytest.mark.parametrize("action", ["veiw_photo", "view_photo", None])
def test_an_action_outside_the_vocabulary_raises_before_anything_is_recorded(action, heard):
    with pytest.raises(TypeError, match="Action member"):
        emit(action, sender=FaceEntry, employee_codes=["E001"])
    assert heard == [] and not AuditEvent.objects.exists()


def test_an_action_is_stored_as_its_plain_value():
    emit(Action.VIEW_PHOTO, sender=FaceEntry, employee_codes=["E001"])
    assert AuditEvent.objects.values_list("action", flat=True).get() == "view_photo"
    assert AuditEvent._meta.get_field("action").choices == Action.choices


def test_attendance_sends_its_events_as_itself_not_as_face_entries(heard):
    kiosk, _ = attendance_services.kiosk_register(name="Front door")
    attendance_services.event_add(employee_code="E404", employee_name="Ann Lee", at=timezone.now() - timedelta(hours=1),
                                  direction="in", reason="forgot to clock in", by=None)
    assert heard == [(Kiosk, Action.KIOSK_KEY), (AttendanceEvent, Action.CLOCK)]


def test_only_a_deleted_face_entry_makes_attendance_forget_kept_snapshots(monkeypatch):
    forgotten = []
    monkeypatch.setattr(attendance_receivers.services, "forget_snapshots", forgotten.append)
    emit(Action.DELETE, sender=AttendanceEvent, employee_codes=["E001"])
    emit(Action.PURGE, sender=FaceEntry, employee_codes=["E002"])
    assert forgotten == [["E002"]]
