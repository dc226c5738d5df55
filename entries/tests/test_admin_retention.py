"""Retention on an employee's admin page: leaving sets when the face is deleted, as the API does."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from entries import conf, services
from entries.models import FaceEntry
from tests import factories
from tests.pages import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]


def change_page(client, entry):
    url = f"/admin/entries/faceentry/{entry.pk}/change/"
    return url, form_data(client.get(url), "faceentry_form")


def test_setting_employment_end_on_an_employee_fills_retain_until_and_purge_deletes_them(admin_client):
    entry = factories.entry("E001")
    url, page = change_page(admin_client, entry)
    assert page["employment_end"] == page["retain_until"] == ""  # the page sends both, the second blank
    response = admin_client.post(url, {**page, "employment_end": "2030-06-30"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry.refresh_from_db()
    assert entry.retain_until == date(2030, 6, 30) + timedelta(days=conf.get("RETENTION_DAYS"))
    assert services.entries_purge_expired(today=entry.retain_until) == []
    assert services.entries_purge_expired(today=entry.retain_until + timedelta(days=1)) == ["E001"]
    assert not FaceEntry.objects.exists()


def test_a_retain_until_hr_types_is_kept(admin_client):
    entry = factories.entry("E001")
    url, page = change_page(admin_client, entry)
    admin_client.post(url, {**page, "employment_end": "2030-06-30", "retain_until": "2031-01-31"})
    entry.refresh_from_db()
    assert (entry.employment_end, entry.retain_until) == (date(2030, 6, 30), date(2031, 1, 31))


def test_a_new_employment_end_moves_the_default_retention_and_clearing_it_keeps_the_face(admin_client):
    entry = factories.entry("E001", employment_end=date(2030, 6, 30))
    days = timedelta(days=conf.get("RETENTION_DAYS"))
    url, page = change_page(admin_client, entry)
    assert page["retain_until"] == f"{date(2030, 6, 30) + days:%Y-%m-%d}"
    admin_client.post(url, {**page, "employment_end": "2030-09-30"})
    entry.refresh_from_db()
    assert entry.retain_until == date(2030, 9, 30) + days
    url, page = change_page(admin_client, entry)
    admin_client.post(url, {**page, "employment_end": ""})  # they stay after all
    entry.refresh_from_db()
    assert entry.employment_end is None and entry.retain_until is None


def test_a_new_consent_reference_on_the_page_is_stamped_now_by_the_user_as_through_the_api(admin_client, superuser):
    """The page sends the old consent date back unchanged: it is not kept for the new consent."""
    entry = factories.entry("E001", consent_reference="F-1")
    first = entry.consent_at
    url, page = change_page(admin_client, entry)
    admin_client.post(url, {**page, "consent_reference": "F-2"})
    entry.refresh_from_db()
    assert entry.consent_reference == "F-2" and entry.consent_at > first
    assert entry.consent_recorded_by == superuser


def test_registering_with_an_employment_end_still_fills_retain_until(admin_client):
    response = admin_client.post("/admin/entries/faceentry/add/", {
        "employee_code": "E001", "name": "Ann Lee", "gender": "female", "consent_reference": "F-1",
        "employment_end": "2030-06-30", "photos-TOTAL_FORMS": 0, "photos-INITIAL_FORMS": 0,
        "photo": SimpleUploadedFile("ann.jpg", factories.face_photo("ann"), content_type="image/jpeg")})
    assert response.status_code == 302
    assert FaceEntry.objects.get().retain_until == date(2030, 6, 30) + timedelta(days=conf.get("RETENTION_DAYS"))
