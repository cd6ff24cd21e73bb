import numpy as np
import pytest

from napari_mend.synthesis import procedural_image


@pytest.mark.parametrize("channels", [1, 3])
def test_procedural_image_shape_dtype_range(channels):
    for seed in range(12):
        img = procedural_image(np.random.default_rng(seed), (48, 80), channels=channels)
        expected = (48, 80) if channels == 1 else (48, 80, 3)
        assert img.shape == expected and img.dtype == np.float32
        assert 0 <= img.min() and img.max() <= 1
        assert img.std() > 0.005, seed


def test_procedural_image_is_seeded_and_varied():
    a = procedural_image(np.random.default_rng(5), (64, 64), channels=3)
    b = procedural_image(np.random.default_rng(5), (64, 64), channels=3)
    c = procedural_image(np.random.default_rng(6), (64, 64), channels=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_procedural_image_rejects_bad_channels():
    with pytest.raises(ValueError):
        procedural_image(0, (8, 8), channels=2)
