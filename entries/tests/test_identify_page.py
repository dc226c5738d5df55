"""Identify a photo in the admin and the API: a stranger is nobody; the department is one that exists (issue 18, 6)."""

import base64
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
PAGE = "/admin/entries/faceentry/identify/"


@pytest.fixture
def staff():
    """Three employees in two departments."""
    factories.entry("E001", "ann", name="Ann Lee", department="Sales")
    factories.entry("E002", "bob", name="Bob Stone", department="Sales")
    factories.entry("E003", "cat", name="Cat Moss", department="Warehouse")


def identify_page(client, photo, **fields):
    response = client.post(PAGE, {"photo": SimpleUploadedFile("p.jpg", photo), "department": "", **fields})
    assert response.status_code == 200
    return response.content.decode()


def text(page):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_stranger_is_nobody_with_no_certainty_and_no_named_candidates(admin_client, staff):
    page = text(identify_page(admin_client, factories.face_photo("stranger", 1)))
    assert "No employee matches this face" in page
    assert "%" not in page.partition("No employee matches")[2]  # no "100 %" that reads as certainty
    assert not [name for name in ("Ann Lee", "Bob Stone", "Cat Moss") if name in page]


def test_the_closest_employees_to_a_stranger_show_on_request_labelled_as_not_matches(admin_client, staff):
    page = text(identify_page(admin_client, factories.face_photo("stranger", 1), show_closest="on"))
    assert "No employee matches this face" in page
    assert "Closest employees, not matches:" in page
    assert "Ann Lee" in page and "Bob Stone" in page and "Cat Moss" in page


def test_a_match_names_the_employee_and_says_what_its_confidence_is_of(admin_client, staff):
    page = text(identify_page(admin_client, factories.face_photo("ann", 3)))
    assert "E001 Ann Lee" in page
    assert re.search(r"\d+ % sure this is Ann Lee", page), page
    assert "Bob Stone" not in page and "Closest employees" not in page


def test_a_near_certain_match_reads_over_99_percent_never_100(admin_client, staff, monkeypatch):
    """A calibrated probability is never certainty: one that rounds to 1.0 is shown as "over 99 %"."""
    from entries import identification

    real = identification.identify

    def sure(**kwargs):
        result = real(**kwargs)
        for face in result.faces:
            face.confidence = 0.9993
        return result

    monkeypatch.setattr(identification, "identify", sure)
    page = text(identify_page(admin_client, factories.face_photo("ann", 3)))
    assert "over 99 % sure this is Ann Lee" in page and "100 %" not in page


def test_the_department_is_chosen_from_those_that_exist(admin_client, staff):
    form = admin_client.get(PAGE).content.decode()
    select = re.search(r'<select name="department".*?</select>', form, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "Sales", "Warehouse"]
    assert "No employee matches" in identify_page(admin_client, factories.face_photo("ann", 3), department="Warehouse")
    assert "E001 Ann Lee" in text(identify_page(admin_client, factories.face_photo("ann", 3), department="Sales"))
    refused = identify_page(admin_client, factories.face_photo("ann", 3), department="Salse")
    assert "Select a valid choice" in refused and "Ann Lee" not in refused


def b64(data):
    return base64.b64encode(data).decode()


def test_the_api_matches_the_department_ignoring_case(api, staff):
    answer = api.post("/api/identify/", {"Image": b64(factories.face_photo("ann", 3)), "department": "sALES"},
                      format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["faces"][0]["decision"] == "E001"
    assert answer.json()["gallery_size"] == 2  # Sales only


def test_the_api_refuses_a_department_nobody_is_enrolled_in(api, staff):
    answer = api.post("/api/identify/", {"Image": b64(factories.face_photo("ann", 3)), "department": "Salse"},
                      format="json")
    assert answer.status_code == 422  # well formed, names nothing that exists
    assert answer.json()["code"] == "unknown_department"
    assert answer.json()["details"]["departments"] == ["Sales", "Warehouse"]


def test_the_schema_and_the_docs_name_the_unknown_department_error(api):
    schema = api.get("/api/schema/?format=json").json()
    identify = schema["paths"]["/api/identify/"]["post"]
    assert "unknown_department" in identify["responses"]["422"]["description"]
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    assert "| 422 | `unknown_department` |" in docs
