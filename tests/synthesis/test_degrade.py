import numpy as np
import pytest

from napari_mend.synthesis import degrade


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("color", [False, True])
def test_degrade_keeps_shape_dtype_and_input(dtype, color, rgb, gray):
    image = rgb if color else gray
    if np.issubdtype(dtype, np.integer):
        image = np.round(image * np.iinfo(dtype).max)
    image = image.astype(dtype)
    before = image.copy()
    changed = 0
    for seed in range(6):
        out = degrade(image, seed, channel_axis=-1 if color else None)
        assert out.shape == image.shape and out.dtype == image.dtype
        changed += not np.array_equal(out, image)
    np.testing.assert_array_equal(image, before)
    assert changed >= 3


def test_degrade_is_seeded_and_moderate(rgb):
    a = degrade(rgb, 4, channel_axis=-1)
    np.testing.assert_array_equal(a, degrade(rgb, 4, channel_axis=-1))
    for seed in range(10):
        out = degrade(rgb, seed, channel_axis=-1)
        assert np.abs(out - rgb).mean() < 0.06  # still the same picture
        assert 0 <= out.min() and out.max() <= 1


def test_degrade_keeps_data_range_of_scientific_floats(gray):
    metres = (gray * 3000 - 1000).astype(np.float64)
    out = degrade(metres, 1)
    assert metres.min() - 1e-6 <= out.min() and out.max() <= metres.max() + 1e-6
