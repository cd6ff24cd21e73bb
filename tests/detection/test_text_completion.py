"""Growing detected burned-in text to whole annotations."""

import importlib

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import data

import napari_mend as nm
from napari_mend.classes import CLASS_IDS
from napari_mend.detection import complete_text
from napari_mend.synthesis.text import render_text_mask

TEXT = CLASS_IDS["text"]
TEXT_LINES = "PAT ID 0042-17\n2026-11-25 R"


def annotated(colour=(1.0, 1.0, 0.2), *, label_background=None):
    """An astronaut crop with a burned-in, anti-aliased two-line annotation, and its pixels."""
    image = data.astronaut()[100:260, 180:420].astype(np.float32) / 255
    cover = render_text_mask(image.shape[:2], TEXT_LINES, size=16, position=(20, 12))
    drawn = cover > 0
    if label_background is not None:
        rows, cols = np.nonzero(drawn)
        box = (slice(rows.min() - 3, rows.max() + 4), slice(cols.min() - 3, cols.max() + 4))
        image[box] = label_background
        drawn = np.zeros_like(drawn)
        drawn[box] = True
    image = image * (1 - cover[..., None]) + np.asarray(colour, np.float32) * cover[..., None]
    return image, drawn


def partial_detection(cover_mask, band=None):
    """Labels that 'find' the strong text pixels in every other band of ``band`` columns.

    Like a detector that misses glyphs here and there (and their faint rims).
    """
    labels = np.zeros(cover_mask.shape, np.uint8)
    cols = np.arange(cover_mask.shape[1])[None, :]
    labels[cover_mask & ((cols // band) % 2 == 0 if band else True)] = TEXT
    return labels


def partly_found(dtype=np.float32):
    """The annotated image in ``dtype``, its drawn pixels, and labels finding about a third."""
    image, drawn = annotated()
    if dtype == np.uint8:
        image = np.round(image * 255).astype(np.uint8)
    strong = render_text_mask(image.shape[:2], TEXT_LINES, size=16, position=(20, 12)) > 0.6
    return image, drawn, partial_detection(strong, band=20)


def test_missed_glyphs_and_rims_join_the_detected_text():
    image, drawn, labels = partly_found()
    before = labels.copy(), image.copy()
    grown = complete_text(image, labels, channel_axis=-1)
    np.testing.assert_array_equal(labels, before[0])
    np.testing.assert_array_equal(image, before[1])
    found, now = labels == TEXT, grown == TEXT
    assert found[drawn].mean() < 0.4  # the detector found a third of the annotation
    assert now[drawn].mean() > 0.97  # completed: nearly every drawn pixel
    assert (now & ~drawn).sum() < drawn.sum()  # growth stays around the annotation
    assert (grown[found] == TEXT).all()


def test_label_background_is_taken_with_the_text():
    image, drawn = annotated(colour=(0.0, 0.0, 0.0), label_background=(0.95, 0.95, 0.9))
    cover = render_text_mask(image.shape[:2], TEXT_LINES, size=16, position=(20, 12)) > 0.6
    grown = complete_text(image, partial_detection(cover), channel_axis=-1)
    assert (grown == TEXT)[drawn].mean() > 0.95


def boxed(outline=(0.2, 0.4, 1.0)):
    """An astronaut crop with a 2-px region-of-interest box, its pixels, and one corner 'found'."""
    image = data.astronaut()[100:260, 120:420].astype(np.float32) / 255
    drawn = np.zeros(image.shape[:2], bool)
    drawn[30:120, 40:240] = True
    drawn[32:118, 42:238] = False
    image[drawn] = outline
    labels = np.zeros(drawn.shape, np.uint8)
    labels[28:50, 38:60] = TEXT * drawn[28:50, 38:60]  # the detector found the top-left corner
    return image, drawn, labels


def test_box_outlines_are_followed_beyond_the_growth_reach():
    image, drawn, labels = boxed()
    grown = complete_text(image, labels, channel_axis=-1) == TEXT
    assert (labels == TEXT)[drawn].mean() < 0.1
    assert grown[drawn].mean() > 0.97  # 200 x 90 px box from a 20 px corner
    near = ndi.binary_dilation(drawn, iterations=2)  # the rim: one pixel and anti-aliasing
    assert (grown & ~near).sum() < 0.05 * drawn.sum()
    # a line far longer than LINE_REACH is followed LINE_REACH px beyond what was found
    from napari_mend.detection.text_completion import LINE_REACH

    line = np.zeros((40, 900), bool)
    line[20:22, 10:890] = True
    plane = np.where(line[..., None], 1.0, np.tile(data.camera()[:40], (1, 2))[:, :900, None] / 512).astype(np.float32)
    found = np.zeros(line.shape, np.uint8)
    found[20:22, 10:40] = TEXT
    followed = np.flatnonzero((complete_text(plane[..., 0], found) == TEXT)[20])
    assert 40 + LINE_REACH <= followed.max() < 40 + LINE_REACH + 8


def test_strokes_do_not_flood_an_area_of_the_text_colour():
    image, drawn, labels = boxed(outline=(1.0, 1.0, 1.0))
    image[130:160, :] = 1.0  # a white band under the box, touching nothing found
    image[118:130, 60:200] = 1.0  # ... joined to the box by a white area
    grown = complete_text(image, labels, channel_axis=-1) == TEXT
    assert grown[135:160].mean() < 0.05


def test_other_classes_low_contrast_and_no_text_are_left_alone():
    image, drawn = annotated()
    labels = partial_detection(drawn, band=20)
    labels[:, 100:] = CLASS_IDS["scratch"]
    grown = complete_text(image, labels, channel_axis=-1)
    np.testing.assert_array_equal(grown[:, 100:], labels[:, 100:])
    # text of the background's own colour cannot be told apart: left as found
    flat = np.full((60, 80), 0.5, np.float32)
    found = np.zeros((60, 80), np.uint8)
    found[20:24, 10:40] = TEXT
    np.testing.assert_array_equal(complete_text(flat, found), found)
    empty = np.zeros_like(labels)
    assert not complete_text(image, empty, channel_axis=-1).any()
    with pytest.raises(ValueError, match="do not match"):
        complete_text(image, labels[:-1], channel_axis=-1)


def test_restore_completes_text_unless_asked_not_to(monkeypatch):
    restore_module = importlib.import_module("napari_mend.restore")
    from napari_mend.detection.scores import DefectScores

    image, drawn, labels = partly_found(np.uint8)

    def detect_scores(img, **kwargs):
        scores = np.zeros((6,) + labels.shape, np.float32)
        scores[TEXT - 1][labels == TEXT] = 0.99  # past the card's unattended text threshold
        return DefectScores(scores=scores, method="learned")

    monkeypatch.setattr(restore_module, "detect_scores", detect_scores)
    _, found = nm.restore(image, channel_axis=-1, fill="telea", classes=["text"])
    _, as_found = nm.restore(image, channel_axis=-1, fill="telea", classes=["text"],
                             complete_text=False)
    assert (found == TEXT)[drawn].mean() > 0.97
    np.testing.assert_array_equal(as_found, detect_scores(image).labels(classes=["text"]))


def test_only_detections_that_can_hold_text_are_completed():
    from napari_mend.detection.text_completion import may_find_text

    assert may_find_text("learned") and may_find_text("learned", ["text", "dust"])
    assert not may_find_text("learned", ["scratch", "watermark"])
    assert not may_find_text("classical")  # the classical detector never labels text


def test_stacks_and_lazy_images_are_completed_plane_by_plane():
    da = pytest.importorskip("dask.array")
    image, drawn, labels = partly_found(np.uint8)
    one = complete_text(image, labels, channel_axis=-1)
    stack = np.stack([image, image[:, ::-1]])
    stack_labels = np.stack([labels, labels[:, ::-1]])
    both = complete_text(stack, stack_labels, channel_axis=-1)
    np.testing.assert_array_equal(both[0], one)
    np.testing.assert_array_equal(both[1], complete_text(image[:, ::-1], labels[:, ::-1],
                                                         channel_axis=-1))
    lazy = complete_text(da.from_array(image, chunks=(64, 64, 3)), labels, channel_axis=-1)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), one)  # blocks of 2048 px: one block here
    # blocks of 64 px, each with 64 px of context: the same as in memory
    small_blocks = complete_text(da.from_array(image), labels, channel_axis=-1, chunk=64)
    np.testing.assert_array_equal(small_blocks.compute(), one)


def test_lazy_completion_follows_strokes_across_blocks():
    da = pytest.importorskip("dask.array")
    image, drawn, labels = boxed()
    one = complete_text(image, labels, channel_axis=-1)
    small_blocks = complete_text(da.from_array(image), labels, channel_axis=-1, chunk=64)
    np.testing.assert_array_equal(small_blocks.compute(), one)
    assert (one == TEXT)[drawn].all()


def test_a_text_label_on_a_patch_without_strokes_is_not_grown():
    """A dark patch of the photograph taken for text (no thin strokes inside) stays as found,
    though pixels of its colour lie all around it."""
    image = data.astronaut()[100:260, 180:420].astype(np.float32) / 255
    yy, xx = np.mgrid[:160, :240]
    patch = (yy - 80) ** 2 + (xx - 120) ** 2 < 30 ** 2
    image[patch] = (0.05, 0.05, 0.3)
    image[(yy - 80) ** 2 + (xx - 170) ** 2 < 15 ** 2] = (0.05, 0.05, 0.3)  # another, nearby
    labels = np.where(patch, TEXT, 0).astype(np.uint8)  # the patch taken for text
    grown = complete_text(image, labels, channel_axis=-1)
    np.testing.assert_array_equal(grown, labels)
    _, drawn, found = partly_found()  # strokes still grow
    assert (complete_text(annotated()[0], found, channel_axis=-1) == TEXT)[drawn].mean() > 0.9
