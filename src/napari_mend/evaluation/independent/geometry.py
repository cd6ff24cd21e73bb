"""Curves and shapes rasterised with sub-pixel accuracy."""

import numpy as np
from scipy.spatial import cKDTree
from skimage.draw import polygon as draw_polygon


def densify(points, step=0.25):
    """Resample a polyline so that consecutive points are ``step`` px apart.

    Parameters
    ----------
    points : ndarray, shape (N, 2)
        ``(row, col)`` vertices.
    step : float
        Target spacing in pixels.

    Returns
    -------
    dense : ndarray, shape (M, 2)
        Resampled vertices.
    arclength : ndarray, shape (M,)
        Arc length of each resampled vertex from the start, in pixels.
    """
    points = np.asarray(points, dtype=np.float64)
    seg = np.hypot(*np.diff(points, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = s[-1]
    n = max(int(np.ceil(total / step)) + 1, 2)
    t = np.linspace(0.0, total, n)
    dense = np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], axis=1)
    return dense, t


def curve_distance(points, shape, radius):
    """Distance from each pixel centre to a polyline, within a radius.

    Parameters
    ----------
    points : ndarray, shape (N, 2)
        ``(row, col)`` vertices, assumed densely sampled (see :func:`densify`).
    shape : tuple of int
        ``(H, W)`` of the image.
    radius : float
        Pixels further than this are reported as ``inf``.

    Returns
    -------
    distance : ndarray of float32, shape (H, W)
        Euclidean distance to the nearest curve point (``inf`` beyond radius).
    nearest : ndarray of int64, shape (H, W)
        Index of the nearest curve point (``-1`` beyond radius).
    """
    h, w = shape
    distance = np.full((h, w), np.inf, dtype=np.float32)
    nearest = np.full((h, w), -1, dtype=np.int64)
    r0 = max(int(np.floor(points[:, 0].min() - radius)), 0)
    r1 = min(int(np.ceil(points[:, 0].max() + radius)) + 1, h)
    c0 = max(int(np.floor(points[:, 1].min() - radius)), 0)
    c1 = min(int(np.ceil(points[:, 1].max() + radius)) + 1, w)
    if r0 >= r1 or c0 >= c1:
        return distance, nearest
    rr, cc = np.mgrid[r0:r1, c0:c1]
    query = np.stack([rr.ravel(), cc.ravel()], axis=1).astype(np.float64)
    d, idx = cKDTree(points).query(query, distance_upper_bound=radius)
    ok = np.isfinite(d)
    distance[rr.ravel()[ok], cc.ravel()[ok]] = d[ok]
    nearest[rr.ravel()[ok], cc.ravel()[ok]] = idx[ok]
    return distance, nearest


def polygon_coverage(vertices, shape, supersample=4):
    """Anti-aliased coverage of a polygon (fraction of each pixel inside).

    Parameters
    ----------
    vertices : ndarray, shape (N, 2)
        ``(row, col)`` polygon vertices in pixel units.
    shape : tuple of int
        ``(H, W)`` of the output.
    supersample : int
        Sub-samples per pixel side.

    Returns
    -------
    coverage : ndarray of float32, shape (H, W)
        Values in [0, 1].
    """
    h, w = shape
    s = supersample
    v = (np.asarray(vertices, dtype=np.float64) + 0.5) * s - 0.5
    rr, cc = draw_polygon(v[:, 0], v[:, 1], shape=(h * s, w * s))
    hi = np.zeros((h * s, w * s), dtype=np.float32)
    hi[rr, cc] = 1.0
    return hi.reshape(h, s, w, s).mean(axis=(1, 3))


def wandering_path(rng, start, heading, length, curl, step=1.0):
    """A curved path whose heading drifts like a smooth random walk.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    start : tuple of float
        ``(row, col)`` start point.
    heading : float
        Initial direction in radians (0 = along +col).
    length : float
        Path length in pixels.
    curl : float
        Standard deviation of the heading change per step (radians).
    step : float
        Step length in pixels.

    Returns
    -------
    points : ndarray, shape (N, 2)
        ``(row, col)`` vertices.
    """
    n = max(int(length / step), 2)
    turn = rng.normal(0.0, curl, n)
    # Low-pass the turning so that fibres and hairlines bend smoothly.
    kernel = np.hanning(7)
    turn = np.convolve(turn, kernel / kernel.sum(), mode="same") * 2.0
    angles = heading + np.cumsum(turn)
    dr = np.sin(angles) * step
    dc = np.cos(angles) * step
    rows = start[0] + np.concatenate([[0.0], np.cumsum(dr)])
    cols = start[1] + np.concatenate([[0.0], np.cumsum(dc)])
    return np.stack([rows, cols], axis=1)
