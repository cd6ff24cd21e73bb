import numpy as np
import pytest


@pytest.fixture(scope="module")
def domain_images():
    """A gray uint8 image and an RGB float image: mixed channel counts."""
    from napari_mend.synthesis import load_corpus_image

    rng = np.random.default_rng(3)
    gray = np.round(load_corpus_image("cell")[:160, :140] * 255).astype(np.uint8)
    rgb = (0.2 + 0.6 * rng.random((130, 150, 3))).astype(np.float32)
    return [gray, rgb]


TINY = {"crop": 64, "batch": 1, "max_steps": 2, "eval_crops": 2, "minutes": 5.0}
"""A fine-tune of two steps on 64-px crops, measured on two held-out crops."""
