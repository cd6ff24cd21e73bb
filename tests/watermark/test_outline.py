"""A wide mark's opacity and colour from its outline (``watermark.single.outline_mark``):
no guess of the content under it is needed, so busy content does not throw it off."""

import numpy as np
import pytest
from helpers import psnr, textured
from scipy import ndimage as ndi

from napari_mend.watermark import single
from napari_mend.watermark.single import outline_mark, remove_single

SIZE = 128


def wide_mark(colours, opacity):
    """A soft-edged 60 x 80 block, its left half of ``colours[0]``, its right of ``colours[1]``."""
    block = np.zeros((SIZE, SIZE), np.float32)
    block[30:90, 24:104] = 1
    alpha = ndi.gaussian_filter(block, 0.6) * opacity
    colour = np.empty((SIZE, SIZE, 3), np.float32)
    colour[:, :64], colour[:, 64:] = colours
    return alpha, colour


def busy(seed):
    """Gravel-like content: the smooth ``textured`` image with fine grain over it."""
    grain = ndi.gaussian_filter(np.random.default_rng(seed).normal(size=(SIZE, SIZE, 3)),
                                (1.2, 1.2, 0))
    grain /= np.abs(grain).max()
    return np.clip(0.6 * textured(seed, SIZE) + 0.2 + 0.25 * grain, 0, 1).astype(np.float32)


def marked_image(seed, colours, opacity=0.35):
    clean = busy(seed)
    alpha, colour = wide_mark(colours, opacity)
    marked = (alpha[..., None] * colour + (1 - alpha[..., None]) * clean).astype(np.float32)
    return clean, marked, alpha > 0.01


@pytest.mark.parametrize("seed", [1, 4])
def test_outline_gives_the_opacity_and_colour_of_a_mid_tone_mark(seed):
    grey = np.float32([0.5, 0.5, 0.5])
    _, marked, region = marked_image(seed, (grey, grey))
    a, colour = outline_mark(marked, region)
    assert abs(a - 0.35) < 0.08
    assert np.abs(np.median(colour[region], axis=0) - grey).max() < 0.1


def test_outline_gives_each_part_of_a_two_colour_mark_its_own_colour():
    white, red = np.float32([1, 1, 1]), np.float32([0.7, 0.1, 0.1])
    _, marked, region = marked_image(3, (white, red))
    _, colour = outline_mark(marked, region)
    left, right = region.copy(), region.copy()
    left[:, 50:], right[:, :78] = False, False
    assert np.abs(np.median(colour[left], axis=0) - white).max() < 0.15
    assert np.abs(np.median(colour[right], axis=0) - red).max() < 0.15


def test_thin_marks_and_smooth_content_have_no_outline_estimate():
    region = np.zeros((SIZE, SIZE), bool)
    region[60:64, 10:118] = True  # 4 px wide: no core
    assert outline_mark(busy(2), region) is None
    region[40:90, 10:118] = True  # wide, but over smooth content the fill is trusted
    ramp = np.broadcast_to(np.linspace(0.2, 0.8, SIZE, dtype=np.float32)[None, :, None],
                           (SIZE, SIZE, 3))
    assert outline_mark(ramp, region) is None
    assert outline_mark(busy(2), region) is not None


@pytest.mark.parametrize("seed", [1, 4, 6])
def test_wide_mark_over_texture_comes_back_better_with_its_outline(seed, monkeypatch):
    grey = np.float32([0.5, 0.5, 0.5])
    clean, marked, region = marked_image(seed, (grey, grey))
    with_outline, _ = remove_single(marked, region, fill="telea")
    monkeypatch.setattr(single, "OUTLINE_MIN_PAIRS", 10**9)  # the fill-based estimate alone
    without, _ = remove_single(marked, region, fill="telea")
    before = psnr(clean, marked, region)
    gain, old_gain = psnr(clean, with_outline, region) - before, psnr(clean, without, region) - before
    assert gain > old_gain + 1, (gain, old_gain)
    assert np.array_equal(with_outline[~region], marked[~region])


def test_a_misjudged_inversion_leaves_a_ghost_and_is_filled(monkeypatch):
    """``ghosted``: content recovered right has no edge along the mark's outline; a wrong
    opacity leaves one. ``remove_single`` then fills the mark instead of keeping the ghost."""
    smooth = ndi.gaussian_filter(np.random.default_rng(3).normal(size=(SIZE, SIZE, 3)), (6, 6, 0))
    clean = (0.45 + 0.25 * smooth / np.abs(smooth).max()).astype(np.float32)  # gentle content
    alpha, colour = wide_mark([(0.95, 0.95, 0.95)] * 2, 0.5)
    a = alpha[..., None]
    marked = (a * colour + (1 - a) * clean).astype(np.float32)
    region = alpha > 0.01
    assert not single.ghosted(clean, region)  # the content itself: no ghost
    assert single.ghosted(marked, region)  # the mark left in: its outline stands out
    # a third of the opacity inverted: a ghost of the outline remains
    third = a / 3
    wrong = np.where(region[..., None], (marked - third * colour) / (1 - third), marked)
    assert single.ghosted(wrong, region)

    def misjudged(plane, mask, background):  # an estimate far too faint
        faint = np.where(mask, 0.05, 0).astype(np.float32)
        return faint, faint[..., None] * np.float32(0.95)

    monkeypatch.setattr(single, "estimate_mark", misjudged)
    monkeypatch.setattr(single, "OUTLINE_MIN_PAIRS", 1 << 62)  # no outline estimate either
    filled, _ = remove_single(marked, region, fill="telea")
    monkeypatch.setattr(single, "GHOST_RATIO", float("inf"))  # the test off
    kept, _ = remove_single(marked, region, fill="telea")
    assert psnr(filled, clean, region) > psnr(kept, clean, region) + 2
