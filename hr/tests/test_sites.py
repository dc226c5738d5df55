"""FaceRec's admin site: its name, HR's words for the sections, and the technical ones under Security."""

import re

import pytest
from django.utils import timezone

from hr.tests.helpers import clocking

pytestmark = pytest.mark.django_db


def sections(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", name).strip()
            for name in re.findall(r'<caption>\s*(.*?)\s*</caption>', page, re.S)]


def test_administrators_see_hr_sections_first_and_security_last(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert sections(page) == ["Employees", "Time and attendance", "Imports and background jobs", "Audit trail",
                              "Users and roles", "Security", "Task queue (technical)"]
    security = page.split("Security</a>")[1]
    assert "Tokens" in security and "Access attempts" in security and "Access logs" in security
    assert "Clockings to review" in page and "Face entries" not in page and "Axes" not in page


def test_the_security_sections_own_pages_still_open(admin_client):
    assert admin_client.get("/admin/axes/").status_code == 200
    assert admin_client.get("/admin/authtoken/").status_code == 200


def test_a_clockings_match_strength_is_a_percentage(admin_client):
    event = clocking("E001", "Ann Lee", timezone.now(), similarity=0.6123, confidence=0.8712)
    page = admin_client.get(f"/admin/attendance/attendanceevent/{event.pk}/change/").content.decode()
    assert "Match strength" in page and "87%" in page
    assert "0.8712" not in page and "0.6123" not in page
