"""Face models as plug-ins: the registry, and embeddings that do not move when the code around them does."""

import base64
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from entries.conf import DEFAULTS
from entries.gallery import pgvector
from entries.recognition import blazeface, calibration, faces, mesh, models, registry
from entries.recognition.models import FaceModel, WeightFile

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "install.sh"

# faces.analyse(img1.jpg) with each model, recorded before the models left engine.py (Dlib then ran through
# DeepFace's wrapper): a refactoring that changes how a face is aligned or embedded moves every stored one.
# (Bit for bit on the machine that recorded it; another CPU or library build may round the last bits apart.)
REFERENCE = Path(__file__).with_name("data") / "img1-embeddings.npz"


@pytest.mark.parametrize("model", ["MobileFaceNet", "Dlib"])
def test_a_fixed_photo_gives_the_embeddings_it_always_gave(photo, model):
    with override_settings(FACEREC={"MODEL": model, "DETECTOR": "hog"}):  # the models, not the detector
        embedding = faces.analyse(photo("img1.jpg")).embedding
    expected = np.load(REFERENCE)[model]
    assert embedding.dtype == expected.dtype
    np.testing.assert_allclose(embedding, expected, rtol=0, atol=1e-5)


class Tiny(FaceModel):
    """A plug-in model as a deployment would add one: its own weights and calibration file."""

    name = "Tiny"
    dimension = 8
    weights = (WeightFile("tiny.bin", "0" * 64, "npm:tiny-face@1.0.0", "package/tiny.bin"),)


PLUGGED = {"FACE_MODELS": [*DEFAULTS["FACE_MODELS"], "entries.tests.test_face_models.Tiny"]}


def test_the_shipped_models_are_registered_by_name_with_their_dimensions():
    assert registry.dimensions() == {"MobileFaceNet": 192, "Dlib": 128}
    assert registry.active() is models.MobileFaceNet


def test_a_model_listed_in_face_models_is_indexed_installed_and_offered_by_evaluate(tmp_path):
    with override_settings(FACEREC={**PLUGGED, "MODELS_DIR": str(tmp_path)}):
        assert registry.get("Tiny") is Tiny and registry.dimensions()["Tiny"] == 8  # pgvector's index
        assert "tiny.bin" in [weight.name for weight in registry.install_manifest()]
        with pytest.raises(CommandError, match="invalid choice: 'Nope'.*Tiny"):
            call_command("evaluate", "--model", "Nope", "--pairs", str(tmp_path / "pairs.csv"))


def test_check_names_a_missing_weight_file_then_a_missing_calibration(tmp_path):
    with override_settings(FACEREC={**PLUGGED, "MODEL": "Tiny", "MODELS_DIR": str(tmp_path)}):
        with pytest.raises(SystemCheckError, match="entries.E002") as caught:
            call_command("check")
        assert f"{tmp_path / 'tiny.bin'} is missing" in str(caught.value)
        assert "Run scripts/install-models.sh" in str(caught.value)
        (tmp_path / "tiny.bin").write_bytes(b"weights")
        out = StringIO()
        call_command("check", stderr=out)  # a warning: `evaluate --write-calibration` must still run
        assert "entries.W001" in out.getvalue() and "evaluate --model Tiny --write-calibration" in out.getvalue()


def test_a_model_is_calibrated_in_its_own_calibration_file(tmp_path, monkeypatch):
    monkeypatch.setattr(Tiny, "calibration_file", tmp_path / "tiny-calibration.json")
    with override_settings(FACEREC=PLUGGED):
        with pytest.raises(LookupError, match="evaluate --model Tiny --write-calibration"):
            calibration.for_model("Tiny")
        shipped = calibration.CALIBRATION_FILE.read_bytes()
        assert calibration.save("Tiny", {"verify_threshold": 0.5}) == tmp_path / "tiny-calibration.json"
        assert calibration.verify_threshold("Tiny") == 0.5
        assert calibration.CALIBRATION_FILE.read_bytes() == shipped


class BadName(Tiny):
    name = "tiny-face"


class SecondDlib(Tiny):
    name = "Dlib"


