"""Face models as plug-ins: the registry, and embeddings that do not move when the code around them does."""

from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings

from entries.recognition import faces

# faces.analyse(img1.jpg) with each model, recorded before the models left engine.py (Dlib then ran through
# DeepFace's wrapper): a refactoring that changes an embedding by one bit changes every stored one.
REFERENCE = Path(__file__).with_name("data") / "img1-embeddings.npz"


@pytest.mark.parametrize("model", ["MobileFaceNet", "Dlib"])
def test_a_fixed_photo_gives_bit_identical_embeddings(photo, model):
    with override_settings(FACEREC={"MODEL": model}):
        embedding = faces.analyse(photo("img1.jpg")).embedding
    expected = np.load(REFERENCE)[model]
    assert embedding.dtype == expected.dtype and embedding.tobytes() == expected.tobytes()
