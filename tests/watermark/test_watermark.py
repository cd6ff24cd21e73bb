"""remove_watermark: single image and collection (joint matting), dtypes, stacks, bad input; the
unwatermark CLI."""

from functools import partial

import numpy as np
import pytest
import tifffile
from helpers import psnr, textured
from scipy import ndimage as ndi

import napari_mend as nm
from napari_mend.watermark import NoCommonMark, estimate_collection, remove_collection
from napari_mend.watermark.collection import gradients, poisson_integrate
from napari_mend.watermark.joint_matting import content_energy, joint_matting
from napari_mend.watermark.matting import invert

SIZE = 72
content = partial(textured, size=SIZE)
"""Textured content in [0.05, 0.95], (SIZE, SIZE, channels): ``content(seed, channels=3)``."""


def mark_alpha(opacity, *, shift=(0, 0)):
    """A flat block letter 'H' with soft edges, peak opacity ``opacity``."""
    a = np.zeros((SIZE, SIZE), np.float32)
    a[18:54, 14:24] = 1
    a[18:54, 48:58] = 1
    a[32:40, 14:58] = 1
    a = ndi.gaussian_filter(a, 0.6)
    return np.roll(a * opacity, shift, axis=(0, 1))


def composite(image, alpha, colour):
    a = alpha[..., None]
    return (a * np.asarray(colour, np.float32) + (1 - a) * image).astype(np.float32)


def test_single_image_recovers_content_and_keeps_other_pixels():
    clean = content(1)
    alpha = mark_alpha(0.4)
    marked = composite(clean, alpha, [1.0, 1.0, 1.0])
    mask = alpha > 0.02
    before = marked.copy()
    out = nm.remove_watermark(marked, mask=mask, channel_axis=-1, fill="telea")
    assert np.array_equal(marked, before)  # input untouched
    assert np.array_equal(out[~mask], marked[~mask])
    assert psnr(out, clean) > psnr(marked, clean) + 8
    telea = nm.inpaint(marked, mask, channel_axis=-1, method="telea")
    assert psnr(out, clean) > psnr(telea, clean)


def test_single_image_works_on_the_marks_surroundings_only(monkeypatch):
    """A small mark in a large image: removing it within its surroundings (REACH px round its
    bounding box) gives what working on the whole plane gives."""
    from napari_mend.watermark import single

    big = np.tile(content(3, channels=3), (4, 4, 1))  # 288 x 288
    alpha = np.zeros(big.shape[:2], np.float32)
    alpha[100:172, 180:252] = mark_alpha(0.4)
    marked = (alpha[..., None] * 0.9 + (1 - alpha[..., None]) * big).astype(np.float32)
    mask = alpha > 0.01
    near, near_alpha = single.remove_single(marked, mask, fill="telea")
    monkeypatch.setattr(single, "REACH", 10**6)  # the whole plane
    whole, whole_alpha = single.remove_single(marked, mask, fill="telea")
    # the same up to the quick fill's 16-bit quantisation of its own input's range
    assert np.abs(near - whole).max() < 1e-4
    assert np.abs(near_alpha - whole_alpha).max() < 1e-3
    assert near_alpha.dtype == np.float32 and near_alpha.shape == mask.shape
    assert psnr(big, near, mask) > psnr(big, marked, mask) + 3


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_single_image_dtypes_gray(dtype):
    clean = content(2, channels=1)[..., 0]
    alpha = mark_alpha(0.35)
    marked = composite(clean[..., None], alpha, [0.0])[..., 0]
    if np.dtype(dtype).kind == "u":
        marked = np.round(marked * np.iinfo(dtype).max).astype(dtype)
        scale = np.iinfo(dtype).max
    else:
        marked = marked.astype(dtype)
        scale = 1.0
    out, changed = nm.remove_watermark(marked, mask=alpha > 0.02, fill="telea", return_mask=True)
    assert out.dtype == marked.dtype and out.shape == marked.shape
    assert np.array_equal(changed, alpha > 0.02)
    assert psnr(out / scale, clean) > psnr(marked / scale, clean) + 5


