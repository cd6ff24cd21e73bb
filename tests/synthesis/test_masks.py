import numpy as np
import pytest

from napari_mend.synthesis import MASK_FAMILIES, inpainting_mask

# (lowest, highest) coverage seen over the seeds of a family
COVERAGE = {
    "thin": (0.0005, 0.15),
    "dust": (0.0001, 0.08),
    "text": (0.001, 0.4),
    "logo": (0.001, 0.4),
    "blotch": (0.001, 0.4),
    "large": (0.02, 0.4),
}


@pytest.mark.parametrize("family", MASK_FAMILIES)
def test_mask_family_coverage_in_range(family):
    lo, hi = COVERAGE[family]
    covs = []
    for seed in range(8):
        mask = inpainting_mask((96, 128), np.random.default_rng(seed), family=family)
        assert mask.dtype == bool and mask.shape == (96, 128)
        covs.append(mask.mean())
    assert lo <= min(covs) and max(covs) <= hi, covs


def test_large_masks_reach_tens_of_percent_and_thin_stay_small():
    large = [inpainting_mask((64, 64), s, family="large").mean() for s in range(10)]
    thin = [inpainting_mask((64, 64), s, family="thin").mean() for s in range(10)]
    assert max(large) > 0.15
    assert np.median(thin) < 0.1


def test_random_family_tiny_image_never_empty_and_seeded():
    for seed in range(20):
        mask = inpainting_mask((16, 16), seed)
        assert 0 < mask.sum() <= 0.4 * 256
    np.testing.assert_array_equal(inpainting_mask((40, 40), 7), inpainting_mask((40, 40), 7))


def test_unknown_family_raises():
    with pytest.raises(ValueError, match="family"):
        inpainting_mask((8, 8), 0, family="holes")
