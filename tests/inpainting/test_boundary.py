"""Boundary matching of predicted fills: harmonic interpolation of the prediction's error."""

import numpy as np
import pytest

from napari_mend.inpainting.boundary import harmonic_fill, match_boundary


def _hole(shape=(60, 80)):
    hole = np.zeros(shape, bool)
    hole[10:40, 20:45] = True  # a box
    hole[50, 5:70] = True  # a thin line
    hole[:, 78:] = True  # a band touching three edges of the array
    return hole


def test_harmonic_fill_reproduces_linear_ramps():
    """Linear functions are harmonic: interpolating one into any hole gives it back."""
    yy, xx = np.mgrid[:60, :80].astype(np.float64)
    ramp = np.stack([0.3 * yy - 0.2 * xx, 2.0 + 0.01 * xx], axis=-1)
    hole = _hole()
    garbage = np.where(hole[..., None], 1e6, ramp)
    filled = harmonic_fill(garbage, hole)
    assert np.array_equal(filled[~hole], ramp[~hole])
    # the band along the right edge has no known pixel beyond it (no flux there): the ramp
    # along x cannot be continued past the last known column, so compare the rest
    inner = hole.copy()
    inner[:, 78:] = False
    np.testing.assert_allclose(filled[inner], ramp[inner], atol=1e-3)


def test_harmonic_fill_stays_within_its_boundary_values():
    rng = np.random.default_rng(0)
    values = rng.random((50, 50, 3))
    hole = np.zeros((50, 50), bool)
    hole[5:45, 5:45] = True
    filled = harmonic_fill(values, hole)
    ring = np.zeros_like(hole)
    ring[4:46, 4:46] = True
    ring &= ~hole
    for c in range(3):  # maximum principle
        assert values[ring, c].min() - 1e-9 <= filled[hole, c].min()
        assert filled[hole, c].max() <= values[ring, c].max() + 1e-9


def test_match_boundary_removes_a_smooth_offset_of_the_prediction():
    """A prediction off by a smooth field (a seam at the outline) comes back exact."""
    rng = np.random.default_rng(1)
    truth = rng.random((60, 80, 3)).astype(np.float32)
    hole = _hole()
    hole[:, 78:] = False
    yy, xx = np.mgrid[:60, :80]
    offset = (0.05 + 0.002 * yy - 0.001 * xx)[..., None] * np.array([1.0, -2.0, 0.5])
    prediction = truth + offset
    image = np.where(hole[..., None], 0, truth).astype(np.float32)
    matched = match_boundary(prediction, image, hole)
    assert matched.dtype == np.float32
    assert np.array_equal(matched[~hole], image[~hole])
    np.testing.assert_allclose(matched[hole], truth[hole], atol=1e-4)
    # without matching, the offset stays
    assert np.abs(prediction[hole] - truth[hole]).mean() > 0.03


def test_match_boundary_keeps_a_prediction_exact_on_the_outline():
    rng = np.random.default_rng(2)
    image = rng.random((40, 40, 1)).astype(np.float32)
    hole = np.zeros((40, 40), bool)
    hole[10:30, 12:25] = True
    prediction = image.copy()
    prediction[hole] = rng.random((int(hole.sum()), 1))
    matched = match_boundary(prediction, image, hole)
    np.testing.assert_allclose(matched[hole], prediction[hole], atol=1e-6)


@pytest.mark.parametrize("fill", [True, False])
def test_match_boundary_with_nothing_to_match(fill):
    """A hole covering everything has no known pixel; an empty hole has nothing to fill."""
    prediction = np.full((8, 9, 3), 0.25, np.float32)
    image = np.zeros((8, 9, 3), np.float32)
    hole = np.full((8, 9), fill)
    out = match_boundary(prediction, image, hole)
    assert np.array_equal(out, prediction if fill else image)


def test_max_error_keeps_missed_defect_pixels_from_spreading_inwards():
    """A known pixel far off the prediction (a defect pixel the mask missed) counts only up to
    ``max_error``; smaller errors count in full."""
    image = np.full((40, 40, 1), 0.5, np.float32)
    hole = np.zeros((40, 40), bool)
    hole[10:30, 10:30] = True
    image[9, 10:30] = 1.0  # the defect's leftover row along the hole's top edge
    prediction = np.full_like(image, 0.5)
    free = match_boundary(prediction, image, hole)
    limited = match_boundary(prediction, image, hole, max_error=0.1)
    assert free[hole].max() > 0.5 + 0.3  # carried in: up to about 0.5 above the truth
    assert limited[hole].max() <= 0.5 + 0.1 + 1e-6
    assert np.abs(limited[hole] - 0.5).mean() < 0.25 * np.abs(free[hole] - 0.5).mean()
    small = prediction - 0.05  # an offset within the limit is removed as without it
    np.testing.assert_allclose(match_boundary(small, image * 0 + 0.5, hole, max_error=0.1)[hole],
                               0.5, atol=1e-4)


def test_large_holes_are_solved_iteratively_to_the_same_result():
    """Above ``direct_max`` pixels the conjugate-gradient solve gives the exact solve's values."""
    rng = np.random.default_rng(3)
    values = rng.random((90, 70, 2))
    hole = _hole((90, 70))
    exact = harmonic_fill(values, hole)
    iterative = harmonic_fill(values, hole, direct_max=100)
    np.testing.assert_allclose(iterative, exact, atol=1e-6)
    assert np.array_equal(iterative[~hole], values[~hole])
