"""Scores to Labels: thresholds, classes and the removal of small pieces."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_mend.detection.scores import drop_small_pieces, scores_to_labels


def _reference_drop(labels, min_size):
    """Small pieces dropped with one labelling of the whole image."""
    out = labels.copy()
    for value in np.unique(labels[labels > 0]):
        pieces, _ = ndi.label(labels == value, structure=np.ones((3, 3)))
        sizes = np.bincount(pieces.ravel())
        small = sizes < min_size
        small[0] = False
        out[small[pieces]] = 0
    return out


@pytest.mark.parametrize("min_size", [2, 5, 30])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_strip_wise_drop_equals_one_whole_image_labelling(min_size, rows):
    rng = np.random.default_rng(min_size * 100 + rows)
    # speckle plus long pieces that cross many strips (a diagonal, a column)
    labels = np.where(rng.random((90, 70)) < 0.12, rng.integers(1, 4, (90, 70)), 0).astype(np.uint8)
    labels[np.arange(90), np.arange(90) % 70] = 2
    labels[5:85, 33] = 3
    expected = _reference_drop(labels, min_size)
    got = labels.copy()
    drop_small_pieces(got, min_size, rows=rows)
    np.testing.assert_array_equal(got, expected)
    assert (got != labels).any()  # something was dropped


def test_scores_to_labels_thresholds_picks_the_best_class_and_drops_specks():
    scores = np.zeros((6, 20, 20), np.float16)
    scores[0, 2:12, 5] = 0.9  # a 10-px scratch
    scores[4, 2:12, 5] = 0.6  # weaker watermark score at the same place
    scores[1, 15, 15] = 0.9  # a lone pixel: dropped with min_size=2
    labels = scores_to_labels(scores)
    assert labels.dtype == np.uint8
    assert (labels[2:12, 5] == 1).all() and labels.sum() == 10
    assert labels[15, 15] == 0
    assert scores_to_labels(scores, min_size=1)[15, 15] == 2
    dust_only = scores_to_labels(scores, classes=["dust"], min_size=1)
    assert dust_only[15, 15] == 2 and dust_only.sum() == 2
    assert (scores_to_labels(scores, classes=["watermark"])[2:12, 5] == 5).all()
    assert not scores_to_labels(scores, threshold=0.95).any()


def test_each_class_can_have_its_own_threshold():
    scores = np.zeros((6, 4, 4), np.float32)
    scores[0, :, :2] = 0.6  # scratch scores 0.6 on the left
    scores[3, :, 2:] = 0.8  # text 0.8 on the right
    scores[3, 0, 0] = 0.7  # text beats scratch here, but only past its own threshold
    both = scores_to_labels(scores, threshold={"scratch": 0.5, "text": 0.75}, min_size=1)
    assert (both[:, 2:] == 4).all() and (both[1:, :2] == 1).all() and both[0, 0] == 1
    only_text = scores_to_labels(scores, threshold={"text": 0.75}, min_size=1)
    assert (only_text[:, :2] == 0).all() and (only_text[:, 2:] == 4).all()
    single = scores_to_labels(scores, threshold=0.65, min_size=1)
    np.testing.assert_array_equal(
        single, scores_to_labels(scores, threshold=dict.fromkeys(range(1, 7), 0.65),
                                 min_size=1))
    for bad in ({"scratch": 1.5}, {"nope": 0.5}, -0.1, "0.5"):
        with pytest.raises(ValueError):
            scores_to_labels(scores, threshold=bad)
