"""The gallery: search data derived from face entries follows every write, once, in the write's transaction."""

import subprocess
import sys
from pathlib import Path

import pytest

from entries import services
from entries.models import GalleryState
from tests.factories import register

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def renewals(monkeypatch):
    """Every renewal of the gallery state, by database alias."""
    seen, bump = [], GalleryState.bump.__func__

    def counting(cls, using="default"):
        seen.append(using)
        bump(cls, using)

    monkeypatch.setattr(GalleryState, "bump", classmethod(counting))
    return seen


@pytest.mark.django_db
@pytest.mark.faces
def test_saving_one_more_photo_renews_the_gallery_state_once(photo, renewals):
    entry = register(photo, code="E001", image="img1.jpg")
    renewals.clear()
    services.photo_add(entry=entry, image=photo("img2.jpg"))
    assert len(renewals) == 1


@pytest.mark.django_db
@pytest.mark.faces
def test_removing_a_photo_and_changing_metadata_each_renew_it_once(photo, renewals):
    entry = register(photo, code="E001", image="img1.jpg", extra_images=[photo("img2.jpg")])
    renewals.clear()
    services.photo_remove(photo=entry.photos.get())
    services.entry_update(entry=entry, department="Ops")
    assert len(renewals) == 2


def test_the_models_import_nothing_above_them_and_the_vector_rules_nothing_of_django():
    # import-linter reads every import, function-local ones too: a circle cannot hide in a function
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([lint_imports, "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
