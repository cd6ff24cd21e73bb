"""Joint matting of a watermark shared by a collection (after Dekel et al., CVPR 2017).

Model
-----
Every aligned image of the collection is ``J_k = a * W + (1 - a) * I_k``:
one opacity ``a`` and one matte ``M = a * W`` for all ``K`` images, a
content ``I_k`` per image. Given the mark, each content follows exactly,
``I_k = (J_k - M) / (1 - a)``, so the data term of Dekel et al. is kept as a
constraint and the contents are eliminated: the decomposition is a search
over the mark's unknowns only, the transparency ``u = log(1 - a)`` and the
matte ``M`` (one scalar and one colour per pixel, shared by all images).

Energy
------
Natural images have sparse gradients and their contents are independent of
the mark, so a wrong mark leaves the same residue (its outline, scaled
copies of its shapes) in every recovered image. Over the pixel pairs
``(p, q)`` (4-neighbours) touching the mark::

    E(u, M) = sum_k sum_(p,q) psi(t_pq * |I_k(q) - I_k(p)|)
              + lambda * sum_(p,q) psi(sqrt(|u_q - u_p|^2 + |M_q - M_p|^2))
              + mu * (|u - u0|^2 + |M - M0|^2)

with ``|.|`` the norm over the colour channels, ``psi(x) = sqrt(x^2 +
eps^2)`` (about ``|x|``) and ``t_pq = sqrt((1 - a_p)(1 - a_q))``. The first term is the sparse-gradient prior on
every image's content. Its scale ``t_pq`` measures the steps in the images'
own units: inside a region of constant opacity the term is that of
``J_k - M`` and does not depend on the opacity's level, which is then set
where the opacity changes (the mark's edges must vanish from every image
alike); without it, the prior alone would favour too faint a mark (a
content of less contrast has smaller gradients). The second term is a joint
total variation of the opacity and the matte: one weight per pixel pair for
both ties the opacity's edges to the mark's. The last is a weak pull to the
closed-form estimate ``(u0, M0)`` for pixels no image constrains. Outside
the mark's support ``u = 0`` and ``M = 0`` (no mark): the boundary the
mark's level is measured against.

Dekel et al. keep the contents and one copy ``W_k`` of the mark per image as
unknowns and alternate between them, the common ``W`` and ``a``. With the
contents eliminated there is nothing to alternate: ``a`` and ``M`` move
together, which is what lets the opacity's level change (with the contents
held fixed, the data term holds ``a`` where it is). Per-image copies of the
mark are left out: the images are aligned to whole pixels first and the mark
is the same in all of them.

Solver
------
Iteratively reweighted Gauss-Newton: at the current estimate each ``psi``
is replaced by its quadratic majoriser, the content residues are linearised
in ``(u, M)``, and the update is found by a few Jacobi-preconditioned
conjugate-gradient steps. A residue's change for an update ``(du, dM)`` is
``-slope_k * (du_q - du_p) - (f_q dM_q - f_p dM_p)``; its second part is
the same in every image, so the Hessian needs only sums over the images and
the conjugate-gradient steps cost the same for any ``K``. Only the support's
pixels and their neighbours are stored (flat arrays and the pairs'
incidence matrices), so the cost follows the mark's size, not the image's.

References
----------
.. [1] T. Dekel, M. Rubinstein, C. Liu and W. T. Freeman, "On the
       Effectiveness of Visible Watermarks", CVPR 2017.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy import sparse

MIN_JOINT_IMAGES = 2
"""Fewer images do not constrain the mark: their closed-form estimate is kept."""

IRLS_STEPS = 6
"""Reweighted Gauss-Newton steps."""

CG_STEPS = 30
"""Conjugate-gradient steps per reweighted step."""

CONTENT_EPS = 0.01
"""Step (unit range) below which the content prior is quadratic rather than L1."""

MARK_EPS = 0.01
"""Same for the joint total variation of the transparency and the matte."""

MARK_WEIGHT = 0.5
"""Weight ``lambda`` of the mark's total variation against the content prior (which
sums over the images: the more images, the less the mark is smoothed)."""

ANCHOR_WEIGHT = 1e-3
"""Weight ``mu`` of the pull to the closed-form estimate."""

CHUNK = 2 ** 23
"""Pair residues computed at once (a few of these arrays of float32 are held)."""

MAX_ALPHA = 0.99
"""Largest opacity the solver may reach."""


class _Pairs:
    """The 4-neighbour pixel pairs touching ``support``, over a flat list of pixels.

    ``nodes`` are the support and its neighbours; ``first`` and ``second``
    index each pair's pixels in that list; ``free`` says which of them are
    unknowns (the support).
    """

    def __init__(self, support: np.ndarray):
        self.nodes = ndi.binary_dilation(support)
        self.free = support[self.nodes]
        index = np.full(support.shape, -1)
        index[self.nodes] = np.arange(self.free.size)
        first, second = [], []
        for lo, hi in (((slice(0, -1), slice(None)), (slice(1, None), slice(None))),
                       ((slice(None), slice(0, -1)), (slice(None), slice(1, None)))):
            touching = support[lo] | support[hi]
            first.append(index[lo][touching])
            second.append(index[hi][touching])
        self.first, self.second = np.concatenate(first), np.concatenate(second)
        n, size = self.first.size, self.free.size
        rows = np.arange(n)
        # transposed incidence matrices: sum pair values back onto their pixels
        self.to_first = sparse.csr_matrix((np.ones(n, np.float32), (self.first, rows)),
                                          shape=(size, n))
        self.to_second = sparse.csr_matrix((np.ones(n, np.float32), (self.second, rows)),
                                           shape=(size, n))

    def step(self, f: np.ndarray) -> np.ndarray:
        """``f(second) - f(first)`` per pair."""
        return f[self.second] - f[self.first]

    def step_adjoint(self, g: np.ndarray) -> np.ndarray:
        """Adjoint of :meth:`step`."""
        return self.to_second @ g - self.to_first @ g


class _GaussNewton:
    """The quadratic model of the energy around ``(u, m)`` (see the module docstring).

    ``images`` are ``(P, K, C)`` over the pairs' pixels, ``u`` ``(P,)`` and ``m``
    ``(P, C)``. A pair's content residue is ``r = f_q E_q - f_p E_p`` with
    ``E = J - m``, ``f_p = e^(du / 2)``, ``f_q = e^(-du / 2)``, ``du = u_q - u_p``.
    """

    def __init__(self, pairs: _Pairs, images, u, m, u0, m0):
        self.pairs, self.u0, self.m0 = pairs, u0, m0
        half = 0.5 * pairs.step(u)
        self.f_p, self.f_q = np.exp(half)[:, None], np.exp(-half)[:, None]
        n, channels = pairs.first.size, images.shape[-1]
        dtype = images.dtype
        self.s0, self.s2, self.wsr = np.zeros((n, 1), dtype), np.zeros(n, dtype), np.zeros(n, dtype)
        self.s1, self.wr = np.zeros((n, channels), dtype), np.zeros((n, channels), dtype)
        chunk = max(1, CHUNK // (n * channels))  # images at a time: bounded memory
        for k in range(0, images.shape[1], chunk):
            excess = images[:, k:k + chunk] - m[:, None]
            e_p = self.f_p[:, None] * excess[pairs.first]
            e_q = self.f_q[:, None] * excess[pairs.second]
            r = e_q - e_p
            slope = e_q + e_p
            slope *= 0.5  # -dr / d(du)
            w = 1 / np.sqrt(np.einsum("pkc,pkc->pk", r, r) + CONTENT_EPS ** 2)  # over the colours
            self.s0 += w.sum(axis=1)[:, None]
            self.wr += np.einsum("pk,pkc->pc", w, r)
            weighted = slope * w[..., None]
            self.s1 += weighted.sum(axis=1)
            self.wsr += np.einsum("pkc,pkc->p", weighted, r)
            self.s2 += np.einsum("pkc,pkc->p", weighted, slope)
        step_m = pairs.step(m)
        tv = pairs.step(u) ** 2 + np.einsum("pc,pc->p", step_m, step_m)
        self.v = MARK_WEIGHT / np.sqrt(tv + MARK_EPS ** 2)
        self.s2v = self.s2 + self.v

    def _back(self, pair_u, pair_m, tv_m):
        """Pair terms back onto the pixels: ``u`` and ``m`` parts."""
        p = self.pairs
        to_m = p.to_first @ (self.f_p * pair_m - tv_m) - p.to_second @ (self.f_q * pair_m - tv_m)
        return p.step_adjoint(pair_u), to_m

    def apply(self, du, dm):
        """The Gauss-Newton Hessian (halved) applied to an update ``(du, dm)``."""
        a = self.pairs.step(du)
        dm_p, dm_q = dm[self.pairs.first], dm[self.pairs.second]
        g = self.f_q * dm_q - self.f_p * dm_p  # the residues' change common to all images
        to_u, to_m = self._back(self.s2v * a + np.einsum("pc,pc->p", self.s1, g),
                                -(self.s1 * a[:, None] + self.s0 * g),
                                self.v[:, None] * (dm_q - dm_p))
        return ANCHOR_WEIGHT * du + to_u, ANCHOR_WEIGHT * dm + to_m

    def descent(self, u, m):
        """Minus half the energy's gradient at ``(u, m)``."""
        to_u, to_m = self._back(self.v * self.pairs.step(u) - self.wsr, self.wr,
                                self.v[:, None] * self.pairs.step(m))
        return ANCHOR_WEIGHT * (self.u0 - u) - to_u, ANCHOR_WEIGHT * (self.m0 - m) - to_m

    def diagonal(self):
        """The diagonal of :meth:`apply` (the Jacobi preconditioner)."""
        p, v = self.pairs, self.v[:, None]
        diag_u = ANCHOR_WEIGHT + p.to_first @ self.s2v + p.to_second @ self.s2v
        diag_m = (ANCHOR_WEIGHT + p.to_first @ (self.f_p ** 2 * self.s0 + v)
                  + p.to_second @ (self.f_q ** 2 * self.s0 + v))
        return diag_u, diag_m


