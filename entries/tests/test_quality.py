"""The enrolment quality gate: too small, blurred or turned faces do not become templates."""

import base64
import io

import pytest
from PIL import Image, ImageFilter

from entries import identification
from entries.exceptions import PoorFaceQuality
from entries.models import FaceEntry
from entries.recognition import faces
from tests.factories import encode

pytestmark = pytest.mark.faces


def shrunk(data, factor):
    image = Image.open(io.BytesIO(data))
    return encode(image.resize((image.width // factor, image.height // factor), Image.Resampling.LANCZOS))


def blurred(data, radius):
    return encode(Image.open(io.BytesIO(data)).filter(ImageFilter.GaussianBlur(radius)))


def test_a_too_small_face_is_refused_with_its_reason(photo):
    small = shrunk(photo("img1.jpg"), 14)  # about 19 px between the eyes
    with pytest.raises(PoorFaceQuality) as caught:
        faces.analyse(small)
    (reason,) = caught.value.details["reasons"]
    assert reason["code"] == "face_too_small" and reason["value"] < reason["limit"] == 20
    assert "too small" in caught.value.message


def test_a_face_just_large_enough_is_enrolled(photo):
    face = faces.analyse(shrunk(photo("img1.jpg"), 12))  # about 22 px between the eyes
    assert face.quality.eye_distance >= 20


def test_a_blurred_face_is_refused(photo):
    with pytest.raises(PoorFaceQuality) as caught:
        faces.analyse(blurred(photo("img1.jpg"), 20))
    assert [r["code"] for r in caught.value.details["reasons"]] == ["face_blurred"]


@pytest.mark.django_db
def test_identify_still_accepts_a_face_enrolment_would_refuse(photo):
    assert identification.identify(image=shrunk(photo("img1.jpg"), 14)).faces[0].decision == "unknown"


@pytest.mark.django_db
def test_the_api_answers_422_with_every_reason_and_stores_nothing(api, photo):
    body = {"Employeecode": "E001", "Name": "Ann", "consent_reference": "F-1",
            "Image": base64.b64encode(shrunk(photo("img1.jpg"), 14)).decode()}
    response = api.post("/api/entries/", body, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "poor_face_quality"
    assert response.json()["details"]["reasons"][0]["code"] == "face_too_small"
    assert not FaceEntry.objects.exists()


def test_quality_limits_come_from_settings(photo, settings):
    settings.FACEREC = {"QUALITY_MIN_EYE_DISTANCE": 10}
    assert faces.analyse(shrunk(photo("img1.jpg"), 14)).quality.eye_distance < 20
