"""The admin's home page: what HR looks at first, each tile from the app that owns the data.

Read-only: attendance's timesheet and review list, the entries' consent and retention fields, the jobs' imports
and the kiosks' last contact. A tile shows only to a user who may open the list it links to.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from attendance import charts
from attendance import services as attendance
from attendance.models import AttendanceEvent, EventToReview, Kiosk
from entries.models import FaceEntry
from jobs.models import Job

LISTED = 5  # names written on a tile; the link shows them all
RETENTION_DAYS = 30
KIOSK_SILENCE = timedelta(days=1)
MISSING_CHECKOUT_DAYS = 7
IMPORT_KIND = "import_faces"


@dataclass
class Tile:
    title: str
    count: int | None  # None: a chart alone
    url: str
    link: str  # what the link opens, in words
    lines: list[str] = field(default_factory=list)
    chart: SafeString | None = None
    alert: bool = False  # something for HR to do

    @property
    def more(self) -> int:
        return max(0, (self.count or 0) - len(self.lines))


def _may_view(request, model) -> bool:
    model_admin = admin.site._registry.get(model)
    return model_admin is not None and model_admin.has_view_or_change_permission(request)


def _url(name: str, **query) -> str:
    return reverse(name) + (f"?{urlencode(query)}" if query else "")


def tiles(request, *, now=None) -> list[Tile]:
    """The tiles this user may see, in the order of HR's morning."""
    now = now or timezone.now()
    shown: list[Tile] = []
    if _may_view(request, AttendanceEvent):
        shown += attendance_tiles(now)
    if _may_view(request, EventToReview):
        shown.append(review_tile())
    if _may_view(request, FaceEntry):
        shown += employee_tiles(now)
    if _may_view(request, Job):
        shown.append(imports_tile())
    if _may_view(request, Kiosk):
        shown.append(kiosks_tile(now))
    return shown


def attendance_tiles(now) -> list[Tile]:
    today = timezone.localdate(now)
    days = attendance.timesheet(today, today, now=now)
    timesheet = _url("admin:attendance_timesheet", day=today.isoformat(), span="day")
    inside = [d for d in days if d.still_in]
    arrived = [d for d in days if d.first_in]
    arrivals = attendance.arrivals_by_hour(days)
    hours = [h for h, n in enumerate(arrivals) if n] or [8]
    first, last = max(0, min(min(hours), 7)), min(23, max(max(hours), 18))
    week_start = today - timedelta(days=MISSING_CHECKOUT_DAYS - 1)
    week = attendance.timesheet(week_start, today, now=now)
    missing = [d for d in week if d.missing_checkout]
    week_timesheet = _url("admin:attendance_timesheet", day=today.isoformat(), span="week")
    return [
        Tile("In now", len(inside), timesheet, "today's timesheet",
             lines=[f"{d.employee_name} ({d.department or 'no department'}), in at {d.first_in:%H:%M}"
                    for d in inside[:LISTED]]),
        Tile("Arrived today", len(arrived), timesheet, "today's timesheet",
             chart=charts.bars([(f"{h:02d}", arrivals[h]) for h in range(first, last + 1)],
                               title="Arrivals today by hour")),
        Tile(f"Present, last {MISSING_CHECKOUT_DAYS} days", None, week_timesheet, "the week's timesheet",
             chart=charts.bars([(f"{d:%a}", n) for d, n in attendance.presence_by_day(week, week_start, today)],
                               title="Employees present each day")),
        Tile(f"Missing check-outs, last {MISSING_CHECKOUT_DAYS} days", len(missing), week_timesheet,
             "the week's timesheet",
             lines=[f"{d.employee_name}, {d.date:%a %d %b}" for d in missing[:LISTED]], alert=bool(missing)),
    ]


def review_tile() -> Tile:
    waiting = EventToReview.objects.defer("snapshot")
    count = waiting.count()
    return Tile("Clockings to review", count, _url("admin:attendance_eventtoreview_changelist"),
                "the clockings to review",
                lines=[f"{e.employee_name}, {timezone.localtime(e.at):%a %d %b %H:%M}" for e in waiting[:LISTED]],
                alert=bool(count))


def employee_tiles(now) -> list[Tile]:
    today = timezone.localdate(now)
    entries = FaceEntry.objects.only("employee_code", "name", "retain_until")
    no_consent = entries.filter(consent_reference="")
    ending_by = today + timedelta(days=RETENTION_DAYS)
    ending = entries.filter(retain_until__gte=today, retain_until__lte=ending_by).order_by("retain_until")
    changelist = "admin:entries_faceentry_changelist"
    return [
        Tile("Employees without a consent reference", no_consent.count(),
             _url(changelist, consent_reference__exact=""), "those employees",
             lines=[f"{e.name} ({e.employee_code})" for e in no_consent[:LISTED]], alert=no_consent.exists()),
        Tile(f"Retention ending within {RETENTION_DAYS} days", ending.count(),
             _url(changelist, retain_until__gte=today.isoformat(), retain_until__lte=ending_by.isoformat()),
             "those employees",
             lines=[f"{e.name} ({e.employee_code}), deleted after {e.retain_until:%d %b %Y}" for e in ending[:LISTED]]),
    ]


def imports_tile() -> Tile:
    imports = Job.objects.filter(kind=IMPORT_KIND)
    last = list(imports[:LISTED])
    failures = sum(job.failed for job in last)
    return Tile("Last imports", imports.count(), _url("admin:jobs_job_changelist", kind__exact=IMPORT_KIND),
                "every import",
                lines=[f"{timezone.localtime(job.created_at):%d %b %H:%M}: {job.done} imported, "
                       f"{job.failed} failed ({job.get_status_display()})" for job in last],
                alert=bool(failures))


def kiosks_tile(now) -> Tile:
    silent = [kiosk for kiosk in Kiosk.objects.filter(active=True)
              if kiosk.last_seen_at is None or now - kiosk.last_seen_at > KIOSK_SILENCE]
    return Tile("Kiosks not seen for a day", len(silent), _url("admin:attendance_kiosk_changelist", active__exact=1),
                "the active kiosks",
                lines=[f"{k.name}: " + (f"last seen {timezone.localtime(k.last_seen_at):%d %b %H:%M}"
                                        if k.last_seen_at else "never seen") for k in silent[:LISTED]],
                alert=bool(silent))
