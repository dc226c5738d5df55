"""A request's cost is bounded: only the faces used are embedded, and past the limits a clear refusal."""

import base64
import io

import pytest
from django.db import OperationalError
from PIL import Image

from entries import identification
from entries.api.views import FaceEntryViewSet
from entries.exceptions import TooManyFaces
from entries.recognition import faces
from tests.factories import encode


def tiled(photo, count):
    """A photo tiled with `count` copies of one face."""
    face = Image.open(io.BytesIO(photo("img1.jpg"))).convert("RGB").crop((300, 250, 1150, 1100)).resize((128, 128))
    side = int(count ** 0.5)
    tile = Image.new("RGB", (side * 128, side * 128))
    for i in range(side * side):
        tile.paste(face, ((i % side) * 128, (i // side) * 128))
    return encode(tile)


@pytest.mark.django_db
def test_identify_embeds_only_the_faces_it_answers_for(photo, monkeypatch):
    embedded = []
    engine = faces.get_engine()
    real = engine.embed
    monkeypatch.setattr(engine, "embed", lambda rgb, detections: embedded.append(len(detections)) or real(
        rgb, detections))
    result = identification.identify(image=tiled(photo, 25), max_faces=1)
    assert len(result.faces) == 1 and embedded == [1]


@pytest.mark.parametrize("wanted", [1, 10])
def test_a_photo_with_more_faces_than_the_limit_is_refused_before_any_is_embedded(photo, settings, wanted):
    """Every face is counted by HOG; for the largest only, BlazeFace's count (here 24 of the 25 tight crops)."""
    settings.FACEREC = {"MAX_FACES_PER_PHOTO": 20}
    with pytest.raises(TooManyFaces) as caught:
        faces.find(tiled(photo, 25), limit=wanted)
    assert caught.value.details["limit"] == 20
    assert caught.value.details["count"] == 25 if wanted > 1 else caught.value.details["count"] > 20


@pytest.mark.django_db
def test_the_api_answers_422_too_many_faces(api, photo, settings):
    settings.FACEREC = {"MAX_FACES_PER_PHOTO": 20}
    response = api.post("/api/identify/", {"Image": base64.b64encode(tiled(photo, 25)).decode()}, format="json")
    assert response.status_code == 422 and response.json()["code"] == "too_many_faces"


@pytest.mark.django_db
def test_a_database_outage_is_a_json_503_not_an_html_500(api, monkeypatch):
    def down(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(FaceEntryViewSet, "get_queryset", down)
    response = api.get("/api/entries/")
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
