"""The evaluate command on the shared labelled pairs."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
@pytest.mark.faces
def test_evaluate_prints_the_accuracy_table(faces_dir):
    out = StringIO()
    call_command("evaluate", "--pairs", str(faces_dir / "pairs.csv"), stdout=out)
    report = out.getvalue()
    for line in ("520 pairs scored", "accuracy at the shipped threshold", "TAR at FAR 1.0%", "TAR at FAR 0.1%",
                 "equal error rate", "without a detectable face", "time per photo", "rank-1 identification",
                 "strangers rejected"):
        assert line in report, report
    accuracy = float(report.split("accuracy at the shipped threshold")[1].split("|")[1].strip().rstrip("%"))
    assert accuracy >= 99.5
