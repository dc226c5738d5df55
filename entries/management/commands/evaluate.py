import json
import os
from pathlib import Path
from unittest import mock

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from ... import conf
from ...recognition import calibration, evaluation, registry
from ...recognition.evaluation import OPEN_SET_SIZES


class Command(BaseCommand):
    help = (
        "Measure recognition on labelled photos (pairs.csv: img_a,img_b,same[,fold]; identities.csv: person,image): "
        "1:1 accuracy with the threshold chosen on other folds, TAR at FAR, and 1:N open-set TPIR/FPIR on people not "
        "used for calibration. --plots writes DET and TPIR-against-N curves; --write-calibration ships the "
        "thresholds and confidences learned from all the photos."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pairs", type=Path, required=True)
        parser.add_argument("--model", choices=list(registry.models()),
                            help="The face model to measure (default: FACEREC_MODEL).")
        parser.add_argument("--images", type=Path, help="Folder of the photos (default: the pairs file's folder).")
        parser.add_argument("--identities", type=Path,
                            help="person,image CSV (default: identities.csv beside the pairs file).")
        parser.add_argument("--workers", type=int, default=1, help="Processes embedding photos.")
        parser.add_argument("--draws", type=int, default=10, help="Random galleries per size in the 1:N test.")
        parser.add_argument("--cache", type=Path, help="Keep the embeddings in this .npz file and reuse them.")
        parser.add_argument("--plots", type=Path, help="Write evaluate-MODEL.png into this folder.")
        parser.add_argument("--scale", type=float, default=1.0,
                            help="Shrink every photo by this factor first (how small may a face be?).")
        parser.add_argument("--write-calibration", action="store_true",
                            help="Store what was learned in the model's calibration file "
                                 f"({calibration.CALIBRATION_FILE.name} for the shipped models).")

    def handle(self, *args, model=None, **options):
        if model is None or model == conf.get("MODEL"):
            return self._evaluate(conf.get("MODEL"), **options)
        # --workers' processes read their settings from the environment
        with mock.patch.dict(os.environ, FACEREC_MODEL=model), \
                override_settings(FACEREC={**getattr(settings, "FACEREC", {}), "MODEL": model}):
            return self._evaluate(model, **options)

    def _evaluate(self, model, *, pairs, images, identities, workers, draws, cache, plots, scale, write_calibration,
                  **options):
        images = images or pairs.parent
        identities = identities or (pairs.parent / "identities.csv")
        try:
            labelled = evaluation.read_pairs(pairs)
            ids = evaluation.read_identities(identities)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{pairs} / {identities}: cannot read labelled photos ({exc})") from exc
        embedded = self._embed(model, [n for a, b, *_ in labelled for n in (a, b)] + list(ids), images, workers, cache,
                               scale)
        if embedded.unreadable:
            raise CommandError(f"cannot read {len(embedded.unreadable)} photos in {images}: "
                               f"{', '.join(embedded.unreadable[:5])}")
        write = self.stdout.write
        report = evaluation.score_pairs(labelled, embedded)
        write(f"model {model}; {len(embedded.vectors) + len(embedded.no_face)} photos, {len(embedded.vectors)} "
              f"embedded, {len(embedded.no_face)} without a detectable face"
              + (f" ({', '.join(embedded.no_face[:5])}{', …' if len(embedded.no_face) > 5 else ''})"
                 if embedded.no_face else ""))
        if embedded.seconds:
            write(f"time per photo: median {np.median(embedded.seconds) * 1000:.0f} ms, "
                  f"p95 {np.percentile(embedded.seconds, 95) * 1000:.0f} ms (decode, detect, align, embed; one core)")
        self._one_to_one(model, report)
        learned = evaluation.calibrate(ids, embedded, report)
        if len(set(ids.values())) >= 40:
            rows = self._open_set(model, ids, embedded, draws)
        else:
            rows = {}
            write("\n(1:N open set skipped: fewer than 40 people)")
        self._quality(ids, embedded, report)
        if plots:
            path = self._plot(plots, model, report, rows)
            write(f"\nwrote {path}")
        if write_calibration:
            path = calibration.save(model, {**learned,
                                            "source": f"evaluate --pairs {pairs.parent.name}/{pairs.name}"})
            write(f"wrote {path}")

    # -- steps ----------------------------------------------------------------------------------

    def _embed(self, model, names, images, workers, cache, scale):
        if cache and cache.is_file():
            stored = np.load(cache, allow_pickle=False)
            stored_scale = float(stored["scale"]) if "scale" in stored.files else 1.0
            if str(stored["model"]) == model and stored_scale == scale:
                meta = json.loads(str(stored["meta"]))
                return evaluation.Embedded(
                    vectors=dict(zip(meta["names"], stored["vectors"], strict=True)),
                    quality=dict(zip(meta["names"], map(tuple, stored["quality"]), strict=True)),
                    no_face=meta["no_face"], unreadable=meta["unreadable"], seconds=list(stored["seconds"]))
        embedded = evaluation.embed_photos(names, images, workers=workers, scale=scale)
        if cache:
            keys = list(embedded.vectors)
            np.savez(cache, model=model, scale=scale, vectors=np.stack([embedded.vectors[k] for k in keys]),
                     quality=np.array([embedded.quality[k] for k in keys]), seconds=np.array(embedded.seconds),
                     meta=json.dumps({"names": keys, "no_face": embedded.no_face, "unreadable": embedded.unreadable}))
        return embedded

    def _one_to_one(self, model, report):
        write = self.stdout.write
        thresholds, accuracies = report.cross_validated()
        best, best_accuracy = report.best_threshold()
        write(f"\n1:1 verification: {len(report.scores)} pairs ({int(report.same.sum())} same, "
              f"{int((~report.same).sum())} different) in {len(set(report.folds))} folds; "
              f"{report.missing} pairs with a photo without a face count as 'different'")
        write("| measure | value |")
        write("| --- | --- |")
        write(f"| accuracy, threshold chosen on the other folds (mean ± sd) | "
              f"{np.mean(accuracies):.2%} ± {np.std(accuracies):.2%} (thresholds {min(thresholds):.4f}–"
              f"{max(thresholds):.4f}) |")
        write(f"| best accuracy, threshold chosen on all pairs | {best_accuracy:.2%} at {best:.4f} |")
        try:
            shipped = calibration.verify_threshold(model)
            write(f"| accuracy at the shipped threshold {shipped:.4f} (mean over folds) | "
                  f"{report.fold_mean_accuracy(shipped):.2%} |")
        except LookupError:
            write("| accuracy at the shipped threshold | no calibration for this model yet |")
        for far in (0.01, 0.001):
            tar, at = report.tar_at_far(far)
            write(f"| TAR at FAR {far:.1%} | {tar:.2%} (threshold {at:.4f}) |")

    def _open_set(self, model, ids, embedded, draws):
        """Calibrate on one half of the people, measure on the other, both ways."""
        write = self.stdout.write
        target = conf.get("IDENTIFY_FPIR")
        halves = evaluation.split_people(ids)
        rows, confidence_trials = {}, []
        for calibrate_on, measure_on in (halves, halves[::-1]):
            learned = evaluation.calibrate(ids, embedded, None, people=calibrate_on)
            photos = evaluation.photos_by_person(ids, embedded.vectors, measure_on)

            def threshold_of(size, learned=learned):
                return min(calibration.threshold_for(learned["identify"], target, size, learned["tail"]), 0.999)

            held_out = []
            for size in [n for n in OPEN_SET_SIZES if n < len(photos)]:
                t = evaluation.simulate(photos, embedded.vectors, size, draws=draws, seed=size)
                held_out.append(t)
                threshold = threshold_of(size)
                rows.setdefault(size, []).append((t, threshold))
            error = evaluation.reliability(learned, held_out, threshold_of)
            confidence_trials.append(error)
        write(f"\n1:N open set: people split in two halves ({len(halves[0])} / {len(halves[1])}); thresholds "
              f"calibrated on one half for a target FPIR of {target:.1%}, measured on the other, both ways; "
              f"{draws} random galleries per size, one photo per enrolled person")
        write("| enrolled | known probes | strangers | TPIR @FPIR 1% | TPIR @FPIR 2% | default threshold "
              "| TPIR at default | FPIR at default |")
        write("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for size, pairs in rows.items():
            known = sum(len(t.known_best) for t, _ in pairs)
            strangers = sum(len(t.stranger_best) for t, _ in pairs)
            at1 = np.mean([t.tpir(t.threshold_at_fpir(0.01)) for t, _ in pairs])
            at2 = np.mean([t.tpir(t.threshold_at_fpir(0.02)) for t, _ in pairs])
            tpir = np.mean([t.tpir(th) for t, th in pairs])
            fpir = sum(t.fpir(th) * len(t.stranger_best) for t, th in pairs) / max(1, strangers)
            write(f"| {size} | {known} | {strangers} | {at1:.3f} | {at2:.3f} | "
                  f"{np.mean([th for _, th in pairs]):.4f} | {tpir:.3f} | {fpir:.2%} |")
        write(f"confidence: expected calibration error on held-out trials {np.mean(confidence_trials):.2%}")
        self._several_photos(ids, embedded, draws)
        return rows

    def _several_photos(self, ids, embedded, draws):
        """Does enrolling two photos help, and how should they be combined? (people with three or more)"""
        write = self.stdout.write
        write("\nseveral photos per person: TPIR @FPIR 1% at 100 enrolled (people with 3+ photos enrolled "
              "with their first 1 or 2; strangers are the other people)")
        write("| enrolment | TPIR @FPIR 1% | TPIR @FPIR 2% |")
        write("| --- | --- | --- |")
        photos = evaluation.photos_by_person(ids, embedded.vectors)
        several = {p: v for p, v in photos.items() if len(v) >= 3}
        if len(several) < 101:
            write("| (too few people with three or more photos) | | |")
            return
        for label, enrol, fusion in (("1 photo", 1, "max"), ("2 photos, best match", 2, "max"),
                                     ("2 photos, mean template", 2, "mean")):
            results = []
            for seed in range(draws):
                results.append(evaluation.simulate(several, embedded.vectors, 100, draws=1, seed=seed,
                                                   enrol=enrol, fusion=fusion))
            at1 = np.mean([t.tpir(t.threshold_at_fpir(0.01)) for t in results])
            at2 = np.mean([t.tpir(t.threshold_at_fpir(0.02)) for t in results])
            write(f"| {label} | {at1:.3f} | {at2:.3f} |")

    def _quality(self, ids, embedded, report):
        write = self.stdout.write
        values = np.array(list(embedded.quality.values()))
        if not len(values):
            return
        write("\nenrolment quality of these photos (percentiles) and the share the gate would refuse")
        write("| measure | 1% | 5% | 50% | 95% | 99% | limit | refused | 1:1 accuracy of pairs with a refused photo |")
        write("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        names = list(embedded.quality)
        threshold, _ = report.best_threshold()
        limits = (("eye distance (px)", 0, conf.get("QUALITY_MIN_EYE_DISTANCE"), "min"),
                  ("sharpness", 1, conf.get("QUALITY_MIN_SHARPNESS"), "min"),
                  ("yaw (eye distances)", 2, conf.get("QUALITY_MAX_YAW"), "max"))
        for label, column, limit, kind in limits:
            data = values[:, column]
            bad = (data < limit) if kind == "min" else (data > limit)
            cells = " | ".join(f"{np.percentile(data, q):.2f}" for q in (1, 5, 50, 95, 99))
            refused_names = {n for n, b in zip(names, bad, strict=True) if b}
            mask = np.array([a in refused_names or b in refused_names for a, b, *_ in report.pairs])
            pairs_cell = (f"{report.accuracy(threshold, mask):.2%} of {int(mask.sum())} (all pairs "
                          f"{report.accuracy(threshold):.2%})" if mask.any() else "no such pair")
            write(f"| {label} | {cells} | {kind} {limit} | {bad.mean():.2%} | {pairs_cell} |")

    def _plot(self, folder, model, report, rows):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        folder.mkdir(parents=True, exist_ok=True)
        figure, (det, scale) = plt.subplots(1, 2, figsize=(11, 4.5))
        fmr, fnmr = report.det()
        keep = fmr > 0
        det.plot(fmr[keep], fnmr[keep], color="tab:blue")
        det.set(xscale="log", yscale="log", xlabel="false match rate", ylabel="false non-match rate",
                title=f"1:1 DET on lfw-dev pairs, {model}")
        det.grid(True, which="both", alpha=0.3)
        if rows:
            sizes = sorted(rows)
            for fpir, colour in ((0.01, "tab:blue"), (0.02, "tab:orange")):
                scale.plot(sizes, [np.mean([t.tpir(t.threshold_at_fpir(fpir)) for t, _ in rows[n]]) for n in sizes],
                           marker="o", color=colour, label=f"TPIR at FPIR {fpir:.0%} (best threshold)")
            scale.plot(sizes, [np.mean([t.tpir(th) for t, th in rows[n]]) for n in sizes], marker="s",
                       color="tab:green", linestyle="--", label="TPIR at the calibrated default")
            for n in sizes:
                strangers = sum(len(t.stranger_best) for t, _ in rows[n])
                fpir = sum(t.fpir(th) * len(t.stranger_best) for t, th in rows[n]) / max(1, strangers)
                scale.annotate(f"FPIR {fpir:.1%}", (n, np.mean([t.tpir(th) for t, th in rows[n]])),
                               textcoords="offset points", xytext=(0, -14), ha="center", fontsize=7)
            scale.set(xscale="log", ylim=(0, 1), xlabel="people enrolled (N)", ylabel="TPIR",
                      title=f"1:N open set on held-out people, {model}")
            scale.grid(True, which="both", alpha=0.3)
            scale.legend(loc="lower left")
        figure.tight_layout()
        path = folder / f"evaluate-{model}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        return path
