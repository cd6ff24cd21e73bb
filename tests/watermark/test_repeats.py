"""A mark tiled across one image (``watermark.repeats``): its copies, each over other content,
act as a collection, so the mark comes off better than from one copy's surroundings."""

import numpy as np
import pytest
from helpers import psnr, textured
from scipy import ndimage as ndi

import napari_mend as nm
from napari_mend.watermark import api
from napari_mend.watermark.repeats import copy_shifts, lattice, remove_repeated

SHAPE = (192, 256)


def tile_alpha(step=(40, 50), stagger=25, opacity=0.4):
    """A two-bar emblem (18 x 22 px) on a staggered lattice, soft-edged."""
    unit = np.zeros((18, 22), np.float32)
    unit[:, :6] = 1
    unit[6:12, :] = 1
    cover = np.zeros(SHAPE, np.float32)
    for row, y in enumerate(range(4, SHAPE[0] - 18, step[0])):
        for x in range(3 + stagger * (row % 2), SHAPE[1] - 22, step[1]):
            cover[y:y + 18, x:x + 22] = unit
    return ndi.gaussian_filter(cover, 0.5) * opacity


def busy(seed, channels=3):
    """Smooth shapes with fine grain over them: different under every copy."""
    rng = np.random.default_rng(seed)
    grain = ndi.gaussian_filter(rng.normal(size=SHAPE + (channels,)), (1.2, 1.2, 0))
    grain /= np.abs(grain).max()
    smooth = textured(seed, max(SHAPE), channels=channels)[:SHAPE[0], :SHAPE[1]]
    return np.clip(0.6 * smooth + 0.2 + 0.25 * grain, 0, 1).astype(np.float32)


def marked(seed, colour=(0.95, 0.9, 0.2), **tiling):
    clean = busy(seed)
    alpha = tile_alpha(**tiling)[..., None]
    image = (alpha * np.float32(colour) + (1 - alpha) * clean).astype(np.float32)
    return clean, image, alpha[..., 0] > 0.01


def test_lattice_of_a_staggered_tiling_and_of_a_single_mark():
    region = tile_alpha() > 0.01
    basis = lattice(region)
    assert len(basis) == 2
    lat = {tuple(v) for v in basis} | {(-a, -b) for a, b in basis}
    assert {(40, 25), (40, -25)} <= lat or {(40, 25), (0, 50)} <= lat or {(40, -25), (0, 50)} <= lat
    # every shift is a lattice point, the nearest first
    shifts = copy_shifts(basis, region.shape)
    assert np.hypot(*shifts[0]) <= np.hypot(*shifts[-1])
    one = np.zeros(SHAPE, bool)
    one[60:100, 40:200] = True
    assert lattice(one) == []
    assert lattice(np.zeros(SHAPE, bool)) == [] and lattice(np.ones(SHAPE, bool)) == []


@pytest.mark.parametrize("seed", [0, 3])
def test_copies_recover_a_tiled_mark_better_than_one_copy(seed, monkeypatch):
    clean, image, region = marked(seed)
    with_copies = nm.remove_watermark(image, mask=region, channel_axis=-1, method="single")
    monkeypatch.setattr(api, "REPEAT_SHARE", 0.0)
    without = nm.remove_watermark(image, mask=region, channel_axis=-1, method="single")
    before = psnr(image, clean, region)
    gain_with, gain_without = psnr(with_copies, clean, region) - before, psnr(without, clean, region) - before
    assert gain_with > gain_without + 1.5
    # pixels outside the mark are the input's, and the input is untouched
    assert np.array_equal(with_copies[~region], image[~region])


def test_remove_repeated_leaves_a_mark_that_does_not_repeat():
    clean = busy(5)
    alpha = np.zeros(SHAPE, np.float32)
    alpha[50:120, 60:180] = 0.35
    image = (alpha[..., None] * 0.9 + (1 - alpha[..., None]) * clean).astype(np.float32)
    assert remove_repeated(image, alpha > 0) is None
    _, provenance = nm.remove_watermark(image, mask=alpha > 0, channel_axis=-1,
                                        method="single", return_provenance=True)
    assert provenance["parameters"]["repeated_mark_planes"] == []


def test_repeated_marks_are_recorded_per_plane_and_gray_uint8_works():
    clean, image, region = marked(1)
    gray = np.stack([image.mean(-1), clean.mean(-1)])  # plane 0 marked, plane 1 clean
    data = np.round(gray * 255).astype(np.uint8)
    masks = np.stack([region, np.zeros_like(region)])
    out, provenance = nm.remove_watermark(data, mask=masks, method="single",
                                          return_provenance=True)
    assert out.dtype == np.uint8 and out.shape == data.shape
    assert provenance["parameters"]["repeated_mark_planes"] == [0]
    truth = np.round(clean.mean(-1) * 255) / 255
    assert psnr(out[0] / 255, truth, region) > psnr(data[0] / 255, truth, region) + 6
    assert np.array_equal(out[1], data[1])


def test_large_marks_are_estimated_window_by_window(monkeypatch):
    from napari_mend.watermark import repeats

    clean, image, region = marked(2)
    whole = remove_repeated(image, region)
    monkeypatch.setattr(repeats, "WINDOW", 128)  # several windows over the 192 x 256 plane
    windows = []
    original = repeats.repeated_mark
    monkeypatch.setattr(repeats, "repeated_mark",
                        lambda unit, mask: windows.append(mask.shape) or original(unit, mask))
    windowed = remove_repeated(image, region)
    assert len(windows) > 1 and all(max(shape) <= 128 for shape in windows)
    before = psnr(image, clean, region)
    assert psnr(windowed, clean, region) > before + 6
    assert psnr(whole, clean, region) > before + 6
    assert np.array_equal(windowed[~region], image[~region])
