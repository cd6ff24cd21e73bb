import numpy as np
import pytest

from napari_mend.synthesis import DEFECT_FUNCTIONS, add_moire, add_watermark
from napari_mend.synthesis.layers import CHANGE_TOL

CLASSES = list(DEFECT_FUNCTIONS)


def _run(name, image, seed, **opts):
    out = DEFECT_FUNCTIONS[name](image, np.random.default_rng(seed), **opts)
    return out[0], out[1]


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_kept_input_untouched(name, color, dtype, rgb, gray):
    image = (rgb if color else gray).astype(dtype)
    before = image.copy()
    damaged, mask = _run(name, image, 1)
    np.testing.assert_array_equal(image, before)
    assert damaged.shape == image.shape and damaged.dtype == dtype
    assert mask.shape == image.shape[:2] and mask.dtype == bool
    assert 0 <= damaged.min() and damaged.max() <= 1


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mask_aligns_with_damage(name, dtype, rgb):
    rgb = rgb.astype(dtype)
    for seed in range(4):
        damaged, mask = _run(name, rgb, seed)
        assert mask.any(), (name, seed)
        change = np.abs(damaged - rgb).max(axis=-1)
        np.testing.assert_array_equal(damaged[~mask], rgb[~mask])
        if name == "moire":  # a texture: the region changes on average
            assert change[mask].mean() > CHANGE_TOL
        else:
            assert (change[mask] > CHANGE_TOL).all()


@pytest.mark.parametrize("name", CLASSES)
def test_seeded_reproducibility(name, gray):
    a, ma = _run(name, gray, 11)
    b, mb = _run(name, gray, 11)
    c, _ = _run(name, gray, 12)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", CLASSES)
def test_integer_images_are_refused(name, gray):
    with pytest.raises(TypeError, match="float"):
        DEFECT_FUNCTIONS[name]((gray * 255).astype(np.uint8), 0)


@pytest.mark.parametrize("layout", ["single", "tiled", "diagonal"])
def test_watermark_info_reproduces_the_blend(layout, rgb):
    damaged, mask, info = add_watermark(rgb, 3, layout=layout, opacity=0.5)
    alpha, mark = info["alpha"], info["mark"]
    assert alpha.shape == rgb.shape[:2] and mark.shape == rgb.shape
    assert 0 < alpha.max() <= 0.5 + 1e-6
    np.testing.assert_array_equal(alpha > 0, mask)
    blend = alpha[..., None] * mark + (1 - alpha[..., None]) * rgb
    np.testing.assert_allclose(damaged, blend, atol=1e-5)


def test_watermark_opacity_in_documented_range(gray):
    for seed in range(10):
        _, _, info = add_watermark(gray, seed)
        assert 0.02 < info["alpha"].max() <= 0.7 + 1e-6
        assert info["mark"].shape == gray.shape


def test_moire_region_and_whole_image(rgb):
    _, whole = add_moire(rgb, 0, region=False)
    assert whole.all()
    damaged, part = add_moire(rgb, 0, region=True)
    assert 0 < part.mean() < 1
    np.testing.assert_array_equal(damaged[~part], rgb[~part])
