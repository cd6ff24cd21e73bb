"""The npe2 reader and writers, with plain data (and napari layers where installed)."""

import os

import numpy as np
import pytest
import tifffile

from napari_mend._reader import get_reader
from napari_mend._writer import write_bundle_layers, write_image, write_labels
from napari_mend.classes import CLASS_COLORS, DEFECT_CLASSES
from napari_mend.io import (
    make_provenance,
    read_bundle,
    read_image_tiff,
    read_labels_tiff,
    write_bundle,
)


@pytest.fixture
def parts():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 255, (12, 14, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, (12, 14)).astype(np.uint8)
    mended = original.copy()
    mended[labels > 0] = 7
    prov = make_provenance(
        operation="inpaint", method="biharmonic", parameters={}, image=original, mask=labels
    )
    return original, labels, mended, prov


def _write(parts, path):
    """Write ``parts`` (the fixture) as an RGB bundle at ``path``; returns its path."""
    original, labels, mended, prov = parts
    return write_bundle(path, original=original, labels=labels, mended=mended, provenance=prov,
                        channel_axis=-1)


def test_reader_ignores_foreign_and_unreadable_files(tmp_path):
    tifffile.imwrite(tmp_path / "other.tif", np.zeros((4, 4), np.uint8))
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    (tmp_path / "notes.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    for name in ("other.tif", "bad.tif", "notes.json", "empty", "missing.tif"):
        assert get_reader(str(tmp_path / name)) is None, name
    assert get_reader(str(tmp_path)) is None  # a folder without bundles
    assert get_reader([]) is None


def test_reader_opens_bundle_as_three_layers(tmp_path, parts):
    original, labels, mended, prov = parts
    path = _write(parts, tmp_path / "photo.mend")
    for target in (path, path / "bundle.json", [str(path)]):
        reader = get_reader(target if isinstance(target, list) else str(target))
        assert reader is not None
        layers = reader(target)
        assert [(kw["name"], kind) for _, kw, kind in layers] == [
            ("photo", "image"),
            ("photo defects", "labels"),
            ("photo mended", "image"),
        ]
    (img, img_kw, _), (lab, lab_kw, _), (men, men_kw, _) = layers
    np.testing.assert_array_equal(img, original)
    np.testing.assert_array_equal(lab, labels)
    np.testing.assert_array_equal(men, mended)
    assert img_kw["rgb"] and men_kw["rgb"]
    assert men_kw["metadata"]["provenance"] == prov
    assert men_kw["metadata"]["bundle"] == str(path)
    assert lab_kw["colormap"][1] == CLASS_COLORS[1]
    assert (
        dict(zip(lab_kw["features"]["index"], lab_kw["features"]["class"], strict=True))[2]
        == "dust"
    )
    assert lab_kw["metadata"]["class_names"] == DEFECT_CLASSES


def test_reader_opens_a_folder_of_bundles(tmp_path, parts):
    original, labels, mended, prov = parts
    for name in ("b", "a"):
        write_bundle(
            tmp_path / f"{name}.mend",
            original=original,
            labels=labels,
            mended=None,
            provenance=None,
            channel_axis=-1,
        )
    (tmp_path / "log.txt").write_text("done")
    layers = get_reader(str(tmp_path))(str(tmp_path))
    assert [kw["name"] for _, kw, _ in layers] == ["a", "a defects", "b", "b defects"]


def test_reader_opens_our_tiffs(tmp_path, parts):
    original, labels, mended, prov = parts
    channels_first = np.moveaxis(original, -1, 0)
    write_image(str(tmp_path / "m.tif"), mended, {"rgb": True, "metadata": {"provenance": prov}})
    from napari_mend.io import write_image_tiff

    write_image_tiff(tmp_path / "cf.tif", channels_first, channel_axis=0)
    write_labels(str(tmp_path / "d.tif"), labels, {"metadata": {"class_names": {1: "mould"}}})
    ((m, m_kw, m_kind),) = get_reader(str(tmp_path / "m.tif"))(str(tmp_path / "m.tif"))
    assert m_kind == "image" and m_kw["rgb"] and m_kw["metadata"]["provenance"] == prov
    np.testing.assert_array_equal(m, mended)
    ((cf, cf_kw, _),) = get_reader(str(tmp_path / "cf.tif"))(str(tmp_path / "cf.tif"))
    assert cf_kw["rgb"]
    np.testing.assert_array_equal(cf, original)  # channels moved last for napari
    ((d, d_kw, d_kind),) = get_reader(str(tmp_path / "d.tif"))(str(tmp_path / "d.tif"))
    assert d_kind == "labels" and d_kw["metadata"]["class_names"] == {1: "mould"}
    assert d_kw["features"] == {"index": [0, 1], "class": [d_kw["features"]["class"][0], "mould"]}


def test_reader_reports_corruption_by_file_name(tmp_path, parts):
    path = _write(parts, tmp_path / "x.mend")
    reader = get_reader(str(path))
    raw = (path / "defects.tif").read_bytes()
    (path / "defects.tif").write_bytes(raw[:-40])
    with pytest.raises(ValueError, match="defects.tif"):
        reader(str(path))


def test_writers_use_layer_metadata(tmp_path, parts):
    original, labels, mended, prov = parts
    import pandas as pd

    features = pd.DataFrame({"index": [0, 1, 2], "class": ["clean", "scratch", "mould"]})
    written = write_labels(
        str(tmp_path / "l.tif"), labels, {"features": features, "metadata": {"provenance": prov}}
    )
    assert written == [str(tmp_path / "l.tif")]
    back, names, back_prov = read_labels_tiff(tmp_path / "l.tif")
    np.testing.assert_array_equal(back, labels)
    assert names == {1: "scratch", 2: "mould"} and back_prov == prov
    write_labels(str(tmp_path / "l.tif"), labels, {})  # napari asked before replacing
    assert read_labels_tiff(tmp_path / "l.tif")[1] == DEFECT_CLASSES
    write_image(str(tmp_path / "g.tif"), labels.astype(np.float32), {"rgb": False})
    back, back_prov = read_image_tiff(tmp_path / "g.tif")
    assert back.dtype == np.float32 and back_prov is None


def test_bundle_writer_from_layers(tmp_path, parts):
    original, labels, mended, prov = parts
    layer_data = [
        (mended, {"name": "photo mended", "rgb": True, "metadata": {"provenance": prov}}, "image"),
        (labels, {"name": "photo defects", "metadata": {}}, "labels"),
        (original, {"name": "photo", "rgb": True, "metadata": {}}, "image"),
    ]
    written = write_bundle_layers(str(tmp_path / "photo"), layer_data)
    assert written == [str(tmp_path / "photo.mend")]
    b = read_bundle(tmp_path / "photo.mend")
    np.testing.assert_array_equal(b.original, original)
    np.testing.assert_array_equal(b.mended, mended)
    np.testing.assert_array_equal(b.labels, labels)
    assert b.provenance == prov and b.channel_axis == -1
    # saving again into the same bundle (a curator re-mends) replaces it
    write_bundle_layers(str(tmp_path / "photo.mend"), layer_data[1:])
    b = read_bundle(tmp_path / "photo.mend")
    assert b.mended is None and b.provenance is None
    assert os.listdir(tmp_path) == ["photo.mend"]


@pytest.mark.parametrize(
    "kinds", [["image"], ["labels", "labels", "image"], ["image", "labels", "points"]]
)
def test_bundle_writer_refuses_other_layer_sets(tmp_path, kinds):
    data = {
        "image": np.zeros((4, 4), np.uint8),
        "labels": np.zeros((4, 4), np.uint8),
        "points": np.zeros((1, 2)),
    }
    with pytest.raises(ValueError, match="one image, one Labels"):
        write_bundle_layers(str(tmp_path / "x.mend"), [(data[k], {}, k) for k in kinds])
    assert os.listdir(tmp_path) == []


def test_layer_tuples_build_napari_layers_and_save_back(tmp_path, parts):
    pytest.importorskip("napari")
    from napari.layers import Layer

    original, labels, mended, prov = parts
    path = _write(parts, tmp_path / "p.mend")
    layers = [Layer.create(*t) for t in get_reader(str(path))(str(path))]
    image, defects, mended_layer = layers
    assert image.rgb and mended_layer.metadata["provenance"] == prov
    np.testing.assert_allclose(defects.get_color(1)[:3], [1.0, 0x30 / 255, 0x30 / 255])
    assert list(defects.features["class"])[1:] == list(DEFECT_CLASSES.values())
    # napari hands writers the layer state: saving it gives the same bundle back
    defects.data[0, 0] = 5
    write_bundle_layers(str(path), [layer.as_layer_data_tuple() for layer in layers])
    b = read_bundle(path)
    assert b.labels[0, 0] == 5 and b.provenance == prov and b.class_names == DEFECT_CLASSES
    np.testing.assert_array_equal(b.original, original)
