"""One painted copy of a mark stamped over an image (``watermark.copies``): the other copies
are found from it, and the mark, estimated from them all, comes off every copy."""

import numpy as np
import pytest
from helpers import psnr, textured
from scipy import ndimage as ndi

import napari_mend as nm
from napari_mend.watermark.copies import find_copies
from napari_mend.watermark.hint import mark_in_hint

SHAPE = (192, 256)
PLACES = [(14, 20), (22, 150), (84, 64), (120, 190), (146, 18), (150, 112)]


def emblem():
    """A ring beside a bar (26 x 34 px), soft-edged coverage."""
    yy, xx = np.mgrid[:26, :34]
    ring = np.abs(np.hypot(yy - 12.5, xx - 12.5) - 9) < 3
    bar = (xx >= 26) & (xx < 32) & (yy >= 2) & (yy < 24)
    return ndi.gaussian_filter((ring | bar).astype(np.float32), 0.6)


def stamped(seed=0, places=PLACES, opacity=0.45, colour=(0.95, 0.95, 0.9)):
    """A textured image with the emblem stamped at ``places``: clean, marked, every copy's
    region and the first copy's."""
    clean = textured(seed, max(SHAPE))[:SHAPE[0], :SHAPE[1]]
    cover = np.zeros(SHAPE, np.float32)
    unit = emblem()
    for y, x in places:
        cover[y:y + unit.shape[0], x:x + unit.shape[1]] = unit
    alpha = (cover * opacity)[..., None]
    image = (alpha * np.float32(colour) + (1 - alpha) * clean).astype(np.float32)
    region = cover > 0.02
    first = np.zeros(SHAPE, bool)
    first[places[0][0]:places[0][0] + unit.shape[0], places[0][1]:places[0][1] + unit.shape[1]] = True
    return clean, image, region, region & first


def grown(mask, pixels=6):
    return ndi.distance_transform_edt(~mask) <= pixels


def test_finds_the_other_copies_from_one_painted_copy():
    _, image, _, painted = stamped()
    mark = mark_in_hint(image, grown(painted))
    found = find_copies(image, mark)
    shifts = [shift for shift, _ in found]
    truth = [(y - PLACES[0][0], x - PLACES[0][1]) for y, x in PLACES[1:]]
    assert len(shifts) == len(truth)
    for dy, dx in truth:
        assert min(np.hypot(dy - sy, dx - sx) for sy, sx in shifts) <= 1.0
    assert all(0 < score <= 1 for _, score in found)


def test_no_copies_of_a_mark_that_is_not_repeated():
    _, image, _, painted = stamped(places=PLACES[:1])
    hint = grown(painted)
    assert find_copies(image, mark_in_hint(image, hint)) == []
    with_option, provenance = nm.remove_watermark(image, mask=hint, channel_axis=-1,
                                                  find_copies=True, return_provenance=True)
    without = nm.remove_watermark(image, mask=hint, channel_axis=-1)
    assert provenance["parameters"]["copies"] == []
    assert np.array_equal(with_option, without)


def test_every_copy_comes_off_better_than_with_the_painted_copy_alone():
    clean, image, region, painted = stamped(1)
    kept = image.copy()
    hint = grown(painted)
    alone = nm.remove_watermark(image, mask=hint, channel_axis=-1, method="single")
    out, changed, provenance = nm.remove_watermark(
        image, mask=hint, channel_axis=-1, method="single", find_copies=True,
        return_mask=True, return_provenance=True)
    assert np.array_equal(image, kept)
    before = psnr(image, clean, region)
    assert psnr(out, clean, region) > before + 20
    assert psnr(out, clean, region) > psnr(alone, clean, region) + 15
    for y, x in PLACES:  # each copy on its own
        copy = np.zeros(SHAPE, bool)
        copy[y:y + 26, x:x + 34] = True
        assert psnr(out, clean, region & copy) > psnr(image, clean, region & copy) + 15
    # the changed pixels are the copies', all reported; the rest is the input's
    assert np.array_equal(np.any(out != image, axis=-1), np.any(out != image, axis=-1) & changed)
    assert np.array_equal(out[~changed], image[~changed])
    assert (changed & region).sum() > 0.9 * region.sum()
    copies = provenance["parameters"]["copies"]
    assert len(copies) == len(PLACES) - 1
    assert all(set(c) == {"plane", "shift", "score"} and c["plane"] == 0 for c in copies)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("gray", [False, True])
def test_dtype_shape_and_leading_planes_kept(dtype, gray):
    _, image, region, painted = stamped(2)
    if gray:
        image = image.mean(-1)
    if dtype == np.uint8:
        image = np.round(image * 255).astype(np.uint8)
    stack = np.stack([image, image])
    kept = stack.copy()
    out, changed = nm.remove_watermark(stack, mask=grown(painted), method="single",
                                       channel_axis=None if gray else -1, find_copies=True,
                                       return_mask=True)
    assert out.shape == stack.shape and out.dtype == stack.dtype
    assert np.array_equal(stack, kept)
    assert (changed[1] & region).sum() > 0.9 * region.sum()
    assert np.array_equal(out[0], out[1])


def test_bad_requests_say_what_to_do():
    _, image, _, painted = stamped()
    with pytest.raises(ValueError, match="needs mask="):
        nm.remove_watermark(image, channel_axis=-1, find_copies=True)
    with pytest.raises(ValueError, match="method='single'"):
        nm.remove_watermark(np.stack([image] * 4), mask=painted, channel_axis=-1,
                            find_copies=True)
    with pytest.raises(ValueError, match="method='single'"):
        nm.remove_watermark(np.stack([image] * 2), mask=painted, channel_axis=-1,
                            method="collection", find_copies=True)


def test_windowed_search_finds_the_same_copies(monkeypatch):
    """Large planes are scored window by window: the windows give the whole plane's copies."""
    from napari_mend.watermark import copies

    _, image, _, painted = stamped(3)
    whole = find_copies(image, painted)
    monkeypatch.setattr(copies, "SEARCH_WINDOW", 40)  # windows of twice the mark's box
    windowed = find_copies(image, painted)
    assert len(whole) == len(PLACES) - 1
    assert np.allclose([s for s, _ in windowed], [s for s, _ in whole], atol=1e-3)


def test_unwatermark_cli_finds_the_copies_of_one_painted_copy(tmp_path, capsys):
    from skimage.io import imsave

    from napari_mend.cli.main import main
    from napari_mend.io.tiff import read_image_tiff

    clean, image, region, painted = stamped(1)
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    imsave(folder / "stamped.png", np.round(image * 255).astype(np.uint8), check_contrast=False)
    imsave(tmp_path / "mark.png", grown(painted).astype(np.uint8) * 255, check_contrast=False)
    args = ["unwatermark", str(folder), "-o", str(out), "--mask", str(tmp_path / "mark.png")]
    assert main(args + ["--find-copies"]) == 0
    data, prov = read_image_tiff(out / "stamped.tif")
    assert psnr(data / 255.0, clean, region) > psnr(image, clean, region) + 15
    assert prov["parameters"]["find_copies"] is True and prov["method"] == "single"
    assert len(prov["parameters"]["copies"]) == len(PLACES) - 1
    assert main(["unwatermark", str(folder), "-o", str(tmp_path / "o2"), "--find-copies"]) == 2
    assert "--find-copies needs --mask" in capsys.readouterr().err
    assert main(args[:3] + [str(tmp_path / "o3")] + args[4:]
                + ["--find-copies", "--method", "collection"]) == 2
    assert "not collection" in capsys.readouterr().err
