import numpy as np
import pytest
from skimage import data, draw

from napari_mend import CLEAN_LABEL


def scratched(image, seed, n=4):
    """``image`` with ``n`` bright one-pixel scratches, and their truth mask."""
    rng = np.random.default_rng(seed)
    image, truth = image.copy(), np.zeros(image.shape[:2], bool)
    for _ in range(n):
        r0, c0, r1, c1 = (int(v) for v in rng.integers(0, min(image.shape[:2]), 4))
        rr, cc = draw.line(r0, c0, r1, c1)
        image[rr, cc] = 250
        truth[rr, cc] = True
    return image, truth


def paint(truth, *, period=32, keep=12):
    """Strokes on pieces of every scratch and sparse clean pixels everywhere else."""
    strokes = np.zeros(truth.shape, np.uint8)
    rows = np.arange(truth.shape[0])[:, None] % period < keep
    strokes[truth & rows] = 1
    clean = ~truth
    clean[::3] = False
    clean[:, ::3] = False
    strokes[clean] = CLEAN_LABEL
    return strokes


@pytest.fixture(scope="module")
def pair():
    camera = data.camera()
    first, truth1 = scratched(camera[:192, :192], 1)
    second, truth2 = scratched(camera[256:448, 256:448], 2)
    return first, truth1, second, truth2


@pytest.fixture(scope="module")
def taught(pair):
    import napari_mend as nm

    first, truth1, _, _ = pair
    return nm.teach(first, paint(truth1))


@pytest.fixture
def painter():
    """:func:`paint`, for test modules."""
    return paint