def test_single_image_any_value_range_and_channel_axis_first():
    unit = content(3)
    alpha = mark_alpha(0.4)
    reference = nm.remove_watermark(composite(unit, alpha, [0.95] * 3), mask=alpha > 0.02,
                                    channel_axis=-1, fill="telea")
    clean = unit * 1000.0 - 200.0  # e.g. calibrated units; the mark is the range's white
    marked = composite(clean, alpha, [750.0] * 3)
    chw = np.moveaxis(marked, -1, 0)
    out = nm.remove_watermark(chw, mask=alpha > 0.02, channel_axis=0, fill="telea")
    assert out.shape == chw.shape
    out = np.moveaxis(out, 0, -1)
    assert np.allclose((out + 200.0) / 1000.0, reference, atol=2e-3)
    assert np.abs(out - clean).mean() < 0.6 * np.abs(marked - clean).mean()


def test_fully_opaque_mark_is_inpainted():
    clean = content(4)
    alpha = (mark_alpha(1.0) > 0.5).astype(np.float32)
    marked = composite(clean, alpha, [1.0, 0.0, 0.0])
    mask = alpha > 0
    out = nm.remove_watermark(marked, mask=mask, channel_axis=-1, fill="telea")
    assert np.isfinite(out).all()
    # nothing of the red mark is left: the fill comes from the surroundings
    assert np.abs(out[mask] - [1.0, 0.0, 0.0]).sum(-1).min() > 0.05
    telea = nm.inpaint(marked, mask, channel_axis=-1, method="telea")
    assert psnr(out, clean) > psnr(telea, clean) - 0.5


def test_single_method_treats_planes_separately():
    alpha = mark_alpha(0.4)
    stack = np.stack([composite(content(s), alpha, [1, 1, 1]) for s in (5, 6)])
    masks = np.stack([alpha > 0.02, np.zeros_like(alpha, bool)])
    out = nm.remove_watermark(stack, mask=masks, channel_axis=-1, method="single", fill="telea")
    assert out.shape == stack.shape
    assert np.array_equal(out[1], stack[1])  # no mark in the second plane: untouched
    assert not np.array_equal(out[0], stack[0])


def collection(n, opacity=0.35, *, shifts=None, colour=(1.0, 1.0, 1.0)):
    clean = np.stack([content(10 + k) for k in range(n)])
    shifts = shifts or [(0, 0)] * n
    marked = np.stack([composite(clean[k], mark_alpha(opacity, shift=shifts[k]), colour)
                       for k in range(n)])
    return clean, marked


def test_collection_beats_single_images_and_finds_the_mark():
    clean, marked = collection(8)
    mask = mark_alpha(0.35) > 0.02
    found, changed = nm.remove_watermark(marked, channel_axis=-1, fill="telea", return_mask=True)
    assert changed.shape == marked.shape[:3]
    # the mark was found where it is, and only there (up to a small margin)
    assert changed[0][mask].mean() > 0.95
    assert not (changed[0] & ~ndi.binary_dilation(mask, iterations=4)).any()
    given = nm.remove_watermark(marked, mask=mask, channel_axis=-1, fill="telea")
    single = nm.remove_watermark(marked, mask=mask, channel_axis=-1, method="single", fill="telea")
    mean = lambda out: np.mean([psnr(out[k], clean[k]) for k in range(len(clean))])
    assert mean(found) > mean(marked) + 10
    assert mean(given) > mean(single)
    for k in range(len(clean)):
        assert np.array_equal(found[k][~changed[k]], marked[k][~changed[k]])


def test_collection_aligns_marks_that_move():
    shifts = [(0, 0), (1, -2), (-2, 1), (2, 2), (0, -1), (-1, 0), (1, 1), (2, -1)]
    clean, marked = collection(8, shifts=shifts)
    out = nm.remove_watermark(marked, channel_axis=-1, fill="telea", max_shift=3)
    mask = np.any([mark_alpha(0.35, shift=s) > 0.02 for s in shifts], axis=0)
    still = nm.remove_watermark(marked, mask=mask, channel_axis=-1, fill="telea", max_shift=0)
    mean = lambda o: np.mean([psnr(o[k], clean[k]) for k in range(len(clean))])
    assert mean(out) > mean(marked) + 6
    assert mean(out) > mean(still)


