import numpy as np
import pytest

from napari_mend.classes import DEFECT_CLASSES
from napari_mend.synthesis import Damage, synthesize_defects

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]


def _as(image01, dtype):
    if np.issubdtype(dtype, np.integer):
        return np.round(image01 * np.iinfo(dtype).max).astype(dtype)
    return image01.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("color", [False, True])
def test_dtype_and_shape_round_trip(dtype, color, rgb, gray):
    image = _as(rgb if color else gray, dtype)
    before = image.copy()
    d = synthesize_defects(image, rng=np.random.default_rng(0), channel_axis=-1 if color else None)
    assert isinstance(d, Damage)
    np.testing.assert_array_equal(image, before)  # input untouched
    np.testing.assert_array_equal(d.clean, image)
    assert d.clean is not image
    assert d.image.shape == image.shape and d.image.dtype == image.dtype
    assert d.labels.shape == image.shape[:2] and d.labels.dtype == np.uint8
    assert d.masks.shape == (6, *image.shape[:2]) and d.masks.dtype == bool
    union = d.masks.any(axis=0)
    outside = d.image[~union]
    np.testing.assert_array_equal(outside, image[~union])  # bit-identical outside
    assert not np.array_equal(d.image[union], image[union])


def test_every_requested_class_appears_and_labels_match_masks(rgb):
    for seed in range(6):
        d = synthesize_defects(rgb, rng=seed, channel_axis=-1)
        assert d.masks.reshape(6, -1).any(axis=1).all(), seed
        np.testing.assert_array_equal(d.labels > 0, d.masks.any(axis=0))
        for cid in DEFECT_CLASSES:
            assert d.masks[cid - 1][d.labels == cid].all()


def test_opaque_classes_visibly_change_their_pixels(rgb):
    image = _as(rgb, np.uint8)
    d = synthesize_defects(image, rng=4, channel_axis=-1, classes=["scratch", "dust", "text"])
    change = np.abs(d.image.astype(int) - image.astype(int)).max(axis=-1)
    for cid in (1, 2, 4):
        assert (change[d.labels == cid] >= 1).all()


def test_class_selection_and_probability(gray):
    d = synthesize_defects(gray, rng=1, classes=["dust", 6])
    present = set(np.flatnonzero(d.masks.reshape(6, -1).any(axis=1)) + 1)
    assert present == {2, 6}
    assert set(np.unique(d.labels)) <= {0, 2, 6}
    none = synthesize_defects(gray, rng=1, p=0.0)
    assert not none.masks.any() and not none.labels.any()
    np.testing.assert_array_equal(none.image, gray)
    only_text = synthesize_defects(gray, rng=1, p={"text": 1.0, "scratch": 1.0, 2: 0, 3: 0, 5: 0, 6: 0})
    present = set(np.flatnonzero(only_text.masks.reshape(6, -1).any(axis=1)) + 1)
    assert present == {1, 4}


def test_seeded_reproducibility(rgb):
    a = synthesize_defects(rgb, rng=np.random.default_rng(9), channel_axis=-1)
    b = synthesize_defects(rgb, rng=np.random.default_rng(9), channel_axis=-1)
    c = synthesize_defects(rgb, rng=np.random.default_rng(10), channel_axis=-1)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.image, c.image)


def test_channel_axis_first(rgb):
    image = np.moveaxis(_as(rgb, np.uint8), -1, 0).copy()
    d = synthesize_defects(image, rng=2, channel_axis=0)
    assert d.image.shape == image.shape
    assert d.labels.shape == image.shape[1:]
    union = d.masks.any(axis=0)
    np.testing.assert_array_equal(d.image[:, ~union], image[:, ~union])


def test_float_data_outside_unit_range_keeps_its_range(gray):
    elevation = (gray * 3000 - 1000).astype(np.float64)  # metres, say
    d = synthesize_defects(elevation, rng=3)
    assert d.image.dtype == np.float64
    assert elevation.min() - 1e-6 <= d.image.min() and d.image.max() <= elevation.max() + 1e-6
    union = d.masks.any(axis=0)
    np.testing.assert_array_equal(d.image[~union], elevation[~union])
    assert np.abs(d.image - elevation)[union].mean() > 1.0


def test_tiny_images_work():
    face = np.random.default_rng(0).random((25, 25)).astype(np.float32)
    d = synthesize_defects(face, rng=0)
    assert d.image.shape == (25, 25) and d.masks.any()


@pytest.mark.parametrize(
    ("shape", "channel_axis"), [((8, 8, 3), None), ((8, 8), -1), ((2, 8, 8, 3), -1)]
)
def test_bad_shapes_raise(shape, channel_axis):
    with pytest.raises(ValueError):
        synthesize_defects(np.zeros(shape, np.float32), rng=0, channel_axis=channel_axis)


def test_nan_pixels_stay_nan_and_unlabelled(gray):
    image = gray.astype(np.float64)
    image[10:20, 10:20] = np.nan
    d = synthesize_defects(image, rng=5, classes=["moire", "blotch"])
    assert d.masks[5].mean() > 0.95  # whole-image moire: all but the NaN pixels
    assert np.isnan(d.image[10:20, 10:20]).all()
    assert not d.masks[:, 10:20, 10:20].any() and not d.labels[10:20, 10:20].any()
    assert np.isfinite(d.image).sum() == np.isfinite(image).sum()
