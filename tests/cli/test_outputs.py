"""The command line's output rules: the format follows the suffix, refused before any work;
output folders are created (what is never replaced or lost: tests/security)."""

import json

import numpy as np
import pytest
import tifffile
from helpers import camera_scratch
from PIL import Image
from skimage import data

from napari_mend.cli.main import main
from napari_mend.io.formats import (FormatError, check_storable, output_format, write_image,
                                    write_labels)


@pytest.fixture
def scratched(tmp_path):
    image, (rr, cc) = camera_scratch(96, (2, 20, 93, 60))
    mask = np.zeros(image.shape, np.uint8)
    mask[rr, cc] = 1
    tifffile.imwrite(tmp_path / "film.tif", image)
    tifffile.imwrite(tmp_path / "mask.tif", mask)
    return tmp_path / "film.tif", tmp_path / "mask.tif", image, mask


def _inpaint(src, mask, out, *extra):
    return main(["inpaint", str(src), "--mask", str(mask), "-o", str(out), "--method", "telea",
                 *extra])


def test_png_output_is_png_with_provenance_and_keeps_pixels(scratched, tmp_path):
    src, mask_path, image, mask = scratched
    out = tmp_path / "mended.png"
    assert _inpaint(src, mask_path, out) == 0
    with Image.open(out) as im:
        assert im.format == "PNG"
        record = json.loads(im.text["napari-mend"])
        mended = np.asarray(im)
    assert record["method"] == "telea"
    np.testing.assert_array_equal(mended[mask == 0], image[mask == 0])
    assert not np.array_equal(mended[mask > 0], image[mask > 0])


def test_jpeg_output_is_jpeg_and_says_it_is_lossy(scratched, tmp_path, capsys):
    src, mask_path, _, _ = scratched
    out = tmp_path / "mended.jpg"
    assert _inpaint(src, mask_path, out) == 0
    assert "lossy" in capsys.readouterr().err
    with Image.open(out) as im:
        assert im.format == "JPEG"
        assert b"napari-mend" in im.info["comment"]


def test_tiff_output_is_tiff(scratched, tmp_path):
    src, mask_path, _, _ = scratched
    out = tmp_path / "mended.tiff"
    assert _inpaint(src, mask_path, out) == 0
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].shape == (96, 96)


@pytest.mark.parametrize("name", ["mended.bmp", "mended", "mended.gif"])
def test_unknown_suffix_refused_before_work(scratched, tmp_path, capsys, name):
    src, mask_path, _, _ = scratched
    assert _inpaint(src, mask_path, tmp_path / "out" / name) == 2
    err = capsys.readouterr().err
    assert ".tif" in err and ".png" in err
    assert not (tmp_path / "out").exists()  # nothing made, not even the folder


@pytest.mark.parametrize("dtype, ok_png, ok_jpeg", [(np.uint8, True, True),
                                                    (np.uint16, True, False),
                                                    (np.float32, False, False)])
def test_lossy_or_unfit_suffix_for_dtype_refused(tmp_path, capsys, dtype, ok_png, ok_jpeg):
    image = (data.camera()[:64, :64] / 255.0 * np.iinfo(np.uint8).max).astype(dtype)
    mask = np.zeros(image.shape, np.uint8)
    mask[10:20, 10:20] = 1
    tifffile.imwrite(tmp_path / "in.tif", image)
    tifffile.imwrite(tmp_path / "m.tif", mask)
    for suffix, ok in ((".png", ok_png), (".jpg", ok_jpeg)):
        out = tmp_path / f"out{suffix}"
        assert _inpaint(tmp_path / "in.tif", tmp_path / "m.tif", out) == (0 if ok else 2)
        assert out.exists() == ok
        if not ok:
            assert ".tif" in capsys.readouterr().err


def test_storable_rules():
    check_storable("png", np.uint8, (10, 10, 4), -1)
    check_storable("jpeg", np.uint8, (10, 10, 3), 2)
    check_storable("tiff", np.float64, (3, 10, 10, 5), None)
    with pytest.raises(FormatError, match="one plane"):
        check_storable("png", np.uint8, (3, 10, 10), None)
    with pytest.raises(FormatError, match="channels"):
        check_storable("jpeg", np.uint8, (10, 10, 4), -1)
    with pytest.raises(FormatError, match="channels"):
        check_storable("png", np.uint16, (10, 10, 3), -1)
    with pytest.raises(FormatError, match="block by block"):
        check_storable("png", np.uint8, (10, 10), None, lazy=True)
    assert output_format("A.TIF") == "tiff" and output_format("a.JPEG") == "jpeg"
    with pytest.raises(FormatError):
        output_format("x.jpg", {".tif": "tiff", ".png": "png"}, what="Labels")


def test_write_image_moves_channel_axis_and_labels_png(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (3, 12, 10), dtype=np.uint8)
    write_image(tmp_path / "a.png", rgb, channel_axis=0)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")),
                                  np.moveaxis(rgb, 0, -1))
    labels = np.zeros((12, 10), np.uint8)
    labels[2:4] = 5
    write_labels(tmp_path / "l.png", labels, class_names={5: "watermark"})
    with Image.open(tmp_path / "l.png") as im:
        np.testing.assert_array_equal(np.asarray(im), labels)
        assert json.loads(im.text["napari-mend"])["class_names"] == {"5": "watermark"}
    with pytest.raises(FileExistsError):
        write_image(tmp_path / "a.png", rgb, channel_axis=0)


def test_detect_refuses_jpeg_labels(scratched, tmp_path, capsys):
    src, _, _, _ = scratched
    assert main(["detect", str(src), "-o", str(tmp_path / "d.jpg"), "--method",
                 "classical"]) == 2
    assert "Labels" in capsys.readouterr().err
    assert main(["detect", str(src), "-o", str(tmp_path / "d.png"), "--method",
                 "classical"]) == 0
    with Image.open(tmp_path / "d.png") as im:
        assert im.format == "PNG" and np.asarray(im).max() >= 1


def test_output_folders_are_created(scratched, tmp_path):
    src, mask_path, _, _ = scratched
    out = tmp_path / "new" / "deeper" / "mended.tif"
    assert _inpaint(src, mask_path, out) == 0
    assert out.is_file()
