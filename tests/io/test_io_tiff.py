import os

import numpy as np
import pytest
import tifffile

from napari_mend.io import atomic as atomic_module
from napari_mend.io import (
    atomic_path,
    make_provenance,
    read_image_tiff,
    read_labels_tiff,
    read_tiff_metadata,
    write_image_tiff,
    write_labels_tiff,
)


def _image(rng, dtype, shape):
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 1e3).astype(dtype)  # any range, negatives too
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


SHAPES = {
    ("2d", None): (9, 11),
    ("2d", -1): (9, 11, 3),
    ("3d", None): (4, 9, 11),
    ("3d", -1): (4, 9, 11, 3),
    ("3d", 0): (3, 4, 9, 11),  # channels first
    ("2d", 2): (9, 11, 2),  # two channels: not RGB
    ("4d", -1): (2, 3, 9, 11, 4),  # RGBA time-lapse of stacks
}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("layout", list(SHAPES))
def test_image_round_trip_is_lossless(tmp_path, dtype, layout):
    rng = np.random.default_rng(0)
    channel_axis = layout[1]
    data = _image(rng, dtype, SHAPES[layout])
    before = data.copy()
    prov = make_provenance(
        operation="inpaint", method="biharmonic", parameters={"r": 2}, image=data
    )
    out = write_image_tiff(tmp_path / "a.tif", data, provenance=prov, channel_axis=channel_axis)
    assert out == tmp_path / "a.tif"
    np.testing.assert_array_equal(data, before)  # input untouched
    back, back_prov = read_image_tiff(out)
    assert back.dtype == data.dtype and back.shape == data.shape
    assert back.tobytes() == data.tobytes()
    assert back_prov == prov
    assert os.listdir(tmp_path) == ["a.tif"]


@pytest.mark.parametrize("layout", list(SHAPES))
def test_lazy_arrays_are_written_tile_by_tile(tmp_path, monkeypatch, layout):
    da = pytest.importorskip("dask.array")
    from napari_mend.io import tiff

    monkeypatch.setattr(tiff, "TILE", 16)
    monkeypatch.setattr(tiff, "BAND", 32)
    rng = np.random.default_rng(2)
    channel_axis = layout[1]
    shape = SHAPES[layout][:-2] + (37, 53) if channel_axis in (None, 0) \
        else SHAPES[layout][:-3] + (37, 53) + SHAPES[layout][-1:]
    data = _image(rng, np.uint16, shape)
    lazy = da.from_array(data, chunks=7)
    write_image_tiff(tmp_path / "a.tif", lazy, channel_axis=channel_axis, provenance={"k": 1})
    back, prov = read_image_tiff(tmp_path / "a.tif")  # checks the stored checksum
    np.testing.assert_array_equal(back, data)
    assert prov == {"k": 1} and os.listdir(tmp_path) == ["a.tif"]  # nothing left over
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        assert tif.pages[0].is_tiled and tif.pages[0].tilelength == 16
    written_in_memory = write_image_tiff(tmp_path / "b.tif", data, channel_axis=channel_axis)
    assert read_tiff_metadata(written_in_memory)["sha256"] == \
        read_tiff_metadata(tmp_path / "a.tif")["sha256"]
    labels = rng.integers(0, 7, (37, 53), dtype=np.uint8)
    write_labels_tiff(tmp_path / "l.tif", da.from_array(labels, chunks=20), class_names={1: "x"})
    np.testing.assert_array_equal(read_labels_tiff(tmp_path / "l.tif")[0], labels)


def test_rgb_is_stored_as_photometric_rgb_and_readable_by_others(tmp_path):
    rng = np.random.default_rng(1)
    data = _image(rng, np.uint8, (3, 9, 11))  # channels first
    write_image_tiff(tmp_path / "rgb.tif", data, channel_axis=0)
    with tifffile.TiffFile(tmp_path / "rgb.tif") as tif:
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB
        np.testing.assert_array_equal(tif.asarray(), np.moveaxis(data, 0, -1))
    meta = read_tiff_metadata(tmp_path / "rgb.tif")
    assert meta["kind"] == "image" and meta["channel_axis"] == -3 and meta["provenance"] is None


def test_float_special_values_survive(tmp_path):
    data = np.array([[np.nan, np.inf, -np.inf], [-0.0, 1e-40, 5e30]], np.float32)
    write_image_tiff(tmp_path / "f.tif", data)
    back, _ = read_image_tiff(tmp_path / "f.tif")
    assert back.tobytes() == data.tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64])
@pytest.mark.parametrize("shape", [(10, 12), (3, 10, 12)])
def test_labels_round_trip_keeps_class_names(tmp_path, dtype, shape):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 7, shape).astype(dtype)
    names = {1: "scratch", 2: "dust", 9: "fingerprint"}
    prov = make_provenance(operation="detect", method="classical", parameters={}, mask=labels)
    write_labels_tiff(tmp_path / "l.tif", labels, class_names=names, provenance=prov)
    back, back_names, back_prov = read_labels_tiff(tmp_path / "l.tif")
    assert back.dtype == labels.dtype and back.shape == labels.shape
    np.testing.assert_array_equal(back, labels)
    assert back_names == names
    assert back_prov == prov


