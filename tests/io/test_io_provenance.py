import json

import numpy as np
import pytest

import napari_mend
from napari_mend.io import array_sha256, make_provenance, mask_summary


def test_array_sha256_depends_on_values_not_layout():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 65535, (13, 17, 3), dtype=np.uint16)
    assert array_sha256(a) == array_sha256(np.asfortranarray(a))
    assert array_sha256(a) == array_sha256(a.astype(">u2"))
    assert array_sha256([[1, 2], [3, 4]]) == array_sha256(np.array([[1, 2], [3, 4]]))
    b = a.copy()
    b[5, 5, 1] ^= 1
    assert array_sha256(a) != array_sha256(b)


def test_array_sha256_slabs_match_one_pass(monkeypatch):
    import hashlib

    from napari_mend.io import provenance

    rng = np.random.default_rng(1)
    a = rng.random((4, 6, 5))
    whole = hashlib.sha256(a.tobytes()).hexdigest()
    # slabs smaller than one plane and smaller than one row
    for slab in (100, 7):
        monkeypatch.setattr(provenance, "_HASH_SLAB_BYTES", slab)
        assert array_sha256(a) == whole
        assert array_sha256(a[:, ::-1]) == hashlib.sha256(a[:, ::-1].tobytes()).hexdigest()


def test_make_provenance_record_is_json_and_complete():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 255, (20, 30), dtype=np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[3:5, 10:20] = 1
    mask[7, 4] = 2
    card = {"name": "detector_small", "sha256": "ab" * 32, "kind": "detector"}
    rec = make_provenance(
        operation="restore",
        method="learned",
        parameters={
            "threshold": np.float32(0.25),
            "classes": ("scratch", "dust"),
            "n": np.int64(3),
        },
        image=image,
        mask=mask,
        model=card,
    )
    assert json.loads(json.dumps(rec)) == rec
    assert rec["napari_mend_version"] == napari_mend.__version__
    assert rec["created"].endswith("+00:00")
    assert rec["operation"] == "restore" and rec["method"] == "learned"
    assert rec["parameters"] == {"threshold": 0.25, "classes": ["scratch", "dust"], "n": 3}
    assert rec["model"] == {"name": "detector_small", "sha256": "ab" * 32,
                            "precision": rec["model"]["precision"]}
    assert rec["model"]["precision"] in ("float32", "bfloat16")
    assert rec["input"] == {"sha256": array_sha256(image), "shape": [20, 30], "dtype": "uint8"}
    m = rec["mask"]
    assert m["changed_pixels"] == 21
    assert m["fraction"] == pytest.approx(21 / 600)
    assert m["bbox"] == [[3, 8], [4, 20]]
    assert m["label_counts"] == {"scratch": 20, "dust": 1}
    assert m["sha256"] == mask_summary(mask.astype(bool))["sha256"]


def test_make_provenance_optional_parts_and_model_forms():
    rec = make_provenance(operation="inpaint", method="biharmonic", parameters={})
    assert rec["input"] is None and rec["mask"] is None and rec["model"] is None
    assert make_provenance(operation="detect", method="learned", parameters={}, model="m1")[
        "model"
    ] == {"name": "m1", "sha256": None}

    class Loaded:
        card = {"name": "m2", "sha256": "ff"}

    assert make_provenance(operation="detect", method="learned", parameters={}, model=Loaded())[
        "model"
    ] == {"name": "m2", "sha256": "ff"}
    # an inpainter's calibrated auto settings decide its output: recorded, not its statistics
    inpainter = {"name": "m3", "sha256": "ee", "auto": {
        "rules": [[6.0, "biharmonic"]], "rim_width": 10.0, "smooth_max": 0.05,
        "case_mse": {"auto": 0.4}}}
    assert make_provenance(operation="inpaint", method="auto", parameters={}, model=inpainter)[
        "model"
    ] == {"name": "m3", "sha256": "ee", "auto": {"rules": [[6.0, "biharmonic"]], "rim_width": 10.0,
                                                 "smooth_max": 0.05}}
    # so do the inference settings its fills ran with: the card's, and the code's defaults
    from napari_mend.inpainting.learned import DEFAULT_SETTINGS

    inpainter = {"name": "m4", "kind": "inpainter", "inference": {"flip_views": 2}}
    settings = make_provenance(operation="inpaint", method="learned", parameters={},
                               model=inpainter)["model"]["inference"]
    assert settings["flip_views"] == 2 and settings["boundary"] == DEFAULT_SETTINGS["boundary"]
    assert set(settings) == set(DEFAULT_SETTINGS)
    detector = {"name": "m5", "kind": "detector", "inference": {"tile": 256, "overlap": 32}}
    assert make_provenance(operation="detect", method="learned", parameters={}, model=detector)[
        "model"]["inference"] == {"tile": 256, "overlap": 32}


def test_mask_summary_empty_and_bool():
    s = mask_summary(np.zeros((4, 5, 6), bool))
    assert s["changed_pixels"] == 0 and s["bbox"] is None and s["fraction"] == 0.0
    assert "label_counts" not in s


@pytest.mark.parametrize("shape", [(37, 53), (3, 7, 11), (5,)])
def test_mask_summary_in_slabs_and_of_lazy_masks(monkeypatch, shape):
    import hashlib

    da = pytest.importorskip("dask.array")
    from napari_mend.io import provenance

    rng = np.random.default_rng(5)
    labels = ((rng.random(shape) < 0.2) * rng.integers(1, 9, shape)).astype(np.uint8)
    whole = mask_summary(labels)
    changed = labels != 0
    assert whole["sha256"] == hashlib.sha256(np.packbits(changed, axis=None)).hexdigest()
    assert whole["changed_pixels"] == changed.sum()
    assert sum(whole["label_counts"].values()) == changed.sum()
    monkeypatch.setattr(provenance, "_HASH_SLAB_BYTES", 100)  # slabs of a few rows, odd bits
    assert mask_summary(labels) == whole
    assert mask_summary(da.from_array(labels, chunks=4)) == whole
    assert mask_summary(da.from_array(changed, chunks=4)) == mask_summary(changed)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"operation": "sharpen"}, ValueError),
        ({"parameters": [1, 2]}, TypeError),
        ({"parameters": {"f": object()}}, TypeError),
        ({"mask": np.zeros((3, 3), np.float32)}, TypeError),
        ({"model": 3}, TypeError),
    ],
)
def test_make_provenance_bad_input(kwargs, error):
    args = {"operation": "inpaint", "method": "telea", "parameters": {}, **kwargs}
    with pytest.raises(error):
        make_provenance(**args)