def test_collection_without_a_common_mark_changes_nothing():
    clean = np.stack([content(20 + k) for k in range(6)])
    with pytest.raises(NoCommonMark, match="no watermark common"):
        nm.remove_watermark(clean, channel_axis=-1)
    with pytest.raises(ValueError, match="too few"):
        nm.remove_watermark(clean[:2], channel_axis=-1, method="collection")


def test_images_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        nm.remove_watermark([np.zeros((20, 20)), np.zeros((20, 24))])


def test_bad_method_and_mask_shape():
    image = content(7)
    with pytest.raises(ValueError, match="unknown method"):
        nm.remove_watermark(image, mask=np.ones((SIZE, SIZE), bool), channel_axis=-1,
                            method="magic")
    with pytest.raises(ValueError, match="shape"):
        nm.remove_watermark(image, mask=np.ones((5, 5), bool), channel_axis=-1)


def test_poisson_integration_recovers_an_image_from_its_gradients():
    rng = np.random.default_rng(0)
    image = ndi.gaussian_filter(rng.random((40, 50, 1)), (3, 3, 0)).astype(np.float32)
    gy, gx = gradients(image)
    back = poisson_integrate(gy, gx)
    assert np.allclose(back - back.mean(), image - image.mean(), atol=1e-4)


def image_folder(tmp_path, images):
    """``images`` in [0, 1] saved as ``in/img<k>.png``; returns that folder and an empty ``out``."""
    from skimage.io import imsave

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    for k, image in enumerate(images):
        imsave(folder / f"img{k}.png", np.round(image * 255).astype(np.uint8), check_contrast=False)
    return folder, out


def test_unwatermark_cli_writes_every_image(tmp_path):
    from skimage.io import imsave

    from napari_mend.cli.main import main
    from napari_mend.io.tiff import read_image_tiff

    _, marked = collection(5)
    folder, out = image_folder(tmp_path, marked)
    assert main(["unwatermark", str(folder), "-o", str(out), "--fill", "telea"]) == 0
    written = sorted(out.glob("*.tif"))
    assert [p.stem for p in written] == [f"img{k}" for k in range(5)]
    data, prov = read_image_tiff(written[0])
    assert data.dtype == np.uint8 and data.shape == (SIZE, SIZE, 3)
    assert prov["operation"] == "remove_watermark" and prov["mask"]["changed_pixels"] > 0
    # refuses to overwrite, and refuses images of different sizes
    assert main(["unwatermark", str(folder), "-o", str(out)]) == 2
    imsave(folder / "odd.png", np.zeros((10, 12), np.uint8), check_contrast=False)
    assert main(["unwatermark", str(folder), "-o", str(out), "--overwrite"]) == 2