class NoDimension(Tiny):
    dimension = 0


@pytest.mark.parametrize(("model", "problem"), [
    (BadName, "name must be a letter"), (SecondDlib, "two models are named 'Dlib'"),
    (NoDimension, "dimension must be a positive int"),
])
def test_a_model_with_a_bad_name_or_dimension_is_refused(model, problem):
    with override_settings(FACEREC={"FACE_MODELS": [*DEFAULTS["FACE_MODELS"], f"{__name__}.{model.__name__}"]}):
        with pytest.raises(ImproperlyConfigured, match=problem):
            registry.models()


def test_install_models_sh_reads_its_list_from_the_registry_without_django_settings():
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE") and not key.startswith("FACEREC_")}
    shipped = subprocess.run([sys.executable, "-m", "entries.recognition.registry"], env=env, cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split() for line in shipped] == [
        [w.name, w.sha256, w.package, w.member] for w in (*models.MobileFaceNet.weights, *blazeface.WEIGHTS,
                                                            *mesh.WEIGHTS)]
    only_dlib = subprocess.run([sys.executable, "-m", "entries.recognition.registry"], cwd=REPO, text=True,
                               env={**env, "FACEREC_FACE_MODELS": "entries.recognition.models.Dlib"},
                               capture_output=True, check=True).stdout
    assert only_dlib.split()[::4] == [w.name for w in (*blazeface.WEIGHTS, *mesh.WEIGHTS)]  # dlib's: pip
    assert "-m entries.recognition.registry" in (REPO / "scripts" / "install-models.sh").read_text()
    # on a fresh machine the packages it imports are installed first
    steps = INSTALL.read_text()
    assert steps.index("pip install --quiet -r requirements.txt") < steps.index("\nscripts/install-models.sh")


@pytest.mark.faces
def test_dlib_runs_without_deepface_or_tensorflow(faces_dir):
    script = f"""
import sys
import django
django.setup()
from entries.recognition import engine, images
photo = images.decode(open({str(faces_dir / "img1.jpg")!r}, "rb").read())
dlib = engine.get_engine("Dlib")
assert dlib.embed(photo.rgb, dlib.detect(photo.rgb))
print([name for name in ("deepface", "tensorflow") if name in sys.modules])
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerec.test_settings"}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


class RecordingConnection:
    """Stands in for a PostgreSQL connection with pgvector installed, recording the SQL it is sent."""

    def __init__(self):
        self.statements = []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, params=None):
        self.statements.append((" ".join(sql.split()), params))

    def fetchone(self):
        return (1,)


def test_pgvector_creates_an_hnsw_index_at_each_registered_models_dimension():
    connection = RecordingConnection()
    with override_settings(FACEREC=PLUGGED):
        assert pgvector.create_schema(connection)
    indexes = {params[0]: sql for sql, params in connection.statements if "USING hnsw" in sql}
    assert set(indexes) == {"MobileFaceNet", "Dlib", "Tiny"}
    assert "face_vectors_tiny_hnsw" in indexes["Tiny"] and "vector(8)" in indexes["Tiny"]
    assert "vector(192)" in indexes["MobileFaceNet"] and "vector(128)" in indexes["Dlib"]


def test_a_weight_file_from_a_python_package_that_is_not_installed_is_reported_missing():
    weight = WeightFile("w.dat", "0" * 64, "pypi:not-installed==1.0", "not_installed/w.dat", module="not_installed")
    assert not weight.path("models").is_file() and weight.install_command == "pip install -r requirements.txt"


@pytest.mark.django_db
def test_a_corrupt_weight_file_is_a_503_naming_it_not_a_crash(api, photo, tmp_path):
    for weight in Path(DEFAULTS["MODELS_DIR"]).iterdir():
        (tmp_path / weight.name).write_bytes(b"not a model")
    with override_settings(FACEREC={"MODELS_DIR": str(tmp_path)}):
        response = api.post("/api/identify/", {"Image": base64.b64encode(photo("img1.jpg")).decode()}, format="json")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "engine_unavailable"
    assert str(tmp_path) in response.json()["message"] and "install-models.sh" in response.json()["message"]
