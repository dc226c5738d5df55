"""What a learned template buys on lfw-dev: enrol photo 1, learn photo 2 where the guards let it, probe photo 3.

Run: .venv/bin/python bench/learned_templates.py
People of ../shared/lfw-dev with 3+ photos (their first three, by name) form a gallery of one enrolment photo
each; photo 2 becomes a learned template when it passes the enrolment quality gate and
entries.services.photo_learn's anchor and near-copy guards (ATTENDANCE defaults); photo 3 is the probe. TPIR: the
share of probes whose best match is their own person at the shipped identify threshold for the gallery's photo
count, with and without the learned templates. The threshold is the shipped calibration (made on all of lfw-dev,
these people included): read the difference between the two rows, not either row alone.
"""

import csv
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import REPO  # noqa: E402

sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerec.settings")
os.environ.setdefault("SECRET_KEY", "bench")
LFW_DIR = Path(os.environ.get("FACEREC_LFW_DIR", REPO.parent / "shared" / "lfw-dev"))


def main() -> None:
    import django

    django.setup()
    from entries import conf
    from entries.exceptions import FaceRecError
    from entries.recognition import calibration, faces, vectors
    from entries.services import LearnRules

    model, rules = conf.get("MODEL"), LearnRules()
    people: dict[str, list[str]] = defaultdict(list)
    with (LFW_DIR / "identities.csv").open() as rows:
        for row in csv.DictReader(rows):
            people[row["person"]].append(row["image"])

    def embedding(name: str, quality: bool) -> np.ndarray | None:
        try:
            face = faces.analyse((LFW_DIR / name).read_bytes(), largest_face=True, check_quality=quality)
        except FaceRecError:
            return None
        return vectors.normalise(face.embedding)

    rows = []
    for photos in (sorted(v)[:3] for v in people.values() if len(v) >= 3):
        enrolled, frame, probe = embedding(photos[0], False), embedding(photos[1], True), embedding(photos[2], False)
        if enrolled is not None and probe is not None:
            rows.append((enrolled, frame, probe))
    anchor = calibration.identify_threshold(model, rules.anchor_gallery, conf.get("IDENTIFY_FPIR"))
    learned = [f is not None and anchor <= float(f @ e) < rules.near_duplicate for e, f, _ in rows]
    probes = np.stack([p for _, _, p in rows])
    print(f"{len(rows)} people; {sum(learned)} learned a template (anchor {anchor}, near-copy {rules.near_duplicate})")
    for with_learned in (False, True):
        gallery = [(i, e) for i, (e, _, _) in enumerate(rows)]
        gallery += [(i, f) for i, (_, f, _) in enumerate(rows) if with_learned and learned[i]]
        owners, vectors_ = np.array([i for i, _ in gallery]), np.stack([v for _, v in gallery])
        threshold = calibration.identify_threshold(model, len(gallery))
        scores = probes @ vectors_.T
        best = scores.argmax(axis=1)
        hits = (owners[best] == np.arange(len(rows))) & (scores[np.arange(len(rows)), best] >= threshold)
        print(f"{'with learned templates' if with_learned else 'enrolment photo only':24} TPIR {hits.mean():.3f} "
              f"at threshold {threshold} ({len(gallery)} photos)")


if __name__ == "__main__":
    main()
