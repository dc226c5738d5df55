"""The preset roles: `setup_roles` makes them (again, harmlessly), and each opens what its job needs and no more."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command

from hr import roles
from hr.tests.helpers import a_morning, user_in

pytestmark = pytest.mark.django_db

ROLE_NAMES = ["HR staff", "HR administrator", "Attendance manager", "Auditor", "Kiosk administrator"]


def test_setup_roles_creates_the_five_groups_and_can_run_again():
    out = StringIO()
    call_command("setup_roles", stdout=out)
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLE_NAMES)
    assert "created: HR staff" in out.getvalue()
    hr_staff = Group.objects.get(name="HR staff")
    preset = set(hr_staff.permissions.all())
    hr_staff.permissions.add(Permission.objects.get(codename="view_embedding"))  # someone widened it by hand
    hr_staff.permissions.remove(Permission.objects.get(codename="add_faceentry"))  # ...and narrowed it

    call_command("setup_roles", stdout=(again := StringIO()))  # as `make run` does at every start
    assert Group.objects.count() == 5 and "up to date: HR staff" in again.getvalue()
    assert set(hr_staff.permissions.all()) == preset | {Permission.objects.get(codename="view_embedding")}

    call_command("setup_roles", "--reset", stdout=StringIO())
    assert set(hr_staff.permissions.all()) == preset


def test_no_role_holds_embeddings_users_tokens_or_lockouts():
    held = {name for names in roles.ROLES.values() for name in names}
    assert not {name for name in held if name.startswith(("auth.", "authtoken.", "axes."))}
    assert "entries.view_embedding" not in held


def test_a_permission_that_does_not_exist_is_named(monkeypatch):
    monkeypatch.setitem(roles.ROLES, "HR staff", ["entries.view_faceentry", "entries.fly_faceentry"])
    with pytest.raises(CommandError, match="entries.fly_faceentry"):
        call_command("setup_roles", stdout=StringIO())
    assert not Group.objects.exists()  # every preset or none


# Each role against pages it must open and pages it must not.
PAGES = {
    "dashboard": "/admin/",
    "employees": "/admin/entries/faceentry/",
    "add employee": "/admin/entries/faceentry/add/",
    "delete employee": "/admin/entries/faceentry/{E005}/delete/",
    "clockings": "/admin/attendance/attendanceevent/",
    "add clocking": "/admin/attendance/attendanceevent/add/",
    "timesheet": "/admin/attendance/attendanceevent/timesheet/",
    "to review": "/admin/attendance/eventtoreview/",
    "kiosks": "/admin/attendance/kiosk/",
    "add kiosk": "/admin/attendance/kiosk/add/",
    "audit": "/admin/audit/auditevent/",
    "delete audit": "/admin/audit/auditevent/{audit}/delete/",
    "imports": "/admin/jobs/job/",
    "tokens": "/admin/authtoken/tokenproxy/",
    "lockouts": "/admin/axes/accessattempt/",
    "access logs": "/admin/axes/accesslog/",
    "users": "/admin/auth/user/",
}
MAY = {
    "HR staff": {"dashboard", "employees", "add employee", "clockings", "timesheet", "to review", "kiosks",
                 "imports"},
    "HR administrator": {"dashboard", "employees", "add employee", "delete employee", "clockings", "timesheet",
                         "to review", "kiosks", "imports", "audit"},
    "Attendance manager": {"dashboard", "employees", "clockings", "add clocking", "timesheet", "to review",
                           "kiosks"},
    "Auditor": {"dashboard", "clockings", "timesheet", "to review", "audit", "imports"},
    "Kiosk administrator": {"dashboard", "kiosks", "add kiosk"},
}


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_each_role_opens_what_its_job_needs_and_nothing_else(client, prepared_faces, role):
    from audit.models import AuditEvent
    from entries.models import FaceEntry

    a_morning()
    ids = {"E005": FaceEntry.objects.get(employee_code="E005").pk, "audit": AuditEvent.objects.first().pk}
    client.force_login(user_in(role))
    opened = {page for page, url in PAGES.items() if client.get(url.format(**ids)).status_code == 200}
    assert opened == MAY[role]


def test_hr_staff_see_no_security_section_and_no_embedding(client, prepared_faces):
    from entries.models import FaceEntry

    a_morning()
    client.force_login(user_in("HR staff"))
    home = client.get("/admin/").content.decode()
    assert "Employees" in home and "Security" not in home and "Tokens" not in home and "Access attempts" not in home
    entry = FaceEntry.objects.get(employee_code="E006")
    page = client.get(f"/admin/entries/faceentry/{entry.pk}/change/").content.decode()
    before, disclosed = page.split("Technical details</h2>")
    assert "<details><summary>" in before[-200:] and "dimensions" in disclosed  # only once opened
    assert "dimensions" not in before
