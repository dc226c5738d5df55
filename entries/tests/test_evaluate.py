"""The evaluate command, and the calibration arithmetic it ships."""

from io import StringIO
from itertools import combinations

import numpy as np
import pytest
from django.core.management import call_command

from entries.recognition import calibration


@pytest.mark.django_db
@pytest.mark.faces
def test_evaluate_prints_the_tables_and_plots_on_people_the_calibration_never_saw(faces_dir, tmp_path):
    out = StringIO()
    call_command("evaluate", "--pairs", str(faces_dir / "pairs.csv"), "--plots", str(tmp_path), stdout=out)
    report = out.getvalue()
    for line in ("520 pairs (140 same, 380 different)", "threshold chosen on the other folds",
                 "accuracy at the shipped threshold", "TAR at FAR 1.0%", "TAR at FAR 0.1%",
                 "without a detectable face", "time per photo", "enrolment quality"):
        assert line in report, report
    # the shipped threshold was learned on lfw-dev: these 13 people are new to it
    accuracy = float(report.split("accuracy at the shipped threshold")[1].split("|")[1].strip().rstrip("%"))
    assert accuracy >= 99.0
    assert (tmp_path / "evaluate-MobileFaceNet.png").read_bytes().startswith(b"\x89PNG")


def test_fpir_table_counts_random_galleries_exactly():
    # Given three probes, each with its similarities to the four other people
    probes = [np.array([0.9, 0.2, 0.1, 0.0]), np.array([0.3, 0.2, 0.1, 0.0]), np.array([0.95, 0.9, 0.1, 0.0])]
    table = calibration.fpir_table(probes, sizes=(1, 2), grid=np.array([0.5]))
    # Then FPIR(N, t) is the share of all N-person galleries holding someone at >= t, averaged over probes
    for row, size in zip(table["fpir"], table["sizes"], strict=True):
        expected = np.mean([np.mean([max(p[list(g)]) >= 0.5 for g in combinations(range(4), size)])
                            for p in probes])
        assert row[0] == pytest.approx(expected, abs=1e-6)  # stored rounded to 6 places


def test_threshold_for_interpolates_between_sizes_and_extrapolates_past_them():
    table = {"sizes": [10, 100], "thresholds": [0.4, 0.5, 0.6, 0.7],
             "fpir": [[0.5, 0.01, 0.001, 0.0], [0.9, 0.1, 0.01, 0.001]]}
    assert calibration.threshold_for(table, 0.01, 10) == pytest.approx(0.5)
    assert calibration.threshold_for(table, 0.01, 100) == pytest.approx(0.6)
    assert 0.5 < calibration.threshold_for(table, 0.01, 30) < 0.6
    assert calibration.threshold_for(table, 0.01, 1000) == pytest.approx(0.7)


def test_the_tail_model_extrapolates_a_known_distribution_far_past_the_calibration_people():
    # Given 400 probes whose similarities to 500 people follow one known distribution
    # (a generalized Pareto tail with shape -0.2 above 0.3)
    rng = np.random.default_rng(0)
    sigma, xi = 0.08, -0.2

    def sample(size):
        return 0.3 + sigma / xi * (rng.uniform(size=size) ** -xi - 1)

    tail = calibration.fit_tail([sample(500) for _ in range(400)])
    assert tail["xi"] == pytest.approx(xi, abs=0.05)
    # Then at 20 times as many people the threshold for 1 % of strangers is the distribution's own
    size, target = 10_000, 0.01
    exact = 0.3 + sigma / xi * ((1 - (1 - target) ** (1 / size)) ** -xi - 1)  # 1 - F(t) ** N = target
    predicted = calibration._threshold_at(calibration.tail_fpir(tail, size), list(calibration.THRESHOLD_GRID),
                                          target)
    assert predicted == pytest.approx(exact, abs=0.01)


def test_threshold_for_uses_the_tail_model_past_the_table_never_below_its_last_threshold():
    table = {"sizes": [10, 100], "thresholds": [0.4, 0.5, 0.6, 0.7],
             "fpir": [[0.5, 0.01, 0.001, 0.0], [0.9, 0.1, 0.01, 0.001]]}
    tail = {"rate": 0.02, "xi": -0.2, "log_sigma": [-2.5, 0.0], "u_mean": 0.5, "u": [0.5], "u_count": [1]}
    assert calibration.threshold_for(table, 0.01, 100, tail) == pytest.approx(0.6)  # the table within its sizes
    past = calibration.threshold_for(table, 0.01, 1000, tail)
    model = calibration._threshold_at(calibration.tail_fpir(tail, 1000), list(calibration.THRESHOLD_GRID), 0.01)
    assert past == pytest.approx(max(0.6, model))
    assert calibration.threshold_for(table, 0.01, 10_000, tail) > past
    weak = {**tail, "u": [0.1]}  # a tail whose model would be looser than the table's last threshold
    assert calibration.threshold_for(table, 0.01, 1000, weak) == pytest.approx(0.6)
