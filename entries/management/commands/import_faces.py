import signal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.audit import Action, emit
from core.exceptions import FaceRecError

from ... import conf
from ...exceptions import EngineUnavailable
from ...importing import Report, add_photo, analyse_all, default_workers, read_rows, save_row, unconsented
from ...models import FaceEntry


class Command(BaseCommand):
    help = (
        "Register faces from a folder of photos (file name = employee code; or a sub-folder per employee, named by "
        "the code, holding their photos) or a CSV manifest with columns image,Employeecode,Name,gender,Department "
        "(a code on several rows: several photos). An employee's first photo is the main one, the others are added. "
        "Existing codes are updated; safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="A folder of photos or a CSV manifest.")
        parser.add_argument("--glob", default="*", help="In a folder, import only files matching this pattern.")
        parser.add_argument("--skip-existing", action="store_true", help="Leave existing employee codes alone.")
        parser.add_argument("--largest-face", action="store_true",
                            help="Take the largest face from photos that show several.")
        parser.add_argument("--allow-duplicate-faces", action="store_true",
                            help="Register faces that match another employee (e.g. twins, or test sets).")
        parser.add_argument("--consent-reference", default="",
                            help="The consent reference recorded for new employees whose row has none "
                                 "(manifest column consent_reference).")
        parser.add_argument("--workers", type=int, default=default_workers(),
                            help="Processes that analyse photos (default: all cores).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, path, glob, skip_existing, largest_face, allow_duplicate_faces, consent_reference,
               workers, no_progress, **options):
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder")
        try:
            rows = read_rows(path, glob)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise CommandError(str(exc)) from exc
        report = Report()
        existing = {e.employee_code: e for e in FaceEntry.objects.defer("image", "embedding", "thumbnail")}
        todo = []
        for row in rows:
            if skip_existing and row.employee_code in existing:
                report.skipped += 1
            else:
                todo.append(row)

        for row in todo:
            row.consent_reference = row.consent_reference or consent_reference
        missing = unconsented(todo, existing)
        if missing and conf.get("REQUIRE_CONSENT"):
            raise CommandError(
                f"{len(missing)} new employees have no recorded consent ({', '.join(missing[:5])}"
                f"{', …' if len(missing) > 5 else ''}): add a consent_reference column to the manifest or pass "
                "--consent-reference REF (the signed forms' reference). Nothing was imported.")
        bar = tqdm(total=len(todo), unit="photo", disable=no_progress, file=self.stderr._out, desc="Importing")
        previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops like Ctrl-C: promptly, cleanly
        try:
            self._import(todo, existing, report, bar, largest_face=largest_face, workers=workers,
                         allow_duplicate_faces=allow_duplicate_faces)
        except EngineUnavailable as exc:
            bar.close()
            raise CommandError(
                f"{exc.message} Stopped after {report.created} created, {report.photos_added} added and "
                f"{report.updated} updated; nothing is half-written.") from None
        except KeyboardInterrupt:
            bar.close()
            raise CommandError(
                f"Interrupted after {report.created} created, {report.photos_added} added and {report.updated} "
                "updated; every photo is either fully imported or not at all. Run the same command again to "
                "finish (what is already imported is left unchanged).", returncode=130) from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        bar.close()
        emit(Action.IMPORT, sender=FaceEntry, employee_codes=sorted({r.employee_code for r in todo}), source=str(path),
             created=report.created, updated=report.updated, photos_added=report.photos_added,
             failed=len(report.failures))

        for name, reason in report.failures:
            self.stderr.write(f"FAILED {name}: {reason}")
        for code, other in report.possible_duplicates:
            self.stdout.write(f"POSSIBLE DUPLICATE {code}: registered, but the face resembles {other}'s "
                              "(listed for HR under Possible duplicate faces)")
        self.stdout.write(
            f"{len(rows)} photos: {report.created} created, {report.photos_added} added to an employee, "
            f"{report.updated} updated, "
            f"{report.unchanged} unchanged, {report.skipped} skipped, {len(report.failures)} failed."
        )
        if report.failures:
            raise CommandError(f"{len(report.failures)} of {len(rows)} photos failed (listed above).")

    def _import(self, todo, existing, report, bar, *, largest_face, workers, allow_duplicate_faces):
        """Analyse the photos on the workers and save each through the services, in input order."""
        seen: dict[str, FaceEntry] = {}  # employees met in this run: their later photos are added
        for row, face, error in analyse_all(todo, largest_face=largest_face, workers=workers):
            bar.update()
            if error:
                report.failures.append((str(row.path), error))
                continue
            try:
                if row.employee_code in seen:
                    add_photo(seen[row.employee_code], face, report, allow_duplicate_faces)
                else:
                    seen[row.employee_code] = save_row(row, face, existing.get(row.employee_code), report,
                                                    allow_duplicate_faces)
            except FaceRecError as exc:
                report.failures.append((str(row.path), f"{exc.code}: {exc.message}"))
            except ValidationError as exc:
                problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                report.failures.append((str(row.path), f"invalid: {problems}"))
            except ValueError as exc:  # e.g. an employment_end that is not YYYY-MM-DD
                report.failures.append((str(row.path), f"invalid: {exc}"))


def _interrupt(signum, frame):
    raise KeyboardInterrupt
