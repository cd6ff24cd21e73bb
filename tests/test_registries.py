"""Adding a fill method or a defect class is one registration: both reach every path."""

import dask.array as da
import numpy as np
import pytest

import napari_mend as nm
from napari_mend import classes
from napari_mend.blocks import map_planes
from napari_mend.inpainting.fills import FILLS, Fill, fill_names, register_fill
from napari_mend.restore import mend_labels


@pytest.fixture
def registries():
    """Put the registries back as they were after the test."""
    saved = [(table, dict(table)) for table in (FILLS, classes.CLASSES, classes.DEFECT_CLASSES,
                                                classes.CLASS_IDS, classes.CLASS_COLORS)]
    yield
    for table, content in saved:
        table.clear()
        table.update(content)


def _mean_fill(plane, mask):
    out = plane.copy()
    out[mask] = plane[~mask].mean(axis=0)
    return out


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return (rng.random((96, 80)) * 200).astype(np.uint8)


@pytest.fixture
def mask():
    m = np.zeros((96, 80), bool)
    m[30:40, 10:70] = True
    return m


def test_a_registered_fill_runs_in_memory_and_over_dask_blocks(registries, image, mask):
    register_fill(Fill("mean", _mean_fill, summary="the mean of the known pixels"))
    assert "mean" in fill_names() and fill_names()[0] == "auto"
    out = nm.inpaint(image, mask, method="mean")
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert np.all(out[mask] == np.rint(image[~mask].mean()))
    ramp = np.broadcast_to(np.linspace(0, 250, 80).astype(np.uint8), image.shape)
    lazy = nm.inpaint(da.from_array(ramp, chunks=48), mask, method="mean", chunk=48, depth=8)
    assert isinstance(lazy, da.Array)
    lazy = lazy.compute()
    np.testing.assert_array_equal(lazy[~mask], ramp[~mask])
    left, right = lazy[35, 10:40], lazy[35, 48:70]  # each block filled from what it sees
    assert np.ptp(left) == 0 and np.ptp(right) == 0 and right[0] > left[0] + 50
    mended, labels = nm.restore(image, detector="classical", fill="mean")
    assert mended.shape == image.shape and mended.dtype == image.dtype


def test_a_fill_name_is_registered_once(registries):
    with pytest.raises(ValueError, match="registered already"):
        register_fill(Fill("biharmonic", _mean_fill))
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        nm.inpaint(np.zeros((8, 8)), np.eye(8, dtype=bool), method="nope")


def _pencil_remover(image, where, *, channel_axis, fill, model, progress):
    out = image.copy()
    out[where] = 0
    return out


def test_a_registered_class_is_named_coloured_and_mended_by_its_remover(registries, image,
                                                                          mask):
    classes.register_class(classes.DefectClass(9, "pencil", "#808080", _pencil_remover))
    assert classes.class_ids("pencil") == [9] and classes.CLASS_COLORS[9] == "#808080"
    labels = np.where(mask, 9, 0).astype(np.uint8)
    labels[60:64, 10:20] = classes.CLASS_IDS["dust"]
    out = mend_labels(image, labels, fill="biharmonic")
    assert np.all(out[mask] == 0)
    keep = labels == 0
    np.testing.assert_array_equal(out[keep], image[keep])
    assert classes.class_counts(labels) == {"dust": 40, "pencil": int(mask.sum())}
    lazy = mend_labels(da.from_array(image, chunks=48), labels, fill="biharmonic", chunk=48,
                       depth=8).compute()
    assert np.all(lazy[mask] == 0)
    np.testing.assert_array_equal(lazy[keep], image[keep])
    only = mend_labels(image, labels, classes=["dust"], fill="biharmonic")
    np.testing.assert_array_equal(only[mask], image[mask])
    found = nm.detect(image, method="classical")  # the detectors score the built-in classes
    assert set(np.unique(found)) <= set(range(classes.N_SCORED + 1))


@pytest.mark.parametrize("value", [0, classes.CLEAN_LABEL, 1, 256])
def test_a_class_value_must_be_free(registries, value):
    with pytest.raises(ValueError, match="label value"):
        classes.register_class(classes.DefectClass(value, "other", "#000000"))


def test_the_executor_runs_a_kernel_alike_in_memory_and_over_blocks(image):
    def gradient(plane, *, plane_info=None):
        return np.abs(np.diff(plane[..., 0], axis=1, append=plane[:, -1:, 0]))

    stack = np.stack([image, image[::-1]])
    whole = map_planes(gradient, stack, out="plane", dtype=np.float32)
    blocks = map_planes(gradient, da.from_array(stack), out="plane", dtype=np.float32,
                        chunk=32, depth=1).compute()
    assert whole.shape == stack.shape
    np.testing.assert_allclose(blocks, whole)
