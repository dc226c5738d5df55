"""The kind of job on attendance events: learning a template from a clocking's frame (attendance.learning)."""

from core.exceptions import FaceRecError
from entries import services as entry_services
from jobs.registry import kind

from . import learning
from .models import AttendanceEvent, EventFrame


class NotLearned(FaceRecError):
    """The clocking went, or became doubtful, before its job ran (entries' guards refuse with their own)."""

    code = "not_learned"


@kind("learn_template")
def learn_template(*, job, item, record):
    """Learn from the frame of event `key`, unless the event went or became doubtful meanwhile (HR deleted,
    corrected or flagged it). The frame is dropped either way: the learned template is its own copy."""
    event = AttendanceEvent.objects.filter(pk=item.key).defer("snapshot").first()
    frame = EventFrame.objects.filter(event_id=item.key).order_by("pk").first()
    try:
        if event is None or frame is None:
            raise NotLearned("The clocking or its frame was deleted before it was learned from.", reason="gone")
        if event.corrected_at is not None or not learning.worth_learning(event):
            raise NotLearned("The clocking was corrected or flagged since.", reason="doubtful")
        entry_services.photo_learn(employee_code=event.employee_code, image=bytes(frame.image),
                                   event=str(event.pk), kiosk=event.kiosk_name, rules=learning.rules())
    finally:
        if frame is not None:
            EventFrame.objects.filter(pk=frame.pk).delete()
