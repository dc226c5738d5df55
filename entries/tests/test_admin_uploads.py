"""HR's uploads in the admin: the "More photos" inline's columns, a photo kept across a form error, the review of
two alike faces."""

import pytest
from bs4 import BeautifulSoup

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("prepared_faces")]
CHANGELIST = "/admin/entries/faceentry/"


def inline_table(page: bytes):
    """The "More photos" inline as the browser shows it: its column headers, and each row's visible cells as text.

    The admin hides a cell classed "hidden" (display: none), so the cells after it move one column left.
    """
    table = BeautifulSoup(page, "html.parser").select_one("#photos-group table")
    headers = [th.get_text(" ", strip=True).upper() for th in table.select("thead th")]
    rows = [[" ".join(td.get_text(" ", strip=True).split()) for td in tr.find_all("td", recursive=False)
             if "hidden" not in td.get("class", [])]
            for tr in table.select("tbody tr.form-row") if "empty-form" not in tr.get("class", [])]
    return headers, rows


def test_each_column_of_the_more_photos_inline_sits_under_its_header(admin_client):
    entry = factories.entry("E001", photos=2)
    photo = entry.photos.get()
    headers, rows = inline_table(admin_client.get(f"{CHANGELIST}{entry.pk}/change/").content)
    assert headers == ["", "FACE", "PHOTO", "FROM", "EMBEDDING MODEL", "ADDED", "DELETE?"]
    enrolled, new = rows
    cells = dict(zip(headers, enrolled, strict=True))  # the first column: the photo's name and its hidden ids
    assert cells["FROM"] == "HR" and cells["EMBEDDING MODEL"] == photo.embedding_model
    assert str(photo.created_at.year) in cells["ADDED"] and cells["DELETE?"] == ""
    assert cells["PHOTO"] == "", "an enrolled photo is kept or deleted, never replaced: no file input"
    assert len(new) == len(headers)
