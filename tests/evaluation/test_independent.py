"""The independent validation generator: reproducible, honest labels, standalone."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from napari_mend.evaluation import independent as ind
from napari_mend.evaluation.independent import clean_scenes, fonts, watermarks
from napari_mend.evaluation.independent.compositing import visible_change
from napari_mend.evaluation.independent.halftone_moire import add_moire

PACKAGE_DIR = os.path.dirname(ind.__file__)
MOIRE = 6


def _clean(seed, grey, size=72, kind="relief_landscape"):
    return clean_scenes.clean_image(np.random.default_rng(seed), size, kind=kind, grey=grey)


def test_classes_are_the_six_defects():
    assert ind.CLASSES == {1: "scratch", 2: "dust", 3: "blotch", 4: "text", 5: "watermark", 6: "moire"}
    assert set(ind.DEFECTS) == set(ind.CLASSES)


def test_dataset_is_reproducible_from_its_seed():
    first = list(ind.dataset(seed=5, n_per_class=1, size=48))
    again = list(ind.dataset(seed=5, n_per_class=1, size=48))
    other = list(ind.dataset(seed=6, n_per_class=1, size=48))
    assert [s.cls for s in first] == sorted(ind.CLASSES)
    for a, b in zip(first, again):
        for x, y in zip(a[:3], b[:3]):
            np.testing.assert_array_equal(x, y)
    assert any(a.damaged.shape != b.damaged.shape or not np.array_equal(a.damaged, b.damaged)
               for a, b in zip(first, other))
    # A sample depends on (seed, class, index) only: a subset reproduces it.
    only_dust = next(ind.dataset(seed=5, n_per_class=1, size=48, classes=[2]))
    np.testing.assert_array_equal(only_dust.damaged, first[1].damaged)


def test_damaged_sample_is_reproducible_from_rng():
    clean = _clean(0, grey=False)
    for cls in ind.CLASSES:
        a = ind.damaged_sample(clean, cls, np.random.default_rng(11))
        b = ind.damaged_sample(clean, cls, np.random.default_rng(11))
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_clean_images_shapes_and_ranges():
    images = ind.clean_images(np.random.default_rng(1), 6, size=(40, 56))
    assert len(images) == 6
    for img in images:
        assert img.dtype == np.float32 and img.shape[:2] == (40, 56)
        assert img.ndim == 2 or img.shape[2] == 3
        assert 0.0 <= img.min() and img.max() <= 1.0
    for kind in ind.SCENES:
        img = clean_scenes.clean_image(np.random.default_rng(2), 48, kind=kind, grey=False)
        assert img.shape == (48, 48, 3) and img.std() > 0.01


def test_clean_images_avoid_the_training_images():
    training = {"astronaut", "brick", "camera", "cell", "chelsea", "coffee", "coins", "color", "grass",
                "gravel", "hubble_deep_field", "moon", "motorcycle_left", "page", "rocket", "text",
                "lfw_subset", "topobathy"}
    for name in clean_scenes.SHIPPED_FILES:
        assert os.path.splitext(name)[0] not in training
    source = "".join(open(os.path.join(PACKAGE_DIR, f)).read() for f in os.listdir(PACKAGE_DIR) if f.endswith(".py"))
    assert "skimage.data" not in source and "data." + "astronaut" not in source


@pytest.mark.parametrize("cls", sorted(ind.CLASSES))
@pytest.mark.parametrize("grey", [False, True])
def test_labels_mark_exactly_the_visibly_changed_pixels(cls, grey):
    for seed in range(2):
        clean = _clean(10 + seed, grey, kind=("micrograph", "gabor_patchwork")[seed])
        rng = np.random.default_rng(100 * cls + seed)
        damaged, labels = ind.damaged_sample(clean, cls, rng)
        assert damaged.dtype == np.float32 and damaged.shape == clean.shape
        assert 0.0 <= damaged.min() and damaged.max() <= 1.0
        assert labels.dtype == np.uint8 and labels.shape == clean.shape[:2]
        assert set(np.unique(labels)) <= {0, cls}
        assert (labels == cls).sum() > 0, "every class yields a non-empty label"
        changed = visible_change(clean, damaged)
        marked = labels > 0
        assert not (changed & ~marked).any(), "a visibly changed pixel is unlabelled"
        if cls == MOIRE:  # a region label: the whole affected rectangle
            assert changed[marked].mean() >= 0.2
        else:
            assert not (marked & ~changed).any(), "a labelled pixel did not change"
            assert (changed & marked).sum() >= 0.9 * changed.sum()


def test_overlapping_defects_later_class_wins():
    clean = _clean(3, grey=False, size=96)
    damaged, labels = ind.damaged_sample(clean, [3, 4], np.random.default_rng(9))
    rng = np.random.default_rng(9)
    first, labels_first = ind.damaged_sample(clean, 3, rng)
    second, labels_second = ind.damaged_sample(first, 4, rng)
    np.testing.assert_array_equal(damaged, second)
    expected = np.where(labels_second == 4, 4, labels_first).astype(np.uint8)
    expected[~visible_change(clean, damaged)] = 0
    np.testing.assert_array_equal(labels, expected)
    assert {3, 4} <= set(np.unique(labels))


def _power(img):
    g = img if img.ndim == 2 else img.mean(axis=2)
    g = g - g.mean()
    window = np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2(g * window))) ** 2
    h, w = power.shape
    yy, xx = np.mgrid[0:h, 0:w]
    away_from_dc = np.hypot((yy - h // 2) / h, (xx - w // 2) / w) > 0.04
    return power, away_from_dc


@pytest.mark.parametrize("seed", range(6))
def test_moire_adds_a_spectral_peak_the_clean_image_lacks(seed):
    kind = ("micrograph", "relief_landscape", "word_block_document")[seed % 3]
    clean = clean_scenes.clean_image(np.random.default_rng(seed), 128, kind=kind, grey=seed % 2 == 1)
    damaged, footprint = add_moire(clean, np.random.default_rng(1000 + seed))
    rows, cols = np.flatnonzero(footprint.any(axis=1)), np.flatnonzero(footprint.any(axis=0))
    assert footprint.sum() == rows.size * cols.size, "moire covers a rectangle"
    region = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    p_damaged, away = _power(damaged[region])
    p_clean, _ = _power(clean[region])
    floor = np.median(p_damaged[away])
    # The frequency that gained the most power relative to the clean image.
    peak = np.unravel_index(np.argmax(np.where(away, p_damaged / (p_clean + floor), -np.inf)), p_damaged.shape)
    assert p_damaged[peak] > 20 * p_clean[peak]
    assert p_damaged[peak] > 100 * floor


def test_text_and_watermarks_are_not_drawn_with_dejavu():
    candidates = fonts.candidate_fonts()
    assert all("dejavu" not in path.lower() for path, _ in candidates)
    used = []
    clean = _clean(4, grey=False, size=128)
    for seed in range(8):
        ind.damaged_sample(clean, 4, np.random.default_rng(seed), fonts_used=used)
        ind.damaged_sample(clean, 5, np.random.default_rng(seed), fonts_used=used)
    assert used
    assert all("dejavu" not in path.lower() for path in used)
    truetype = [p for p in used if p != fonts.PILLOW_DEFAULT]
    if candidates:
        assert truetype and all(os.path.isfile(p) for p in truetype)


def test_package_imports_nothing_else_from_napari_mend():
    for name in sorted(os.listdir(PACKAGE_DIR)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(PACKAGE_DIR, name)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), f"{name} imports from outside the package"
                assert node.level == 1 or not (node.module or "").startswith("napari_mend"), name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("napari_mend") for a in node.names), name
    code = (
        "import sys\n"
        "import napari_mend.evaluation.independent as m\n"
        "list(m.dataset(0, 1, 32))\n"
        "bad = [k for k in sys.modules if k.startswith(('napari_mend.synthesis', 'napari_mend.training'))]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_watermarked_collection_shares_one_mark():
    a = ind.watermarked_collection(seed=3, trial=0, n=3, size=64)
    again = ind.watermarked_collection(seed=3, trial=0, n=3, size=64)
    other = ind.watermarked_collection(seed=3, trial=1, n=3, size=64)
    assert len(a.clean) == len(a.damaged) == 3 and a.labels.shape == (64, 64)
    assert 0 < a.labels.mean() < 1
    for clean, damaged in zip(a.clean, a.damaged):
        assert clean.shape == damaged.shape == (64, 64, 3) and damaged.dtype == np.float32
        changed = visible_change(clean, damaged)
        assert changed.any() and not (changed & ~a.labels).any()  # only under the mark
    assert not np.array_equal(a.clean[0], a.clean[1])  # other images, one mark
    for x, y in zip(a.damaged, again.damaged):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.labels, other.labels) or not np.array_equal(a.damaged[0],
                                                                            other.damaged[0])
    # the same mark and place on every image: blended into a flat grey image it is one layer
    grey = np.full((64, 64, 3), 0.5, np.float32)
    layers = watermarks.watermark_layers(np.random.default_rng(0), (64, 64))
    marked, footprint = watermarks.blend_layers(grey, layers)
    np.testing.assert_array_equal(marked[~footprint], grey[~footprint])


def _polarity(clean, damaged, labels, cls):
    """Median signed change of the grey value under the class's labels (a tenth of the dust
    particles is of the other polarity by design)."""
    change = (damaged - clean).reshape(damaged.shape[:2] + (-1,)).mean(axis=-1)
    return float(np.median(change[labels == cls]))


def test_a_shared_style_gives_a_collection_one_look_and_its_own_places():
    clean = [_clean(seed, grey=False, size=96) for seed in (1, 2, 3)]

    def sample(image, cls, seed, style):
        return ind.damaged_sample(image, cls, np.random.default_rng(seed), style=style)

    # the same rng and style reproduce a sample; another style changes it
    a, b = sample(clean[0], 2, 5, 77), sample(clean[0], 2, 5, 77)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], sample(clean[0], 2, 5, 78)[0])
    # one style: dust and scratches of one polarity on every image, at their own places
    for cls in (1, 2):
        for style in range(6):
            samples = [sample(image, cls, 10 + i, style) for i, image in enumerate(clean)]
            signs = {np.sign(_polarity(image, d, labels, cls))
                     for image, (d, labels) in zip(clean, samples)}
            assert len(signs) == 1, (cls, style)
            assert not np.array_equal(samples[0][1], samples[1][1])
    # styles differ: over a few styles both polarities of dust occur
    signs = {np.sign(_polarity(clean[0], *sample(clean[0], 2, 10, style), 2))
             for style in range(12)}
    assert signs == {-1.0, 1.0}
    # one watermark at one place for one style, whatever the image and rng
    # (the labels are where it changed the image visibly, which depends on the image)
    marks = [sample(image, 5, 20 + i, 9)[1] > 0 for i, image in enumerate(clean)]
    assert (marks[0] & marks[1]).sum() > 0.95 * (marks[0] | marks[1]).sum() > 0
    # overlays of one device: in one place (but arrows, which point anywhere), saying
    # different things (a scale bar alone says the same on every image of one microscope)
    placed, differ = 0, 0
    for style in range(8):
        texts = [sample(image, 4, 30 + i, style)[1] == 4 for i, image in enumerate(clean)]
        centres = np.array([np.argwhere(t).mean(axis=0) for t in texts])
        placed += np.ptp(centres, axis=0).max() <= 8  # texts of other lengths
        differ += not np.array_equal(texts[0], texts[1])
    assert placed >= 5 and differ >= 2
