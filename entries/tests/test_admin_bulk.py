"""Bulk work in the admin: a ZIP imported as a job with its progress and report, the list exported, many changed.

Archive checks and the job's bookkeeping use prepared faces (tests.factories, no engine); the import that
claims recognition works builds its ZIP from the real photos in ../shared/faces.
"""

import csv
import io
import stat
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from audit.models import AuditEvent
from entries.models import FaceEntry
from jobs.models import Job
from jobs.services import job_run_here
from tests import factories

IMPORT = "/admin/entries/faceentry/import/"
CHANGELIST = "/admin/entries/faceentry/"

pytestmark = pytest.mark.django_db


def zipped(files: dict[str, bytes]) -> bytes:
    """A ZIP of {name: bytes}, compressed as zip tools do."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(client, data: bytes, name="staff.zip", **fields):
    archive = io.BytesIO(data)
    archive.name = name
    return client.post(IMPORT, {"archive": archive, "consent_reference": "forms 2026", **fields})


@pytest.fixture
def imports(settings, tmp_path):
    """Unpacked archives go to a folder of the test's own."""
    settings.FACEREC = {**settings.FACEREC, "IMPORTS_DIR": str(tmp_path / "imports")}
    return tmp_path / "imports"


def codes(event) -> list[str]:
    return sorted(event.codes.values_list("employee_code", flat=True))


def refused(answer, code: str, text: str, imports) -> None:
    """The form came back with the error on the archive field; nothing was unpacked or queued."""
    assert answer.status_code == 200
    errors = answer.context["form"].errors.as_data()["archive"]
    assert [e.code for e in errors] == [code]
    assert text in str(errors[0].message), errors[0].message
    assert not Job.objects.exists()
    assert not imports.exists() or not any(imports.iterdir())


# --- what the archive may hold ---------------------------------------------------------------------------

def test_a_file_that_is_not_a_zip_is_refused_on_the_form(admin_client, imports):
    refused(upload(admin_client, b"PK but not really", name="staff.zip"), "not_a_zip", "not a ZIP archive", imports)


def test_more_files_than_the_limit_is_refused(admin_client, imports, settings):
    settings.FACEREC = {**settings.FACEREC, "IMPORT_MAX_FILES": 2}
    files = {f"E00{n}.jpg": factories.face_photo("ann", n) for n in range(3)}
    refused(upload(admin_client, zipped(files)), "too_many_files", "holds 3 files; the limit is 2", imports)


def test_an_archive_that_unpacks_past_the_limit_is_refused(admin_client, imports, settings):
    settings.FACEREC = {**settings.FACEREC, "IMPORT_MAX_BYTES": 1000}
    refused(upload(admin_client, zipped({"E001.jpg": factories.face_photo()})), "too_large", "the limit is 1,000",
            imports)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(admin_client, imports):
    bomb = zipped({"E001.jpg": b"\xff\xd8\xff" + bytes(8 * 1024 * 1024)})  # 8 MB of zeros in a few kB
    refused(upload(admin_client, bomb), "zip_bomb", "possible zip bomb", imports)


@pytest.mark.parametrize("name", ["../E001.jpg", "/etc/E001.jpg", "staff/../../E001.jpg", "C:/E001.jpg",
                                  "staff\\..\\E001.jpg"])
def test_a_member_whose_path_leaves_the_folder_is_refused(admin_client, imports, name):
    refused(upload(admin_client, zipped({name: factories.face_photo()})), "unsafe_path", name, imports)


