import json
import os

import numpy as np
import pytest

from napari_mend.classes import DEFECT_CLASSES
from napari_mend.io import find_bundles, is_bundle, make_provenance, read_bundle, write_bundle
from napari_mend.io import tiff as tiff_module


def _parts(rng, dtype=np.uint16, shape=(8, 9), channel_axis=None):
    original = rng.integers(0, 1000, shape).astype(dtype)
    spatial = shape if channel_axis is None else np.delete(shape, channel_axis)
    spatial = tuple(int(n) for n in spatial)
    labels = rng.integers(0, 4, spatial).astype(np.uint8)
    mended = original.copy()
    mended[..., 0] += 1
    prov = make_provenance(
        operation="restore", method="auto", parameters={"t": 0.5}, image=original, mask=labels
    )
    return original, labels, mended, prov


@pytest.mark.parametrize(
    "dtype, shape, channel_axis",
    [(np.uint8, (12, 14), None), (np.uint16, (2, 12, 14, 3), -1), (np.float64, (3, 12, 14), 0)],
)
def test_bundle_round_trip_is_lossless(tmp_path, dtype, shape, channel_axis):
    rng = np.random.default_rng(0)
    original, labels, mended, prov = _parts(rng, dtype, shape, channel_axis)
    path = write_bundle(
        tmp_path / "scan.mend",
        original=original,
        labels=labels,
        mended=mended,
        provenance=prov,
        channel_axis=channel_axis,
    )
    assert path == tmp_path / "scan.mend"
    assert sorted(os.listdir(path)) == [
        "bundle.json",
        "defects.tif",
        "mended.tif",
        "original.tif",
        "provenance.json",
    ]
    assert os.listdir(tmp_path) == ["scan.mend"]
    b = read_bundle(path)
    for got, want in ((b.original, original), (b.labels, labels), (b.mended, mended)):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()
    assert b.provenance == prov
    assert b.class_names == DEFECT_CLASSES
    assert b.channel_axis == (
        None if channel_axis is None else channel_axis % len(shape) - len(shape)
    )
    assert read_bundle(path / "bundle.json").path == path
    manifest = json.loads((path / "bundle.json").read_text())
    assert manifest["format"] == "napari-mend-bundle" and manifest["version"] == 1


def test_bundle_without_mended_image_and_custom_classes(tmp_path):
    rng = np.random.default_rng(1)
    original, labels, _, _ = _parts(rng, shape=(12, 14))
    write_bundle(
        tmp_path / "a.mend",
        original=original,
        labels=labels,
        mended=None,
        provenance=None,
        class_names={1: "mould"},
    )
    b = read_bundle(tmp_path / "a.mend")
    assert b.mended is None and b.provenance is None and b.class_names == {1: "mould"}
    assert not (tmp_path / "a.mend" / "mended.tif").exists()


def test_is_bundle_and_find_bundles(tmp_path):
    rng = np.random.default_rng(2)
    original, labels, mended, prov = _parts(rng)
    for name in ("b.mend", "a.mend"):
        write_bundle(
            tmp_path / name, original=original, labels=labels, mended=mended, provenance=prov
        )
    (tmp_path / "fake.mend").mkdir()
    (tmp_path / "fake.mend" / "bundle.json").write_text('{"format": "something else"}')
    (tmp_path / "broken.mend").mkdir()
    (tmp_path / "broken.mend" / "bundle.json").write_text("{not json")
    assert is_bundle(tmp_path / "a.mend") and is_bundle(tmp_path / "a.mend" / "bundle.json")
    assert not is_bundle(tmp_path / "fake.mend")
    assert not is_bundle(tmp_path / "broken.mend")
    assert not is_bundle(tmp_path / "missing.mend")
    assert not is_bundle(tmp_path)
    assert find_bundles(tmp_path) == [tmp_path / "a.mend", tmp_path / "b.mend"]
    assert find_bundles(tmp_path / "a.mend" / "bundle.json") == []


def test_overwrite_refused_then_replaces_only_bundles(tmp_path):
    rng = np.random.default_rng(3)
    original, labels, mended, prov = _parts(rng)
    path = tmp_path / "x.mend"
    write_bundle(path, original=original, labels=labels, mended=mended, provenance=prov)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_bundle(path, original=original, labels=labels, mended=None, provenance=None)
    assert read_bundle(path).mended is not None
    write_bundle(
        path, original=original, labels=labels * 0, mended=None, provenance=None, overwrite=True
    )
    b = read_bundle(path)
    assert b.mended is None and b.labels.max() == 0
    assert os.listdir(tmp_path) == ["x.mend"]
    other = tmp_path / "precious.mend"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a napari-mend bundle"):
        write_bundle(
            other, original=original, labels=labels, mended=None, provenance=None, overwrite=True
        )
    assert (other / "notes.txt").read_text() == "keep me"


def test_failure_mid_bundle_leaves_old_bundle_and_no_temp(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    original, labels, mended, prov = _parts(rng)
    write_bundle(
        tmp_path / "x.mend", original=original, labels=labels, mended=None, provenance=None
    )
    calls = []
    real = tiff_module.write_labels_tiff

    def failing(*args, **kwargs):
        calls.append(1)
        real(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr("napari_mend.io.bundle.write_labels_tiff", failing)
    for name, overwrite in (("x.mend", True), ("y.mend", False)):
        with pytest.raises(OSError, match="disk full"):
            write_bundle(
                tmp_path / name,
                original=original,
                labels=labels,
                mended=mended,
                provenance=prov,
                overwrite=overwrite,
            )
    assert len(calls) == 2
    assert os.listdir(tmp_path) == ["x.mend"]
    assert read_bundle(tmp_path / "x.mend").mended is None


@pytest.mark.parametrize(
    "change, match",
    [
        ({"labels": np.zeros((8, 10), np.uint8)}, "labels shape"),
        ({"mended": np.zeros((8, 9), np.float32)}, "mended image"),
        ({"channel_axis": 2}, "out of range"),
    ],
)
def test_write_bundle_bad_input(tmp_path, change, match):
    rng = np.random.default_rng(5)
    original, labels, mended, prov = _parts(rng)
    args = {"original": original, "labels": labels, "mended": mended, "provenance": prov, **change}
    with pytest.raises(ValueError, match=match):
        write_bundle(tmp_path / "x.mend", **args)
    with pytest.raises(ValueError, match="must end with"):
        write_bundle(
            tmp_path / "x.tif", original=original, labels=labels, mended=None, provenance=None
        )
    assert os.listdir(tmp_path) == []


def test_read_bundle_errors_name_the_problem(tmp_path):
    rng = np.random.default_rng(6)
    original, labels, mended, prov = _parts(rng)
    with pytest.raises(ValueError, match="not a napari-mend bundle"):
        read_bundle(tmp_path)
    path = write_bundle(
        tmp_path / "x.mend", original=original, labels=labels, mended=mended, provenance=prov
    )
    raw = (path / "mended.tif").read_bytes()
    (path / "mended.tif").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="mended.tif"):
        read_bundle(path)
    (path / "mended.tif").unlink()
    with pytest.raises(ValueError, match="incomplete: mended.tif is missing"):
        read_bundle(path)
    manifest = json.loads((path / "bundle.json").read_text())
    manifest["version"] = 99
    (path / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="newer napari-mend"):
        read_bundle(path)
