import numpy as np
import pytest


@pytest.fixture(scope="module")
def rgb():
    """A smooth RGB test image in [0.1, 0.9], float32 (80, 96, 3)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:80, 0:96] / 96.0
    base = np.stack([0.5 + 0.4 * np.sin(3 * xx), 0.5 + 0.4 * np.cos(4 * yy), 0.5 + 0.3 * xx], -1)
    return np.clip(base + rng.normal(0, 0.02, base.shape), 0.1, 0.9).astype(np.float32)


@pytest.fixture(scope="module")
def gray(rgb):
    return rgb.mean(axis=-1)
