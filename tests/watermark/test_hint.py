"""remove_watermark given a rough hint (the mark's region grown by a margin): the mark is found
inside the hint and only it is inverted."""

import numpy as np
import pytest
from helpers import psnr, textured
from scipy import ndimage as ndi

import napari_mend as nm
from napari_mend.watermark.hint import margin, mark_in_hint
from napari_mend.watermark.single import remove_single

SIZE = 128


def two_colour_logo(opacity=0.4):
    """A white ring and a dark red bar, soft edges: opacity (M, N) and colour (M, N, 3)."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    r = np.hypot(yy - 50, xx - 50)
    ring = ((r > 16) & (r < 26)).astype(np.float32)
    bar = np.zeros((SIZE, SIZE), np.float32)
    bar[84:96, 30:100] = 1
    colour = np.where(ring[..., None] > 0, np.float32([1, 1, 1]), np.float32([0.6, 0.05, 0.1]))
    alpha = ndi.gaussian_filter(np.maximum(ring, bar), 0.6) * opacity
    return alpha, ndi.gaussian_filter(colour, (0.6, 0.6, 0))


def grow(mask, px):
    return ndi.distance_transform_edt(~mask) <= px


@pytest.mark.parametrize("seed", [2, 3, 7])
def test_rough_hint_recovers_a_two_colour_logo(seed):
    clean = textured(seed, SIZE)
    alpha, colour = two_colour_logo()
    marked = (alpha[..., None] * colour + (1 - alpha[..., None]) * clean).astype(np.float32)
    region = alpha > 0.01
    hint = grow(region, 6)
    original = marked.copy()
    out = nm.remove_watermark(marked, mask=hint, channel_axis=-1, fill="telea")
    old, _ = remove_single(marked, hint, fill="telea")
    assert np.array_equal(marked, original)  # input untouched
    assert np.array_equal(out[~hint], marked[~hint])  # bit-identical outside the hint
    before = psnr(clean, marked, region)
    gain, old_gain = psnr(clean, out, region) - before, psnr(clean, old, region) - before
    assert gain >= 6, (gain, old_gain)
    assert gain > old_gain + 1, (gain, old_gain)


def test_margin_is_found_for_a_grown_hint_and_not_for_the_exact_region():
    clean = textured(5, SIZE)
    alpha, colour = two_colour_logo()
    marked = alpha[..., None] * colour + (1 - alpha[..., None]) * clean
    region = alpha > 0.01
    assert margin(marked, grow(region, 6)) in (6, 7)
    assert margin(marked, region) == 0
    assert np.array_equal(mark_in_hint(marked, region), region)
    found = mark_in_hint(marked, grow(region, 6))
    assert (found & region).sum() / (found | region).sum() > 0.8


def test_margin_looks_only_near_the_hint():
    """The same mark and hint placed in a larger image of other busy content: same margin and
    mark (the work is confined to the hint's surroundings), and an empty hint has none."""
    clean = textured(5, SIZE)
    alpha, colour = two_colour_logo()
    marked = alpha[..., None] * colour + (1 - alpha[..., None]) * clean
    hint = grow(alpha > 0.01, 6)
    big = textured(9, 3 * SIZE)
    big[SIZE:2 * SIZE, :SIZE] = marked  # at the left edge, far from the other three sides
    big_hint = np.zeros(big.shape[:2], bool)
    big_hint[SIZE:2 * SIZE, :SIZE] = hint
    assert margin(big, big_hint) == margin(marked, hint) > 0
    assert np.array_equal(mark_in_hint(big, big_hint)[SIZE:2 * SIZE, :SIZE],
                          mark_in_hint(marked, hint))
    assert margin(marked, np.zeros(hint.shape, bool)) == 0


def test_rectangle_hint_and_dtypes_keep_the_contract():
    clean = textured(4, SIZE)
    alpha, colour = two_colour_logo()
    marked = alpha[..., None] * colour + (1 - alpha[..., None]) * clean
    box = np.zeros((SIZE, SIZE), bool)
    box[10:110, 10:115] = True
    image = np.round(marked * 255).astype(np.uint8)
    out = nm.remove_watermark(image, mask=box, channel_axis=-1)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(out[~box], image[~box])
    gray = nm.remove_watermark(image[..., 0], mask=grow(alpha > 0.01, 6))
    assert gray.dtype == np.uint8 and gray.shape == image.shape[:2]
