import numpy as np
import pytest

from napari_mend.synthesis import (
    ALL_IMAGES,
    TRAIN_IMAGES,
    VAL_IMAGES,
    corpus_images,
    load_corpus_image,
)


def test_split_is_by_image_disjoint_and_complete():
    assert not set(TRAIN_IMAGES) & set(VAL_IMAGES)
    assert set(TRAIN_IMAGES) | set(VAL_IMAGES) == set(ALL_IMAGES)
    assert len(set(ALL_IMAGES)) == len(ALL_IMAGES) == 17 + 200
    assert 10 <= len(VAL_IMAGES) <= len(ALL_IMAGES) // 4
    assert {"astronaut", "camera", "topobathy"} <= set(TRAIN_IMAGES)


def test_every_listed_image_loads():
    images = corpus_images("all")
    assert [name for name, _ in images] == list(ALL_IMAGES)
    for name, img in images:
        assert img.dtype == np.float32, name
        assert img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3), name
        assert min(img.shape[:2]) >= 25, name
        assert 0 <= img.min() and img.max() <= 1, name
        assert img.max() > img.min(), name


def test_split_lists_match_names():
    assert [n for n, _ in corpus_images("train")] == list(TRAIN_IMAGES)
    assert [n for n, _ in corpus_images("val")] == list(VAL_IMAGES)


def test_cached_images_are_read_only_and_loads_are_copies():
    (_, cached), *_ = corpus_images("train")
    with pytest.raises(ValueError):
        cached[0, 0] = 0
    img = load_corpus_image(TRAIN_IMAGES[0])
    img[...] = 0  # a fresh copy: the cache stays intact
    assert corpus_images("train")[0][1].max() > 0


def test_topobathy_and_lfw_are_rescaled_to_unit_range():
    topo = load_corpus_image("topobathy")
    assert topo.shape == (91, 120) and topo.min() == 0 and topo.max() == 1
    face = load_corpus_image("lfw_subset:17")
    assert face.shape == (25, 25)


@pytest.mark.parametrize("name", ["lena", "lfw_subset:200", "lfw_subset:-1"])
def test_unknown_names_raise(name):
    with pytest.raises(ValueError):
        load_corpus_image(name)


def test_unknown_split_raises():
    with pytest.raises(ValueError, match="split"):
        corpus_images("test")
