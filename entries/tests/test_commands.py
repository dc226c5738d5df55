"""Bulk import, export and re-embedding commands."""

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.db.models import QuerySet
from django.test import override_settings

from entries.models import FaceEntry
from tests.factories import register

pytestmark = [pytest.mark.django_db(transaction=True)]  # real photos: marked faces and engine (conftest.py)


def run(*args):
    out, err = StringIO(), StringIO()
    quiet = ["--no-progress"] if args[0] in ("import_faces", "reembed") else []
    if args[0] == "import_faces":
        quiet.append("--consent-reference=signed forms 2026")
    call_command(*args, *quiet, stdout=out, stderr=err)
    return out.getvalue()


def manifest(tmp_path, rows):
    path = tmp_path / "people.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "Employeecode", "Name", "gender", "Department"])
        writer.writerows(rows)
    return path


def test_import_a_folder_on_two_workers_and_re_run_without_duplicates(faces_dir):
    out = run("import_faces", str(faces_dir), "--glob", "img1*.jpg", "--workers", "2", "--allow-duplicate-faces")
    codes = sorted(FaceEntry.objects.values_list("employee_code", flat=True))
    assert codes == sorted(p.stem for p in faces_dir.glob("img1*.jpg"))
    assert "0 failed" in out
    assert all(e.embedding_is_current() for e in FaceEntry.objects.all())
    again = run("import_faces", str(faces_dir), "--glob", "img1*.jpg", "--workers", "1")
    assert f"{len(codes)} unchanged" in again
    assert FaceEntry.objects.count() == len(codes)


def test_a_manifest_sets_metadata_and_every_failure_is_named(tmp_path, faces_dir, no_face_jpeg):
    (tmp_path / "blank.jpg").write_bytes(no_face_jpeg)
    (tmp_path / "notes.jpg").write_text("not a photo")
    path = manifest(tmp_path, [
        [str(faces_dir / "img1.jpg"), "E001", "Ann Lee", "Female", "HR"],
        ["blank.jpg", "E002", "Blank", "", ""],
        ["notes.jpg", "E003", "Notes", "", ""],
        ["missing.jpg", "E004", "Gone", "", ""],
        [str(faces_dir / "img3.jpg"), "bad code", "Bad", "", ""],
    ])
    err = StringIO()
    with pytest.raises(CommandError, match="4 of 5 photos failed"):
        call_command("import_faces", str(path), "--no-progress", "--workers", "1", "--consent-reference", "F",
                     stdout=StringIO(), stderr=err)
    report = err.getvalue()
    for name, reason in [("blank.jpg", "no_face"), ("notes.jpg", "unsupported_image"),
                         ("missing.jpg", "unreadable"), ("img3.jpg", "invalid")]:
        assert any(name in line and reason in line for line in report.splitlines()), report
    entry = FaceEntry.objects.get()
    assert (entry.employee_code, entry.name, entry.gender, entry.department) == ("E001", "Ann Lee", "female", "HR")


def test_existing_codes_are_updated_or_skipped(tmp_path, faces_dir, photo):
    register(photo, code="E001", name="Old", image="img3.jpg")
    path = manifest(tmp_path, [[str(faces_dir / "img1.jpg"), "E001", "New", "", "IT"]])
    run("import_faces", str(path), "--skip-existing")
    assert FaceEntry.objects.get().name == "Old"
    run("import_faces", str(path), "--workers", "1")
    entry = FaceEntry.objects.get()
    assert entry.name == "New" and bytes(entry.image) == photo("img1.jpg") and entry.embedding_is_current()


def test_a_bad_path_or_manifest_exits_non_zero_naming_it(tmp_path):
    with pytest.raises(CommandError, match="nowhere"):
        run("import_faces", str(tmp_path / "nowhere"))
    bad = tmp_path / "bad.csv"
    bad.write_text("file,code\nx,y\n")
    with pytest.raises(CommandError, match="bad.csv.*Employeecode"):
        run("import_faces", str(bad))


def test_export_csv_round_trips_through_import(tmp_path, photo):
    register(photo, code="E001", name="Ann", department="HR")
    register(photo, code="E002", name="Bob", image="img3.jpg")
    run("export_faces", str(tmp_path / "out"))
    FaceEntry.objects.all().delete()
    run("import_faces", str(tmp_path / "out" / "manifest.csv"), "--workers", "1")
    assert list(FaceEntry.objects.values_list("employee_code", "name", "department")) == [
        ("E001", "Ann", "HR"), ("E002", "Bob", "")]
    assert bytes(FaceEntry.objects.get(employee_code="E001").image) == photo("img1.jpg")


def test_export_json_carries_base64_images_and_embeddings(tmp_path, photo):
    register(photo, code="E001")
    run("export_faces", str(tmp_path / "all.json"), "--format", "json")
    [record] = json.loads((tmp_path / "all.json").read_text())
    assert record["Employeecode"] == "E001" and [len(e) for e in record["embeddings"]] == [192] and record["Image"]


def test_reembed_recomputes_stale_embeddings(photo):
    entry = register(photo)
    QuerySet.update(FaceEntry.objects.filter(pk=entry.pk), embedding_model="OldModel")  # as an old release left it
    out = run("reembed")
    assert "Re-embedded 1 of 1" in out
    assert FaceEntry.objects.get().embedding_model == "MobileFaceNet"
    assert "Re-embedded 0 of 0" in run("reembed")
    assert "Re-embedded 1 of 1" in run("reembed", "--all")


def test_check_reports_missing_mobilefacenet_weights_by_path_and_how_to_install_them(tmp_path):
    with override_settings(FACEREC={"MODEL": "MobileFaceNet", "MODELS_DIR": str(tmp_path)}):
        with pytest.raises(SystemCheckError, match="entries.E002") as caught:
            call_command("check")
    assert str(tmp_path / "MobileFaceNet.tflite") in str(caught.value)
    assert "scripts/install-models.sh" in str(caught.value)
    call_command("check")  # installed by scripts/install-models.sh


@pytest.mark.parametrize("detector", ["blazeface", "mtcnn"])
def test_check_reports_a_detector_without_its_weights_or_unknown(tmp_path, detector):
    for name in ("MobileFaceNet.tflite", "onet.tflite"):
        (tmp_path / name).write_bytes(b"")
    with override_settings(FACEREC={"DETECTOR": detector, "MODELS_DIR": str(tmp_path)}):
        with pytest.raises(Exception, match="entries.E004"):
            call_command("check")
    with override_settings(FACEREC={"DETECTOR": "blazeface"}):
        call_command("check")  # installed by scripts/install-models.sh


def test_check_reports_a_model_the_registry_does_not_list():
    with override_settings(FACEREC={"MODEL": "ArcFace"}):
        with pytest.raises(SystemCheckError, match="entries.E001") as caught:
            call_command("check")
    assert "'ArcFace' is not one of FACEREC FACE_MODELS: MobileFaceNet, Dlib" in str(caught.value)


@pytest.mark.parametrize("path", ["entries.recognition.models.Nowhere", "entries.recognition.models.unit"])
def test_check_reports_a_face_models_entry_that_is_not_a_model_class(path):
    with override_settings(FACEREC={"FACE_MODELS": [path]}):
        with pytest.raises(SystemCheckError, match="entries.E003") as caught:
            call_command("check")
    assert path in str(caught.value)