def content_energy(images: np.ndarray, alpha: np.ndarray, matte: np.ndarray,
                   support: np.ndarray) -> np.ndarray:
    """Per image, the content term of the energy: how much of the mark its inversion keeps.

    Parameters
    ----------
    images : (K, M, N, C) float ndarray
    alpha : (M, N) float ndarray
    matte : (M, N, C) float ndarray
    support : (M, N) bool ndarray

    Returns
    -------
    energy : (K,) ndarray
        ``sum_(p,q) psi(t_pq * |I_k(q) - I_k(p)|)`` over the pixel pairs
        touching ``support`` (see the module docstring).
    """
    pairs = _Pairs(support)
    free, nodes = pairs.free, pairs.nodes
    u = np.log1p(-np.clip(np.where(free, alpha[nodes], 0), 0, MAX_ALPHA))
    mark = np.where(free[:, None], matte[nodes], 0)
    half = 0.5 * pairs.step(u)[:, None]
    chunk = max(1, CHUNK // (pairs.first.size * images.shape[-1]))
    energy = []
    for k in range(0, len(images), chunk):
        excess = images[k:k + chunk, nodes] - mark
        r = np.exp(-half) * excess[:, pairs.second] - np.exp(half) * excess[:, pairs.first]
        energy.append(np.sqrt(np.einsum("kpc,kpc->kp", r, r) + CONTENT_EPS ** 2).sum(-1))
    return np.concatenate(energy)


def _conjugate_gradient(problem: _GaussNewton, rhs, free: np.ndarray, steps: int):
    """Jacobi-preconditioned CG for ``problem.apply(x) = rhs`` over the ``free`` pixels."""
    free_m = free[:, None]
    diag_u, diag_m = problem.diagonal()
    inv_u, inv_m = free / diag_u, free_m / diag_m
    x_u, x_m = np.zeros_like(rhs[0]), np.zeros_like(rhs[1])
    r_u, r_m = rhs[0] * free, rhs[1] * free_m
    p_u, p_m = inv_u * r_u, inv_m * r_m
    rz = r_u @ p_u + np.vdot(r_m, p_m)
    for _ in range(steps):
        if rz <= 1e-20:
            break
        q_u, q_m = problem.apply(p_u, p_m)
        q_u, q_m = q_u * free, q_m * free_m
        step = rz / (p_u @ q_u + np.vdot(p_m, q_m))
        x_u, x_m = x_u + step * p_u, x_m + step * p_m
        r_u, r_m = r_u - step * q_u, r_m - step * q_m
        z_u, z_m = inv_u * r_u, inv_m * r_m
        rz_new = r_u @ z_u + np.vdot(r_m, z_m)
        p_u, p_m = z_u + (rz_new / rz) * p_u, z_m + (rz_new / rz) * p_m
        rz = rz_new
    return x_u, x_m


def joint_matting(images: np.ndarray, alpha: np.ndarray, matte: np.ndarray,
                  support: np.ndarray, *, steps: int = IRLS_STEPS):
    """Refine a shared mark's opacity and matte jointly over a collection.

    Parameters
    ----------
    images : (K, M, N, C) float ndarray
        The aligned collection, values about in ``[0, 1]``.
    alpha : (M, N) float ndarray
        Initial opacity (e.g. the closed-form estimate).
    matte : (M, N, C) float ndarray
        Initial matte ``a * W``.
    support : (M, N) bool ndarray
        The pixels the mark may cover; the others keep no mark.
    steps : int, optional
        Reweighted Gauss-Newton steps.

    Returns
    -------
    alpha : (M, N) float32 ndarray
        Opacity, 0 outside ``support``.
    matte : (M, N, C) float32 ndarray
        ``a * W``, 0 outside ``support``.

    Notes
    -----
    With fewer than ``MIN_JOINT_IMAGES`` images the initial estimate is
    returned (restricted to ``support``).
    """
    alpha_out = np.zeros(support.shape, np.float32)
    matte_out = np.zeros(matte.shape, np.float32)
    if len(images) < MIN_JOINT_IMAGES or not support.any():
        alpha_out[support] = alpha[support]
        matte_out[support] = matte[support]
        return alpha_out, matte_out
    pairs = _Pairs(support)
    free, nodes = pairs.free, pairs.nodes
    u0 = np.log1p(-np.clip(np.where(free, alpha[nodes], 0), 0, MAX_ALPHA)).astype(np.float32)
    m0 = np.where(free[:, None], matte[nodes], 0).astype(np.float32)
    crop = np.moveaxis(images[:, nodes], 0, 1).astype(np.float32)  # (P, K, C)
    u, m = u0.copy(), m0.copy()
    lowest = np.float32(np.log1p(-MAX_ALPHA))
    for _ in range(steps):
        problem = _GaussNewton(pairs, crop, u, m, u0, m0)
        d_u, d_m = _conjugate_gradient(problem, problem.descent(u, m), free, CG_STEPS)
        u = np.clip(u + d_u, lowest, 0)
        m = m + d_m
    alpha_out[support] = -np.expm1(u[free])
    matte_out[support] = m[free]
    return alpha_out, matte_out
