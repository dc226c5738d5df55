from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from ...recognition import calibration, evaluation, faces


class Command(BaseCommand):
    help = (
        "Measure recognition accuracy on labelled pairs (img_a,img_b,same): accuracy at the shipped threshold, "
        "ROC points, equal error rate, the best threshold; with identities.csv also the 1:N calibration and an "
        "open-set identify test. --write-calibration ships the thresholds found."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pairs", type=Path, required=True)
        parser.add_argument("--images", type=Path, help="Folder of the photos (default: the pairs file's folder).")
        parser.add_argument("--identities", type=Path,
                            help="image,person CSV (default: identities.csv beside the pairs file, if any).")
        parser.add_argument("--enroll", type=int, default=8, help="People enrolled in the open-set test.")
        parser.add_argument("--write-calibration", action="store_true",
                            help=f"Store the thresholds found in {calibration.CALIBRATION_FILE.name}.")

    def handle(self, *args, pairs, images, identities, enroll, write_calibration, **options):
        images = images or pairs.parent
        identities = identities or (pairs.parent / "identities.csv")
        try:
            labelled = evaluation.read_pairs(pairs)
        except (OSError, ValueError, IndexError) as exc:
            raise CommandError(f"{pairs}: cannot read labelled pairs ({exc})") from exc
        ids = evaluation.read_identities(identities) if identities.is_file() else {}
        model = faces.get_engine().model_name
        embedded = evaluation.embed_photos([n for a, b, _ in labelled for n in (a, b)] + list(ids), images)
        if embedded.unreadable:
            raise CommandError(f"cannot read {len(embedded.unreadable)} photos in {images}: "
                               f"{', '.join(embedded.unreadable[:5])}")
        report = evaluation.score_pairs(labelled, embedded)
        best, best_accuracy = report.best_threshold()
        try:
            shipped = calibration.verify_threshold(model)
        except LookupError:
            shipped = best
        write = self.stdout.write
        write(f"model {model}; {len(report.scores)} pairs scored ({int(report.same.sum())} same, "
              f"{int((~report.same).sum())} different), {report.skipped} skipped")
        write(f"photos: {len(embedded.vectors)} embedded, {len(embedded.no_face)} without a detectable face"
              + (f" ({', '.join(embedded.no_face)})" if embedded.no_face else ""))
        write(f"time per photo: median {np.median(embedded.seconds) * 1000:.0f} ms, "
              f"p95 {np.percentile(embedded.seconds, 95) * 1000:.0f} ms (decode, detect, align, embed)")
        write("")
        write("| measure | value |")
        write("| --- | --- |")
        write(f"| accuracy at the shipped threshold {shipped:.4f} | {report.accuracy(shipped):.2%} |")
        write(f"| best threshold (similarity) | {best:.4f} ({best_accuracy:.2%}) |")
        for far in (0.01, 0.001):
            tar, at = report.tar_at_far(far)
            write(f"| TAR at FAR {far:.1%} | {tar:.2%} (threshold {at:.4f}) |")
        write(f"| equal error rate | {report.equal_error_rate():.2%} |")

        calibration_row = {"verify_threshold": best}
        if ids:
            impostors = evaluation.impostor_scores(ids, embedded)
            mean, std = float(impostors.mean()), float(impostors.std())
            calibration_row.update(impostor_mean=round(mean, 5), impostor_std=round(std, 5),
                                   impostor_pairs=int(len(impostors)))
            write("")
            write(f"1:N calibration: {len(impostors)} impostor pairs, similarity mean {mean:.4f}, sd {std:.4f}")
            write("| enrolled | identify threshold | predicted FPIR | measured TAR (same-person pairs) |")
            write("| --- | --- | --- | --- |")
            genuine = report.scores[report.same]
            for size in (10, 100, 1000, 10000):
                threshold = max(calibration.threshold_for(mean, std, 0.01, size), best)
                predicted = calibration.fpir_at(mean, std, threshold, size)
                write(f"| {size} | {threshold:.4f} | {predicted:.2%} | {(genuine >= threshold).mean():.2%} |")
        if write_calibration:
            calibration.save(model, {**calibration_row, "source": f"evaluate --pairs {pairs.name}"})
            write(f"\nwrote {calibration.CALIBRATION_FILE}")
        if ids:
            result = evaluation.open_set(ids, embedded, enroll, model)
            write("")
            write(f"open-set identify: {result.enrolled_people} people enrolled (one photo each), "
                  f"threshold {result.threshold:.4f}")
            write(f"| rank-1 identification of enrolled people | {result.rank1_hits}/{result.rank1_total} "
                  f"({result.rank1_rate:.2%}) |")
            write(f"| strangers rejected as unknown | {result.rejected}/{result.strangers} "
                  f"({result.rejection_rate:.2%}) |")
