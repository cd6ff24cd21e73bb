"""Boundary matching of a predicted fill (gradient-domain blending).

A network's prediction of a hole is close to the truth in its detail but
often off by a slowly varying amount: a shift of brightness or colour that
shows as a seam along the hole's outline. The network also predicts the
known pixels around the hole, so its error there is measured; the error's
harmonic interpolation into the hole (Laplace's equation, the known pixels'
errors as boundary values) is added to the prediction. The result keeps the
prediction's Laplacian inside the hole and meets the known pixels without a
seam, as Poisson image editing (Perez, Gangnet and Blake, SIGGRAPH 2003)
blends a source into a target. Where a mask misses part of a defect, the
defect's leftover pixels are known pixels with a large error; limiting the
error that counts (``max_error``) keeps them from being carried inwards.
"""

from __future__ import annotations

import numpy as np

SCREENING = 1e-6
"""Weight of the screening term that keeps the correction of a hole component
without a known neighbour at 0 (it decays over about ``1 / sqrt(SCREENING)`` px)."""

DIRECT_MAX = 65_536
"""Largest hole (pixels) solved by sparse LU factorisation; larger ones (most of a 512 px window)
are solved by conjugate gradients, whose memory grows with the hole alone, not with the fill-in
of a factorisation (about 250 MB for 254,000 pixels)."""

_STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def harmonic_fill(values: np.ndarray, hole: np.ndarray, *,
                  direct_max: int = DIRECT_MAX) -> np.ndarray:
    """Harmonic interpolation of ``values`` into ``hole``.

    Parameters
    ----------
    values : (M, N, C) ndarray
        Known values outside ``hole`` (values inside are ignored).
    hole : (M, N) ndarray of bool
        Pixels to interpolate.
    direct_max : int, optional
        Holes of up to this many pixels are solved exactly (sparse LU),
        larger ones by Jacobi-preconditioned conjugate gradients to a
        relative residual of 1e-8 (bounded memory).

    Returns
    -------
    filled : (M, N, C) ndarray of float64
        ``values`` outside the hole; inside, the solution of the 5-point
        Laplace equation with the 4-neighbours outside the hole as boundary
        values (no flux across the array's edges), plus a weak screening term
        (:data:`SCREENING`) so that a hole component with no known neighbour
        gets about 0 instead of an undetermined value.
    """
    import scipy.sparse as sp  # deferred: scipy.sparse only for this solve
    from scipy.sparse.linalg import cg, splu  # deferred: scipy.sparse only for this solve

    values = np.asarray(values, np.float64)
    filled = values.copy()
    ys, xs = np.nonzero(hole)
    k = ys.size
    if k == 0:
        return filled
    m, n = hole.shape
    index = np.full((m, n), -1, np.int64)
    index[ys, xs] = np.arange(k)
    diagonal = np.full(k, SCREENING)
    rhs = np.zeros((k, values.shape[-1]))
    rows, cols = [], []
    for dy, dx in _STEPS:
        y2, x2 = ys + dy, xs + dx
        inside = (y2 >= 0) & (y2 < m) & (x2 >= 0) & (x2 < n)
        diagonal += inside
        at = np.flatnonzero(inside)
        neighbour = index[y2[at], x2[at]]
        unknown = neighbour >= 0
        rows.append(at[unknown])
        cols.append(neighbour[unknown])
        known = at[~unknown]
        np.add.at(rhs, known, values[y2[known], x2[known]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    matrix = sp.csc_matrix(
        (np.concatenate([diagonal, -np.ones(rows.size)]),
         (np.concatenate([np.arange(k), rows]), np.concatenate([np.arange(k), cols]))),
        shape=(k, k))
    if k <= direct_max:
        filled[ys, xs] = splu(matrix).solve(rhs)
        return filled
    jacobi = sp.diags(1.0 / diagonal)
    for c in range(rhs.shape[1]):  # the system is symmetric positive definite
        filled[ys, xs, c], _ = cg(matrix, rhs[:, c], rtol=1e-8, M=jacobi, maxiter=4 * (m + n))
    return filled


def match_boundary(prediction: np.ndarray, image: np.ndarray, hole: np.ndarray, *,
                   max_error: float | None = None) -> np.ndarray:
    """A prediction of ``hole`` corrected to meet the known pixels without a seam.

    Parameters
    ----------
    prediction : (M, N, C) ndarray
        Predicted values of every pixel (the hole and the known pixels).
    image : (M, N, C) ndarray
        The known values (values in the hole are ignored).
    hole : (M, N) ndarray of bool
        The predicted pixels.
    max_error : float, optional
        The prediction's error on a known pixel counts up to this much
        (either sign). A larger error is more likely a defect pixel the mask
        missed than an offset of the prediction, and would otherwise be
        carried into the hole. ``None``: no limit.

    Returns
    -------
    matched : (M, N, C) ndarray of float32
        ``prediction`` plus the harmonic interpolation of ``image -
        prediction`` (limited to ``max_error``; see :func:`harmonic_fill`) in
        the hole, ``image`` outside it. Where the prediction is exact on the
        hole's outline, nothing changes.
    """
    if hole.all() or not hole.any():  # nothing to match to, or nothing to match
        return np.where(hole[..., None], prediction, image).astype(np.float32)
    error = np.asarray(image, np.float64) - prediction
    if max_error is not None:
        np.clip(error, -max_error, max_error, out=error)
    correction = harmonic_fill(np.where(hole[..., None], 0.0, error), hole)
    return np.where(hole[..., None], prediction + correction, image).astype(np.float32)