def test_foreign_tiffs_read_without_metadata(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 5, (8, 9), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "other.tif", data, description="made elsewhere")
    assert read_tiff_metadata(tmp_path / "other.tif") is None
    back, prov = read_image_tiff(tmp_path / "other.tif")
    np.testing.assert_array_equal(back, data)
    assert prov is None
    labels, names, prov = read_labels_tiff(tmp_path / "other.tif")
    np.testing.assert_array_equal(labels, data)
    assert names == {} and prov is None


def test_labels_reader_rejects_images(tmp_path):
    write_image_tiff(tmp_path / "img.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="not Labels"):
        read_labels_tiff(tmp_path / "img.tif")
    tifffile.imwrite(tmp_path / "float.tif", np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="integer"):
        read_labels_tiff(tmp_path / "float.tif")


def test_overwrite_is_refused_unless_asked(tmp_path):
    path = tmp_path / "a.tif"
    write_image_tiff(path, np.zeros((4, 4), np.uint8))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_image_tiff(path, np.ones((4, 4), np.uint8))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_labels_tiff(path, np.ones((4, 4), np.uint8), class_names={})
    assert read_image_tiff(path)[0].max() == 0
    write_image_tiff(path, np.ones((4, 4), np.uint8), overwrite=True)
    assert read_image_tiff(path)[0].min() == 1
    assert os.listdir(tmp_path) == ["a.tif"]


def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    def broken_imwrite(file, data, **kwargs):
        with open(file, "wb") as f:
            f.write(b"II*\x00partial")
        raise OSError("disk full")

    monkeypatch.setattr(tifffile, "imwrite", broken_imwrite)
    with pytest.raises(OSError, match="disk full"):
        write_image_tiff(tmp_path / "a.tif", np.zeros((4, 4), np.uint8))
    assert os.listdir(tmp_path) == []
    # an existing file being replaced stays intact
    monkeypatch.undo()
    write_labels_tiff(tmp_path / "l.tif", np.full((4, 4), 2, np.uint8), class_names={2: "dust"})
    monkeypatch.setattr(tifffile, "imwrite", broken_imwrite)
    with pytest.raises(OSError, match="disk full"):
        write_labels_tiff(
            tmp_path / "l.tif", np.zeros((4, 4), np.uint8), class_names={}, overwrite=True
        )
    assert os.listdir(tmp_path) == ["l.tif"]
    assert read_labels_tiff(tmp_path / "l.tif")[0].min() == 2


def test_failure_at_rename_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(atomic_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        write_image_tiff(tmp_path / "a.tif", np.zeros((4, 4), np.uint8))
    assert os.listdir(tmp_path) == []


def test_atomic_path_requires_something_written(tmp_path):
    with pytest.raises(RuntimeError, match="nothing was written"), atomic_path(tmp_path / "x"):
        pass
    missing = tmp_path / "missing" / "x"
    with pytest.raises(FileNotFoundError, match="does not exist"), atomic_path(missing):
        pass


def test_truncated_and_corrupt_files_give_clear_errors(tmp_path):
    rng = np.random.default_rng(4)
    good = tmp_path / "good.tif"
    write_image_tiff(good, _image(rng, np.uint16, (3, 32, 32)))
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(raw[: len(raw) // 2])
    header_only = tmp_path / "header.tif"
    header_only.write_bytes(raw[:16])
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"this is not a tiff at all")
    for path in (truncated, header_only, garbage):
        with pytest.raises(ValueError, match=path.name):
            read_image_tiff(path)


def test_flipped_bits_are_detected_by_checksum(tmp_path):
    data = np.zeros((16, 16), np.uint8)
    write_image_tiff(tmp_path / "a.tif", data)
    raw = bytearray((tmp_path / "a.tif").read_bytes())
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        offset = tif.pages[0].dataoffsets[0]
    raw[offset + 5] ^= 0xFF
    (tmp_path / "a.tif").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum"):
        read_image_tiff(tmp_path / "a.tif")


@pytest.mark.parametrize(
    "data, kwargs, error",
    [
        (np.zeros((4, 4), bool), {}, TypeError),
        (np.zeros((4, 4), np.complex64), {}, TypeError),
        (np.zeros(5, np.uint8), {}, ValueError),
        (np.zeros((4, 3), np.uint8), {"channel_axis": -1}, ValueError),
        (np.zeros((4, 4, 3), np.uint8), {"channel_axis": 3}, ValueError),
        (np.zeros((0, 4), np.uint8), {}, ValueError),
        (np.zeros((4, 4), np.uint8), {"provenance": {"x": object()}}, TypeError),
    ],
)
def test_image_writer_bad_input(tmp_path, data, kwargs, error):
    with pytest.raises(error):
        write_image_tiff(tmp_path / "a.tif", data, **kwargs)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "labels, names",
    [
        (np.zeros((4, 4), np.float32), {}),
        (np.zeros((4, 4), np.uint8), ["scratch"]),
        (np.zeros((4, 4), np.uint8), {"one": "scratch"}),
        (np.zeros((4, 4), np.uint8), {1: 2}),
    ],
)
def test_labels_writer_bad_input(tmp_path, labels, names):
    with pytest.raises(TypeError):
        write_labels_tiff(tmp_path / "l.tif", labels, class_names=names)
    assert os.listdir(tmp_path) == []