def test_a_link_in_the_archive_is_refused(admin_client, imports):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        link = zipfile.ZipInfo("E001.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    refused(upload(admin_client, out.getvalue()), "unsafe_path", "E001.jpg", imports)


def test_a_member_that_is_not_a_photo_is_named(admin_client, imports):
    files = {"E001/1.jpg": factories.face_photo(), "E001/notes.docx": b"PK\x03\x04 a document"}
    refused(upload(admin_client, zipped(files)), "not_an_image", "E001/notes.docx", imports)


def test_a_file_named_as_a_photo_but_not_one_is_named(admin_client, imports):
    files = {"E001.jpg": factories.face_photo(), "E002.jpg": b"<html>not a photo</html>"}
    refused(upload(admin_client, zipped(files)), "not_an_image", "E002.jpg", imports)


def test_an_encrypted_member_is_refused(admin_client, imports):
    data = bytearray(zipped({"E001.jpg": factories.face_photo()}))
    central = data.index(b"PK\x01\x02")
    data[6] |= 0x1  # the "encrypted" flag of a password-protected member, in its local and central headers
    data[central + 8] |= 0x1
    refused(upload(admin_client, bytes(data)), "encrypted", "E001.jpg is encrypted", imports)


def test_a_damaged_archive_is_refused_and_nothing_is_left_unpacked(admin_client, imports):
    data = bytearray(zipped({"E001.jpg": factories.face_photo(), "E002.jpg": factories.face_photo("bob")}))
    data[200] ^= 0xFF  # a byte of the first photo's compressed data: its CRC no longer matches
    refused(upload(admin_client, bytes(data)), "not_a_zip", "damaged", imports)


def test_folders_that_are_not_employee_codes_are_named(admin_client, imports):
    refused(upload(admin_client, zipped({"Ann Lee/1.jpg": factories.face_photo()})), "bad_employee_code",
            "Ann Lee", imports)


def test_manifest_rows_that_would_fail_are_named_with_their_row(admin_client, imports):
    manifest = ("image,Employeecode,Name,gender,Department,consent_reference,employment_end\n"
                "ann.jpg,E001,Ann Lee,female,Sales,form 1,2026-13-01\n"
                "../../etc/passwd,E002,Bob,,,,\n"
                "bob.jpg,E 3,Bob,,,,\n")
    files = {"manifest.csv": manifest.encode(), "ann.jpg": factories.face_photo(),
             "bob.jpg": factories.face_photo("bob")}
    answer = upload(admin_client, zipped(files))
    refused(answer, "bad_manifest", "row 2: employment_end '2026-13-01' is not a date", imports)
    message = answer.context["form"].errors["archive"][0]
    assert "row 3: the photo '../../etc/passwd' is not in the archive" in message
    assert "row 4: 'E 3' is not an employee code" in message


def test_new_employees_without_consent_are_refused_and_nothing_is_kept(admin_client, imports):
    archive = io.BytesIO(zipped({"E001.jpg": factories.face_photo()}))
    archive.name = "staff.zip"
    answer = admin_client.post(IMPORT, {"archive": archive})
    assert answer.status_code == 200 and "no recorded consent" in str(answer.context["form"].errors)
    assert not Job.objects.exists() and not any(imports.iterdir())


def test_an_archive_past_the_photo_limit_is_taken_by_the_import_view_only(admin_client, imports, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000  # the body limit of every other view
    data = zipped({f"E00{n}.jpg": factories.face_photo("ann", n) for n in range(3)})
    assert len(data) > 2000
    assert admin_client.post("/admin/entries/faceentry/identify/", {"photo": io.BytesIO(data)}).status_code == 413
    assert upload(admin_client, data).status_code == 302


# --- the import job, its progress and its report -----------------------------------------------------------

def test_a_zip_of_folders_is_imported_as_a_job_with_a_progress_bar_and_a_per_file_report(
        admin_client, imports, prepared_faces):
    files = {"staff/E001/1.jpg": factories.face_photo("ann", 1), "staff/E001/2.jpg": factories.face_photo("ann", 2),
             "staff/E002/1.jpg": factories.face_photo("bob", 1), "staff/E003/1.jpg": factories.no_face_photo(),
             "__MACOSX/staff/._E001": b"finder metadata", "staff/.DS_Store": b"finder"}
    answer = upload(admin_client, zipped(files))
    job = Job.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"{IMPORT}{job.pk}/"
    assert (job.kind, job.total, job.params["consent_reference"]) == ("import_faces", 4, "forms 2026")
    page = admin_client.get(answer["Location"])
    assert b'<progress id="import-bar" max="100" value="0">' in page.content
    assert b'http-equiv="refresh"' in page.content  # without script the page refreshes itself
    assert b"import_progress.js" in page.content and b"<script>" not in page.content  # the CSP forbids inline

    job_run_here(job)  # a worker's run

    status = admin_client.get(f"{IMPORT}{job.pk}/status/").json()
    assert status == {"id": str(job.pk), "status": "finished", "total": 4, "done": 3, "failed": 1, "percent": 100,
                      "finished": True}
    report = admin_client.get(answer["Location"])
    rows = [(r["file"], r["employee"], r["status"], r["code"]) for r in report.context["report"]]
    assert rows == [("E003/1.jpg", "E003", "failed", "no_face"),  # what HR has to act on comes first
                    ("E001/1.jpg", "E001", "done", ""), ("E001/2.jpg", "E001", "done", ""),
                    ("E002/1.jpg", "E002", "done", "")]
    assert b'http-equiv="refresh"' not in report.content and b"Retry the failed photos" in report.content
    assert FaceEntry.objects.get(employee_code="E001").photos.count() == 1
    assert FaceEntry.objects.get(employee_code="E002").consent_reference == "forms 2026"
    imported = AuditEvent.objects.get(action="import")
    assert codes(imported) == ["E001", "E002", "E003"] and imported.details["photos"] == 4


def test_a_manifest_gives_names_departments_consent_and_employment_end(admin_client, imports, prepared_faces,
                                                                      settings):
    manifest = ("image,Employeecode,Name,gender,Department,consent_reference,employment_end\n"
                "photos/ann.jpg,E001,Ann Lee,female,Sales,form 1,2026-06-30\n"
                "photos/ann2.jpg,E001,Ann Lee,female,Sales,form 1,2026-06-30\n"
                "photos/bob.jpg,E002,Bob Stone,,Stores,form 2,\n")
    files = {"manifest.csv": manifest.encode(), "photos/ann.jpg": factories.face_photo("ann", 1),
             "photos/ann2.jpg": factories.face_photo("ann", 2), "photos/bob.jpg": factories.face_photo("bob", 1)}
    archive = io.BytesIO(zipped(files))
    archive.name = "staff.zip"
    assert admin_client.post(IMPORT, {"archive": archive}).status_code == 302  # consent from the manifest
    job_run_here(Job.objects.get())
    ann, bob = FaceEntry.objects.order_by("employee_code")
    assert (ann.name, ann.department, ann.consent_reference, ann.employment_end, ann.photos.count()) == (
        "Ann Lee", "Sales", "form 1", date(2026, 6, 30), 1)
    assert ann.retain_until == date(2026, 6, 30) + timedelta(days=30)
    assert (bob.name, bob.department, bob.employment_end) == ("Bob Stone", "Stores", None)


def test_failed_photos_are_retried_with_the_option_that_cures_them(admin_client, imports, prepared_faces):
    factories.entry("E001", "ann")
    files = {"E002.jpg": factories.face_photo("ann", 5), "E003.jpg": factories.face_photo("cy", 1)}
    upload(admin_client, zipped(files))
    first = Job.objects.get()
    job_run_here(first)
    first.refresh_from_db()
    assert (first.done, first.failed) == (1, 1)  # E002 is Ann's face: refused as a duplicate
    answer = admin_client.post(f"{IMPORT}{first.pk}/retry/", {"allow_duplicate_faces": "on"})
    retry = Job.objects.exclude(pk=first.pk).get()
    assert answer["Location"] == f"{IMPORT}{retry.pk}/"
    assert retry.total == 1 and retry.params["retry_of"] == str(first.pk)
    job_run_here(retry)
    retry.refresh_from_db()
    assert (retry.done, retry.failed) == (1, 0)
    assert FaceEntry.objects.filter(employee_code="E002").exists()
    again = admin_client.post(f"{IMPORT}{retry.pk}/retry/", follow=True)
    assert b"Nothing failed in this import" in again.content


def test_an_import_is_shown_only_to_whoever_started_it_or_may_view_jobs(client, admin_client, imports,
                                                                        prepared_faces, django_user_model):
    upload(admin_client, zipped({"E001.jpg": factories.face_photo()}))
    job = Job.objects.get()
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    from django.contrib.auth.models import Permission

    clerk.user_permissions.set(Permission.objects.filter(codename__in=["add_faceentry", "change_faceentry"]))
    client.force_login(clerk)
    for path in (f"{IMPORT}{job.pk}/", f"{IMPORT}{job.pk}/status/", f"{IMPORT}abc/", f"{IMPORT}0/status/"):
        assert client.get(path).status_code == 404, path
    own = upload(client, zipped({"E002.jpg": factories.face_photo("bob")}))  # HR staff import, and follow theirs
    assert own.status_code == 302 and client.get(own["Location"]).status_code == 200
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_faceentry"))
    client.force_login(viewer)
    assert client.get(IMPORT).status_code == 403  # viewing employees is not adding them


def test_imported_archives_are_deleted_once_no_job_needs_them(admin_client, imports, prepared_faces):
    from entries.jobs import imports_purge

    upload(admin_client, zipped({"E001.jpg": factories.face_photo(), "E002.jpg": factories.no_face_photo()}))
    job = Job.objects.get()
    assert imports_purge() == 0  # unfinished
    job = job_run_here(job)
    assert imports_purge() == 0  # one failed: kept to be retried
    assert imports_purge(now=job.finished_at + timedelta(days=8)) == 1  # not retried within 7 days
    assert not any(imports.iterdir())


# --- export ----------------------------------------------------------------------------------------------

def test_the_list_exports_as_csv_with_consent_and_retention_never_photos_and_is_audited(admin_client,
                                                                                         prepared_faces):
    factories.entry("E001", "ann", photos=2, name="Ann Lee", department="Sales", consent_reference="form 1",
                    employment_end=date(2026, 6, 30))
    factories.entry("E002", "bob", name="=HYPERLINK(\"x\")", department="Stores")
    answer = admin_client.get(f"{CHANGELIST}export/?department=Sales&format=csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r["Employee code"] for r in rows] == ["E001"]  # the changelist's filter
    assert (rows[0]["Photos"], rows[0]["Consent reference"], rows[0]["Employment end"], rows[0]["Retain until"]) == (
        "2", "form 1", "2026-06-30", "2026-07-30")
    assert not {"embedding", "image", "thumbnail", "Photo"} & set(rows[0])
    assert codes(AuditEvent.objects.get(action="export")) == ["E001"]
    everyone = admin_client.get(f"{CHANGELIST}export/?format=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in everyone  # never a formula
    assert admin_client.get(f"{CHANGELIST}export/?format=pdf").status_code == 400
    assert admin_client.get(f"{CHANGELIST}export/?format=csv&nonsense=1").status_code == 400


def test_the_selected_employees_export_as_xlsx_with_dates_that_show(admin_client, prepared_faces):
    entry = factories.entry("E001", "ann", name="Ann Lee", employment_end=date(2026, 6, 30))
    factories.entry("E002", "bob")
    answer = admin_client.post(CHANGELIST, {"action": "export_xlsx", "_selected_action": [entry.pk]})
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert [c.value for c in sheet[1]][:4] == ["Employee code", "Name", "Gender", "Department"]
    assert sheet["A2"].value == "E001" and sheet["A3"].value is None
    assert sheet["I2"].value.date() == date(2026, 6, 30) and sheet.column_dimensions["I"].width >= 12
    assert AuditEvent.objects.filter(action="export").count() == 1


# --- bulk actions ------------------------------------------------------------------------------------------

def test_set_department_asks_then_changes_each_employee_through_the_service(admin_client, prepared_faces):
    ann, bob = factories.entry("E001", "ann", department="Sales"), factories.entry("E002", "bob")
    selected = {"action": "set_department", "_selected_action": [ann.pk, bob.pk]}
    ask = admin_client.post(CHANGELIST, selected)
    assert ask.status_code == 200 and b'<datalist id="departments"><option value="Sales">' in ask.content
    done = admin_client.post(CHANGELIST, {**selected, "department": "Warehouse", "apply": "1"})
    assert done.status_code == 302
    assert set(FaceEntry.objects.values_list("department", flat=True)) == {"Warehouse"}
    assert AuditEvent.objects.filter(action="update").count() == 2


def test_set_employment_end_fills_retain_until_as_the_service_does(admin_client, prepared_faces, settings):
    settings.FACEREC = {**settings.FACEREC, "RETENTION_DAYS": 10}
    ann = factories.entry("E001", "ann")
    selected = {"action": "set_employment_end", "_selected_action": [ann.pk]}
    assert b'type="date"' in admin_client.post(CHANGELIST, selected).content
    admin_client.post(CHANGELIST, {**selected, "employment_end": "2026-03-31", "apply": "1"})
    ann.refresh_from_db()
    assert (ann.employment_end, ann.retain_until) == (date(2026, 3, 31), date(2026, 4, 10))


def test_withdraw_consent_is_among_the_bulk_actions(admin_client):
    actions = admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert {"set_department", "set_employment_end", "export_csv", "export_xlsx", "withdraw_consent"} <= {
        name for name, _ in actions}


# --- recognition: a ZIP of real photos -------------------------------------------------------------------

@pytest.mark.faces
def test_a_zip_of_real_photos_registers_each_person_once_with_their_photos(admin_client, imports, faces_dir):
    people = {"P01": ["img1.jpg", "img2.jpg"], "P02": ["img3.jpg"], "P04": ["img13.jpg", "img14.jpg"]}
    files = {f"{code}/{name}": (faces_dir / name).read_bytes() for code, names in people.items() for name in names}
    files["P09/couple.jpg"] = (faces_dir / "couple.jpg").read_bytes()  # several faces: refused, says so
    assert upload(admin_client, zipped(files)).status_code == 302
    job = job_run_here(Job.objects.get())
    report = {(r["file"], r["status"], r["code"]) for r in admin_client.get(f"{IMPORT}{job.pk}/").context["report"]}
    assert ("P09/couple.jpg", "failed", "multiple_faces") in report
    assert {code: 1 + e.photos.count() for code, e in
            ((e.employee_code, e) for e in FaceEntry.objects.all())} == {"P01": 2, "P02": 1, "P04": 2}
