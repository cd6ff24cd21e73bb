import numpy as np
import pytest

from scipy import ndimage as ndi

from napari_mend.synthesis import procedural_image
from napari_mend.synthesis.procedural import BASIC_KINDS, CONTENT_KINDS


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


@pytest.mark.parametrize("kind", CONTENT_KINDS)
@pytest.mark.parametrize("channels", [1, 3])
def test_content_kinds_are_valid_seeded_images(kind, channels):
    for seed in range(4):
        img = procedural_image(np.random.default_rng(seed), (72, 96), channels=channels, kinds=[kind])
        assert img.shape == ((72, 96) if channels == 1 else (72, 96, 3)) and img.dtype == np.float32
        assert 0 <= img.min() and img.max() <= 1 and img.std() > 0.005, (kind, seed)
        again = procedural_image(np.random.default_rng(seed), (72, 96), channels=channels, kinds=[kind])
        np.testing.assert_array_equal(img, again)


def test_star_fields_are_point_sources():
    stars = procedural_image(np.random.default_rng(1), (128, 128), kinds=["stars"])
    peaks = (stars == ndi.maximum_filter(stars, 5)) & (stars > np.median(stars) + 0.1)
    assert peaks.sum() >= 10  # many small bright points
    assert (stars > np.median(stars) + 0.1).mean() < 0.05  # on a dark sky


def test_default_kinds_are_the_basic_ones_and_unknown_kinds_are_refused():
    a = procedural_image(np.random.default_rng(9), (40, 40), channels=3)
    b = procedural_image(np.random.default_rng(9), (40, 40), channels=3, kinds=BASIC_KINDS)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="kinds"):
        procedural_image(0, (8, 8), kinds=["clouds"])