def test_unwatermark_cli_needs_a_mask_for_single_images(tmp_path, capsys):
    """Fewer images than a collection, or --method single, without --mask: refused before any
    work (the detector's watermark class is not mended unattended); a checked defects file
    as --mask gives the mark by its watermark class alone."""
    from napari_mend.classes import CLASS_IDS
    from napari_mend.cli.main import main

    clean, marked = collection(2)
    folder, out = image_folder(tmp_path, marked)
    assert main(["unwatermark", str(folder), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2 image(s) and no --mask" in err and "napari-mend detect" in err
    assert not list(out.iterdir())
    assert main(["unwatermark", str(folder), "-o", str(out), "--method", "single"]) == 2
    assert "--method single and no --mask" in capsys.readouterr().err
    mark = mark_alpha(0.35) > 0.02
    defects = np.where(mark, CLASS_IDS["watermark"], 0).astype(np.uint8)
    defects[:4, :4] = CLASS_IDS["dust"]  # another class of the defects file: not the mark
    tifffile.imwrite(tmp_path / "defects.tif", defects)
    assert main(["unwatermark", str(folder), "-o", str(out), "--fill", "telea",
                 "--mask", str(tmp_path / "defects.tif")]) == 0
    for k in range(2):
        written = tifffile.imread(out / f"img{k}.tif")
        before = np.round(marked[k] * 255).astype(np.uint8)
        changed = np.any(written != before, axis=-1)
        assert changed[mark].mean() > 0.5 and not changed[:4, :4].any()


def test_unwatermark_cli_never_replaces_its_inputs(tmp_path, capsys):
    from napari_mend.cli.main import main

    _, marked = collection(4)
    folder, _ = image_folder(tmp_path, marked)
    for k, image in enumerate(marked):  # TIFF inputs: the outputs' names
        (folder / f"img{k}.png").unlink()
        tifffile.imwrite(folder / f"img{k}.tif", np.round(image * 255).astype(np.uint8))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["unwatermark", str(folder), "-o", str(folder), "--overwrite"]) == 2
    assert "is an input of this command" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_mark_estimated_on_a_sample_cleans_images_one_at_a_time():
    from napari_mend.watermark.api import (
        collection_watermark,
        remove_collection_watermark,
    )

    clean, marked = collection(10)
    marked = np.round(marked * 255).astype(np.uint8)
    # still marks, the whole collection: one image at a time gives the batch result
    batch = nm.remove_watermark(marked, channel_axis=-1, fill="telea", max_shift=0)
    mark = collection_watermark(marked, channel_axis=-1, max_shift=0)
    one_by_one = np.stack([remove_collection_watermark(im, mark, channel_axis=-1, fill="telea")
                           for im in marked])
    np.testing.assert_array_equal(one_by_one, batch)
    # marks that move, estimated on six: the other four are aligned and cleaned as well
    shifts = [(0, 0), (2, -1), (-1, 3), (3, 2), (-2, -2), (1, 0), (0, 2), (-3, 1), (2, 3), (1, -3)]
    clean, marked = collection(10, shifts=shifts)
    mark = collection_watermark(marked[:6], channel_axis=-1)
    for k in range(6, 10):
        out, changed = remove_collection_watermark(marked[k], mark, channel_axis=-1, fill="telea",
                                                   return_mask=True)
        assert psnr(out, clean[k]) > psnr(marked[k], clean[k]) + 5
        np.testing.assert_array_equal(out[~changed], marked[k][~changed])
    with pytest.raises(ValueError, match="does not match"):
        remove_collection_watermark(marked[0][:60], mark, channel_axis=-1)


def test_unwatermark_cli_streams_large_folders(tmp_path):
    from napari_mend.cli.main import main
    from napari_mend.io.tiff import read_image_tiff

    clean, marked = collection(9)
    folder, out = image_folder(tmp_path, marked)
    assert main(["unwatermark", str(folder), "-o", str(out), "--fill", "telea",
                 "--sample", "5"]) == 0
    written = sorted(out.glob("*.tif"))
    assert len(written) == 9
    for k, path in enumerate(written):
        data, prov = read_image_tiff(path)
        assert prov["parameters"]["estimated_from"] == [f"img{i}.png" for i in (0, 2, 4, 6, 8)]
        assert psnr(data / 255, clean[k]) > psnr(marked[k], clean[k]) + 5
    assert main(["unwatermark", str(folder), "-o", str(out), "--sample", "1"]) == 2


def two_tone_mark(opacity):
    """The 'H' with a smooth opacity ramp and two colours (white left, dark blue right)."""
    alpha = mark_alpha(opacity) * np.linspace(0.6, 1.0, SIZE, dtype=np.float32)[:, None]
    colour = np.ones((SIZE, SIZE, 3), np.float32)
    colour[:, SIZE // 2:] = [0.1, 0.1, 0.4]
    return alpha, colour


def test_joint_matting_beats_the_closed_form_estimate(monkeypatch):
    from napari_mend.watermark import joint_matting as jm

    alpha, colour = two_tone_mark(0.45)
    clean = np.stack([content(40 + k) for k in range(6)])
    marked = np.stack([alpha[..., None] * colour + (1 - alpha[..., None]) * c for c in clean])
    mask = alpha > 0.02
    mean = lambda out: np.mean([psnr(out[k], clean[k]) for k in range(len(clean))])
    joint, changed = remove_collection(marked, mask=mask, fill="telea")
    support = estimate_collection(marked, mask=mask, max_shift=0)[2]
    monkeypatch.setattr(jm, "MIN_JOINT_IMAGES", 99)  # the closed-form estimate alone
    closed, _ = remove_collection(marked, mask=mask, fill="telea")
    assert mean(joint) > mean(closed) + 2
    for k in range(len(clean)):  # pixels outside the mark's support stay as they were
        assert np.array_equal(joint[k][~support], marked[k][~support])
        assert not changed[k][~support].any()


def test_joint_matting_corrects_a_wrong_opacity_and_keeps_to_the_support():
    alpha, colour = two_tone_mark(0.4)
    clean = np.stack([content(50 + k) for k in range(5)])
    marked = np.stack([alpha[..., None] * colour + (1 - alpha[..., None]) * c for c in clean])
    support = ndi.binary_dilation(alpha > 0.02, iterations=2)
    guess = np.where(support, 1.5 * alpha, 0).astype(np.float32)  # too opaque by half
    matte = guess[..., None] * colour
    a_out, m_out = joint_matting(marked, guess, matte, support)
    assert a_out.dtype == np.float32 and m_out.shape == matte.shape
    assert not a_out[~support].any() and not m_out[~support].any()
    err = lambda a: np.abs(a - alpha)[support].mean()
    mean = lambda a, m: np.mean([psnr(invert(marked[k], a, m), clean[k])
                                 for k in range(len(clean))])
    assert err(a_out) < 0.5 * err(guess)
    assert mean(a_out, m_out) > mean(guess, matte) + 10
    # a single image does not constrain the mark: the guess comes back, cut to the support
    a_one, m_one = joint_matting(marked[:1], guess + 0.1, matte, support)
    assert np.array_equal(a_one[support], (guess + 0.1)[support]) and not a_one[~support].any()
    assert np.array_equal(m_one, matte)


@pytest.mark.parametrize("n", [2, 3])
def test_small_collections_with_a_mask(n):
    clean, marked = collection(n)
    mask = mark_alpha(0.35) > 0.02
    mean = lambda out: np.mean([psnr(out[k], clean[k]) for k in range(n)])
    for method in ("auto", "collection"):
        out = nm.remove_watermark(marked, mask=mask, channel_axis=-1, method=method, fill="telea")
        assert out.shape == marked.shape
        assert mean(out) > mean(marked) + 6
        grown = ndi.binary_dilation(mask, iterations=2)  # the support of a given mask
        assert np.array_equal(out[:, ~grown], marked[:, ~grown])


def test_marks_that_do_not_move_are_not_shifted(monkeypatch):
    from napari_mend.watermark import collection as module

    _, marked = collection(6)
    mask = mark_alpha(0.35) > 0.02
    still = estimate_collection(marked, mask=mask, max_shift=0)
    # content can pull the alignment off: shifts proposed for marks that do not move are refused
    wrong = [(0, 0), (2, -1), (-3, 2), (0, 0), (1, 1), (-2, 0)]
    monkeypatch.setattr(module, "_align", lambda images, region, radius: wrong)
    moving = estimate_collection(marked, mask=mask, max_shift=4)
    assert moving[3] == [(0, 0)] * 6
    assert np.allclose(moving[1], still[1], atol=1e-6)
    # the energy the choice rests on: the true mark leaves less in the images than a shifted one
    alpha = mark_alpha(0.35)
    matte = alpha[..., None] * np.ones(3, np.float32)
    assert (content_energy(marked, alpha, matte, mask).sum()
            < content_energy(marked, np.roll(alpha, 2, axis=1), np.roll(matte, 2, axis=1),
                             mask).sum())


def test_remove_watermark_returns_its_provenance():
    from napari_mend.watermark.api import remove_watermark

    rng = np.random.default_rng(5)
    content = (0.3 + 0.4 * rng.random((64, 64))).astype(np.float32)
    mark = np.zeros((64, 64), bool)
    mark[20:40, 10:50] = True
    image = np.where(mark, 0.4 + 0.6 * content, content).astype(np.float32)
    clean, changed, record = remove_watermark(image, mask=mark, fill="biharmonic",
                                              return_mask=True, return_provenance=True)
    assert record["operation"] == "remove_watermark" and record["method"] == "single"
    assert record["parameters"]["mask"] == "given"
    assert record["mask"]["changed_pixels"] == int(changed.sum()) > 0
    np.testing.assert_array_equal(clean, remove_watermark(image, mask=mark, fill="biharmonic"))
