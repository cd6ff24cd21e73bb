"""What several test modules share: image and mask builders, ``psnr``, dock-widget helpers.

Importable as ``helpers`` (``pythonpath = ["tests"]`` in pyproject's pytest settings); the
fixtures built on them live in ``tests/conftest.py``.
"""

import numpy as np
from skimage import data, draw

from napari_mend import CLEAN_LABEL
from napari_mend.synthesis import procedural_image


def psnr(a, b, where=None):
    """Peak signal-to-noise ratio in dB of ``a`` against ``b`` (both in [0, 1]).

    Parameters
    ----------
    a, b : array_like
        Images of one shape.
    where : ndarray of bool, optional
        Measure over these pixels only; every pixel when None.

    Returns
    -------
    float
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if where is not None:
        a, b = a[where], b[where]
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))


def textured(seed, size, *, channels=3, low=0.05, span=0.9):
    """A procedural (random, seeded) clean image, float32 in ``[low, low + span]``.

    Parameters
    ----------
    seed : int
        Seed of the generator.
    size : int
        Height and width.
    channels : {1, 3}, optional
        Channel count; the channel axis is kept for one channel too.
    low, span : float, optional
        The image's values are ``low + span * texture`` with the texture in [0, 1].

    Returns
    -------
    image : ndarray of float32, shape (size, size, channels)
    """
    image = procedural_image(np.random.default_rng(seed), (size, size), channels=channels)
    image = image if image.ndim == 3 else image[..., None]
    return (low + span * image).astype(np.float32)


def camera_scratch(size, line, *, width=1):
    """The top-left ``size`` x ``size`` of scikit-image's camera with a white (255) scratch.

    Parameters
    ----------
    size : int
        Side of the crop.
    line : tuple of int
        ``(r0, c0, r1, c1)``, the scratch's ends (:func:`skimage.draw.line`).
    width : int, optional
        Columns the scratch covers, from the line rightwards (clipped to the image).

    Returns
    -------
    image : ndarray of uint8, shape (size, size)
    line_pixels : tuple of ndarray
        ``(rr, cc)``, the line's pixels (its first column).
    """
    image = data.camera()[:size, :size].copy()
    rr, cc = draw.line(*line)
    for dc in range(width):
        image[rr, np.minimum(cc + dc, size - 1)] = 255
    return image, (rr, cc)


def scratched(image, seed, n=4):
    """``image`` with ``n`` bright (250) one-pixel scratches at random, and their truth mask.

    Returns
    -------
    image : ndarray
        A copy of ``image``, scratched.
    truth : ndarray of bool, shape ``image.shape[:2]``
    """
    rng = np.random.default_rng(seed)
    image, truth = image.copy(), np.zeros(image.shape[:2], bool)
    for _ in range(n):
        r0, c0, r1, c1 = (int(v) for v in rng.integers(0, min(image.shape[:2]), 4))
        rr, cc = draw.line(r0, c0, r1, c1)
        image[rr, cc] = 250
        truth[rr, cc] = True
    return image, truth


def scratched_pair():
    """Two 192-px crops of the camera image, four random scratches each.

    Returns
    -------
    tuple
        ``(first, truth1, second, truth2)``, as :func:`scratched` gives them.
    """
    camera = data.camera()
    return (*scratched(camera[:192, :192], 1), *scratched(camera[256:448, 256:448], 2))


def paint(truth, *, period=32, keep=12):
    """Teaching strokes: pieces of every scratch and sparse clean pixels everywhere else.

    Parameters
    ----------
    truth : ndarray of bool
        The scratches.
    period, keep : int, optional
        Of every ``period`` rows, the first ``keep`` are painted on the scratches.

    Returns
    -------
    strokes : ndarray of uint8, shape ``truth.shape``
        1 on scratch pieces, ``CLEAN_LABEL`` on clean pixels, 0 elsewhere.
    """
    strokes = np.zeros(truth.shape, np.uint8)
    rows = np.arange(truth.shape[0])[:, None] % period < keep
    strokes[truth & rows] = 1
    clean = ~truth
    clean[::3] = False
    clean[:, ::3] = False
    strokes[clean] = CLEAN_LABEL
    return strokes


def mend_dock(make_napari_viewer):
    """A new viewer with the "Mend defects" dock widget from the manifest: (viewer, widget)."""
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
    return viewer, widget


def wait_for(qtbot, widget, worker):
    """Wait until the widget's background task has finished (its GUI-side cleanup ran)."""
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=60_000)
