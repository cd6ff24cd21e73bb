"""The one image reader: any image file in, its values, colour axis, kind and provenance out."""

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_mend.io.images import (IMAGE_SUFFIXES, TIFF_SUFFIXES, ImageFileError, channel_axis_of,
                                   open_image_lazily, read_image)
from napari_mend.io.tiff import write_image_tiff, write_labels_tiff


def test_suffixes_are_lower_case_and_include_tiffs():
    assert set(TIFF_SUFFIXES) <= set(IMAGE_SUFFIXES)
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)


@pytest.mark.parametrize("option, expected", [("auto", -1), ("none", None), ("0", 0), (2, 2),
                                              ("stored", 1)])
def test_channel_axis_of(option, expected):
    assert channel_axis_of((5, 6, 3), option, stored=1) == expected
    assert channel_axis_of((5, 6), "auto") is None


def test_reads_png_and_foreign_tiff(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (6, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    tifffile.imwrite(tmp_path / "b.tif", rgb[..., 0])
    png = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(png.data, rgb)
    assert png.channel_axis == -1 and png.kind == "image" and png.provenance is None
    tif = read_image(str(tmp_path / "b.tif"), "auto")
    np.testing.assert_array_equal(tif.data, rgb[..., 0])
    assert tif.channel_axis is None and tif.class_names == {}


def test_reads_own_tiffs_with_kind_and_provenance(tmp_path):
    image = np.zeros((3, 8, 9), np.uint16)
    write_image_tiff(tmp_path / "i.tif", image, channel_axis=0, provenance={"k": 1})
    labels = np.zeros((8, 9), np.uint8)
    labels[2, 3] = 1
    write_labels_tiff(tmp_path / "l.tif", labels, class_names={1: "mould"}, provenance={"k": 2})
    own = read_image(tmp_path / "i.tif", "stored")
    assert own.channel_axis == -3 and own.provenance == {"k": 1} and own.kind == "image"
    assert read_image(tmp_path / "i.tif").channel_axis is None  # 'auto' looks at the shape only
    lab = read_image(tmp_path / "l.tif", "none")
    np.testing.assert_array_equal(lab.data, labels)
    assert lab.kind == "labels" and lab.class_names == {1: "mould"} and lab.provenance == {"k": 2}


@pytest.mark.parametrize("name, content, message", [
    ("missing.png", None, "no such file"),
    ("bad.tif", b"not a tiff", "cannot read it as an image"),
    ("bad.png", b"\x89PNG\r\n\x1a\n broken", "cannot read it as an image"),
])
def test_unreadable_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageFileError, match=message) as err:
        read_image(path)
    assert name in str(err.value)
    assert isinstance(err.value, ValueError)


def test_open_lazily_reads_tiffs_block_by_block_and_wraps_the_rest(tmp_path):
    pytest.importorskip("dask")
    image = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    tifffile.imwrite(tmp_path / "a.tif", image)
    Image.fromarray((image % 256).astype(np.uint8)).save(tmp_path / "a.png")
    data, axis = open_image_lazily(tmp_path / "a.tif")
    assert axis is None and hasattr(data, "compute")
    np.testing.assert_array_equal(data.compute(), image)
    data, _ = open_image_lazily(tmp_path / "a.png")
    np.testing.assert_array_equal(data.compute(), image % 256)
    with pytest.raises(ImageFileError, match="no such file"):
        open_image_lazily(tmp_path / "missing.zarr")
