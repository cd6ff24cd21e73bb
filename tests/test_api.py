"""Public API contract: shapes, dtypes, stacks, bit-identity outside the mask, bad input."""

import numpy as np
import pytest
from helpers import camera_scratch

import napari_mend as nm

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]


def make_image(dtype, channel_axis, stack, rng):
    shape = (48, 40)
    if stack:
        shape = (3,) + shape
    base = rng.random(shape)
    if channel_axis is not None:
        base = np.stack([base, base[..., ::-1], 1 - base], axis=channel_axis)
    if np.dtype(dtype).kind == "u":
        return (base * np.iinfo(dtype).max).astype(dtype)
    return (base * 7.5 - 2).astype(dtype)  # floats keep any range


def spatial(image, channel_axis):
    return image.shape if channel_axis is None else np.delete(image.shape, channel_axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channel_axis", [None, -1, 0])
@pytest.mark.parametrize("stack", [False, True])
@pytest.mark.parametrize("method", ["biharmonic", "telea", "ns", "auto"])
def test_inpaint_contract(dtype, channel_axis, stack, method):
    rng = np.random.default_rng(0)
    if channel_axis == 0 and stack:
        channel_axis = 1  # (Z, C, M, N) is not a plane layout; colour first only for 2D
    image = make_image(dtype, channel_axis, stack, rng)
    before = image.copy()
    mask = np.zeros(tuple(spatial(image, channel_axis)), bool)
    mask[..., 10:14, 5:30] = True
    out = nm.inpaint(image, mask, channel_axis=channel_axis, method=method)
    assert out.shape == image.shape and out.dtype == image.dtype
    np.testing.assert_array_equal(image, before)  # input untouched
    full = mask if channel_axis is None else np.expand_dims(mask, channel_axis)
    full = np.broadcast_to(full, image.shape)
    np.testing.assert_array_equal(out[~full], image[~full])  # bit-identical outside
    if channel_axis in (None, -1):  # inside: a smooth fill, far from the random values
        assert not np.array_equal(out[full], image[full])


def test_inpaint_fills_smooth_gradient_accurately():
    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float64), (64, 1))
    mask = np.zeros(ramp.shape, bool)
    mask[30:34, 10:50] = True
    for method in ("biharmonic", "telea", "ns"):
        out = nm.inpaint(ramp, mask, method=method)
        assert np.abs(out[mask] - ramp[mask]).max() < 0.02, method


def test_biharmonic_fills_a_large_hole_in_a_float32_gradient_accurately():
    """Solved in float32, scikit-image's biharmonic fill drifts off on large holes (44 dB here)."""
    y, x = np.mgrid[:384, :384] / 384.0
    gradient = np.stack([x, y, 0.5 * (x * x + y)], axis=-1).astype(np.float32)
    hole = np.hypot(*np.mgrid[-192:192, -192:192]) < 70
    out = nm.inpaint(gradient, hole, channel_axis=-1, method="biharmonic")
    assert out.dtype == np.float32
    assert np.abs(out[hole] - gradient[hole]).max() < 1e-4


def test_uint16_precision_kept_by_opencv_fills():
    # values differing by 1 DN in uint16 must survive: no 8-bit round trip
    image = (np.arange(64 * 64).reshape(64, 64) % 4096 + 30000).astype(np.uint16)
    image = np.tile(np.arange(64, dtype=np.uint16) + 30000, (64, 1))
    mask = np.zeros(image.shape, bool)
    mask[20:22, 10:50] = True
    out = nm.inpaint(image, mask, method="telea")
    assert np.abs(out[mask].astype(int) - image[mask].astype(int)).max() <= 2


def test_labels_mask_and_2d_mask_for_stack():
    rng = np.random.default_rng(1)
    stack = make_image(np.uint8, None, True, rng)
    labels = np.zeros(stack.shape[1:], np.uint8)
    labels[5:8, 5:20] = 3
    labels[20:22, 2:30] = 1
    out = nm.inpaint(stack, labels, method="biharmonic")
    for z in range(stack.shape[0]):
        np.testing.assert_array_equal(out[z][labels == 0], stack[z][labels == 0])


def test_float_mask_and_float16():
    image = np.random.default_rng(2).random((32, 32)).astype(np.float16)
    mask = np.zeros((32, 32), np.float32)
    mask[10:12, 4:20] = 1.0
    mask[0, 0] = 0.3  # below 0.5: not filled
    out = nm.inpaint(image, mask, method="biharmonic")
    assert out.dtype == np.float32
    assert out[0, 0] == np.float32(image[0, 0])


def test_empty_mask_returns_unchanged_copy():
    image = np.random.default_rng(3).random((16, 16))
    out = nm.inpaint(image, np.zeros((16, 16), bool))
    np.testing.assert_array_equal(out, image)
    assert out is not image and not np.shares_memory(out, image)


