"""Classical detector: finds clear scratches and dust, stays quiet on clean and constant images."""

import numpy as np
import pytest
from skimage import data, draw

import napari_mend as nm
from napari_mend.detection.classical import classical_scores


def f1(pred, truth):
    tp = np.sum(pred & truth)
    return 2 * tp / max(pred.sum() + truth.sum(), 1)


@pytest.fixture
def damaged_camera():
    image = data.camera().copy()
    truth = np.zeros(image.shape, np.uint8)
    for r0, c0, r1, c1, value in [(0, 100, 511, 130, 250), (0, 400, 511, 395, 8)]:
        rr, cc = draw.line(r0, c0, r1, c1)
        for dc in (0, 1):
            image[rr, cc + dc] = value
            truth[rr, cc + dc] = 1
    rng = np.random.default_rng(0)
    for k in range(25):
        r, c = rng.integers(20, 490, 2)
        rr, cc = draw.disk((r, c), rng.integers(2, 5), shape=image.shape)
        image[rr, cc] = 5 if k % 2 else 250
        truth[rr, cc] = 2
    return image, truth


def test_finds_scratches_and_dust(damaged_camera):
    image, truth = damaged_camera
    labels = nm.detect(image, method="classical")
    assert f1(labels == 1, truth == 1) > 0.6
    # Dust specks: most are found (some sit on similar-valued content and are invisible).
    found = [labels[truth == 2][i] == 2 for i in range(int((truth == 2).sum()))]
    assert np.mean(found) > 0.3


def test_lower_threshold_finds_more(damaged_camera):
    image, _ = damaged_camera
    scores = nm.detect_scores(image, method="classical")
    counts = [int((scores.labels(threshold=t) > 0).sum()) for t in (0.9, 0.5, 0.3)]
    assert counts[0] <= counts[1] <= counts[2]
    assert counts[2] > counts[0]


@pytest.mark.parametrize("value", [0, 17, 255])
def test_constant_image_has_no_defects(value):
    assert not nm.detect(np.full((64, 80), value, np.uint8), method="classical").any()


def test_few_false_alarms_on_clean_photo():
    labels = nm.detect(data.camera(), method="classical")
    assert (labels > 0).mean() < 0.01


def test_scores_range_and_unsupported_classes_zero():
    scores = classical_scores(np.random.default_rng(0).random((40, 50, 1)).astype(np.float32))
    assert scores.shape == (6, 40, 50)
    assert scores.min() >= 0 and scores.max() <= 1
    assert not scores[3:].any()  # text, watermark, moire: learned detector only


@pytest.mark.parametrize("shape", [(1, 50), (50, 1), (2, 2), (3, 300)])
def test_tiny_and_one_pixel_wide_images(shape):
    labels = nm.detect(np.random.default_rng(1).random(shape), method="classical")
    assert labels.shape == shape
