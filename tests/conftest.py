"""Shared fixtures: real photos from ../shared/faces, users with and without permissions."""

import io
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from PIL import Image
from rest_framework.test import APIClient

REPO = Path(__file__).resolve().parent.parent
FACES_DIR = Path(os.environ.get("FACEREC_FACES_DIR", REPO.parent / "shared" / "faces"))
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttling and lockout counts start from zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "identities.csv").is_file():
        pytest.skip(f"real face photos not found in {FACES_DIR} (set FACEREC_FACES_DIR)")
    return FACES_DIR


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    if not (LFW_DIR / "pairs.csv").is_file():
        pytest.skip(f"the LFW development set was not found in {LFW_DIR} (set FACEREC_LFW_DIR)")
    return LFW_DIR


@pytest.fixture(scope="session")
def lfw_photo(lfw_dir):
    """Return the bytes of an LFW photo by person and number (Zhang_Ziyi, 1)."""
    return lambda person, number: (lfw_dir / "images" / person / f"{person}_{number:04d}.jpg").read_bytes()


@pytest.fixture(scope="session")
def photo(faces_dir):
    """Return the bytes of a shared photo by file name."""
    return lambda name: (faces_dir / name).read_bytes()


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    """A real JPEG with no face in it: a smooth gradient."""
    image = Image.linear_gradient("L").resize((400, 300)).convert("RGB")
    return encode(image)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@example.com", "pw")


def _user_with(username, *codenames):
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(db):
    return _user_with("viewer", "view_faceentry")


@pytest.fixture
def api(superuser):
    client = APIClient()
    client.force_authenticate(superuser)
    return client


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client