def test_rgba_alpha_kept():
    rng = np.random.default_rng(4)
    image = (rng.random((32, 32, 4)) * 255).astype(np.uint8)
    mask = np.zeros((32, 32), bool)
    mask[10:14, 10:20] = True
    out = nm.inpaint(image, mask, channel_axis=-1, method="telea")
    np.testing.assert_array_equal(out[..., 3], image[..., 3])


@pytest.mark.parametrize(
    "image, mask, kwargs, error, match",
    [
        (np.zeros(5), np.zeros(5, bool), {}, ValueError, "at least 2 spatial axes"),
        (np.zeros((8, 8)), np.zeros((8, 9), bool), {}, ValueError, "mask has shape"),
        (np.zeros((8, 8, 3)), np.zeros((8, 8), bool), {"channel_axis": 0}, ValueError,
         "not a channel axis"),
        (np.full((8, 8), np.nan), np.zeros((8, 8), bool), {}, ValueError, "NaN"),
        (np.full((8, 8), 1e300), np.eye(8, dtype=bool), {}, ValueError, "float32's range"),
        (np.zeros((8, 8), bool), np.zeros((8, 8), bool), {}, TypeError, "dtype bool"),
        (np.zeros((8, 8), complex), np.zeros((8, 8), bool), {}, TypeError, "complex"),
        (np.zeros((8, 8)), np.ones((8, 8), bool), {}, ValueError, "covers the whole image"),
        (np.zeros((8, 8)), np.full((8, 8), 2.0), {}, ValueError, r"\[0, 1\]"),
        (np.zeros((8, 8)), np.zeros((8, 8), bool), {"method": "magic"}, ValueError,
         "unknown method"),
    ],
)
def test_inpaint_bad_input(image, mask, kwargs, error, match):
    with pytest.raises(error, match=match):
        nm.inpaint(image, mask, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channel_axis", [None, -1])
@pytest.mark.parametrize("stack", [False, True])
def test_detect_contract(dtype, channel_axis, stack):
    image = make_image(dtype, channel_axis, stack, np.random.default_rng(5))
    before = image.copy()
    labels = nm.detect(image, channel_axis=channel_axis, method="classical")
    assert labels.dtype == np.uint8
    assert labels.shape == tuple(spatial(image, channel_axis))
    assert set(np.unique(labels)) <= set(range(7))
    np.testing.assert_array_equal(image, before)


def test_detect_bad_input():
    with pytest.raises(ValueError, match="unknown defect class"):
        nm.detect(np.zeros((8, 8)), method="classical", classes=["smudge"])
    with pytest.raises(ValueError, match="threshold"):
        nm.detect(np.zeros((8, 8)), method="classical", threshold=2)
    with pytest.raises(ValueError, match="unknown method"):
        nm.detect(np.zeros((8, 8)), method="oracle")


def test_restore_returns_mended_and_labels():
    image, (rr, cc) = camera_scratch(256, (5, 40, 250, 60))
    mended, labels = nm.restore(image, detector="classical", fill="biharmonic")
    assert mended.shape == image.shape and mended.dtype == image.dtype
    np.testing.assert_array_equal(mended[labels == 0], image[labels == 0])
    assert labels[rr, cc].mean() > 0.5  # the scratch was found
    assert mended[rr, cc].mean() < 200  # and mended


def test_defect_classes():
    assert nm.DEFECT_CLASSES == {1: "scratch", 2: "dust", 3: "blotch", 4: "text",
                                 5: "watermark", 6: "moire"}


def test_class_counts_names_classes_and_other_values():
    from napari_mend.classes import class_counts

    labels = np.zeros((4, 5), np.uint16)
    labels[0, :3] = 1
    labels[1, 0] = 6
    labels[2, :2] = 40
    assert class_counts(labels) == {"scratch": 3, "moire": 1, "40": 2}
    assert class_counts(np.zeros((3, 3), np.uint8)) == {}


def test_detect_and_inpaint_return_their_provenance():
    from napari_mend.io.provenance import array_sha256

    rng = np.random.default_rng(3)
    image = (rng.random((48, 40)) * 255).astype(np.uint8)
    mask = np.zeros(image.shape, bool)
    mask[10:14, 5:30] = True
    mended, record = nm.inpaint(image, mask, method="biharmonic", return_provenance=True)
    np.testing.assert_array_equal(mended, nm.inpaint(image, mask, method="biharmonic"))
    assert record["operation"] == "inpaint" and record["method"] == "biharmonic"
    assert record["input"]["sha256"] == array_sha256(image)
    assert record["mask"]["changed_pixels"] == int(mask.sum()) and record["model"] is None
    scores = nm.detect_scores(image, method="classical")
    labels = scores.labels(threshold=0.4)
    record = scores.provenance(image, labels, threshold=0.4, source="test")
    assert record["operation"] == "detect" and record["method"] == "classical"
    assert record["parameters"] == {"threshold": 0.4, "source": "test"}
