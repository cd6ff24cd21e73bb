"""The Teach step of the dock widget: strokes layer, Teach (then Detect), every open image."""

import numpy as np
import pytest
from skimage import data, draw

from napari_mend import CLEAN_LABEL
from napari_mend._widgets.mend_widget import strokes_layer_name
from napari_mend.layer_style import defects_layer_name


def scratched(image, seed):
    rng = np.random.default_rng(seed)
    image, truth = image.copy(), np.zeros(image.shape, bool)
    for _ in range(4):
        r0, c0, r1, c1 = rng.integers(0, image.shape[0], 4)
        rr, cc = draw.line(int(r0), int(c0), int(r1), int(c1))
        image[rr, cc] = 250
        truth[rr, cc] = True
    return image, truth


@pytest.fixture
def images():
    camera = data.camera()
    return scratched(camera[:192, :192], 1), scratched(camera[256:448, 256:448], 2)


def test_teach_then_detect_every_image(make_napari_viewer, qtbot, images):
    (first, truth1), (second, truth2) = images
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
    layer = viewer.add_image(first, name="film")
    viewer.add_image(second, name="other")
    widget.image.value = layer

    strokes = widget.add_strokes_layer()
    assert strokes.name == strokes_layer_name("film")
    assert strokes.data.shape == first.shape
    painted = np.zeros(first.shape, np.uint8)
    painted[truth1 & (np.arange(192)[:, None] % 32 < 12)] = 1  # pieces of every scratch
    clean = ~truth1
    clean[::3] = False  # sparse clean strokes everywhere else
    clean[:, ::3] = False
    painted[clean] = CLEAN_LABEL
    strokes.data = painted  # what napari's brush does

    assert widget.run_teach() is not None
    qtbot.waitUntil(lambda: defects_layer_name("film") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)
    assert widget.use_taught.value and "scratch" in widget.taught_info.value
    found = np.asarray(viewer.layers[defects_layer_name("film")].data)
    lower = np.arange(192)[:, None] % 32 >= 12  # scratch pixels that were not painted
    assert (found[truth1 & lower] == 1).mean() > 0.6
    assert (found[~truth1] > 0).mean() < 0.02
    provenance = viewer.layers[defects_layer_name("film")].metadata["provenance"]
    assert provenance["method"] == "taught"

    assert widget.run_detect_all() is not None
    qtbot.waitUntil(lambda: defects_layer_name("other") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)
    other = np.asarray(viewer.layers[defects_layer_name("other")].data)
    assert (other[truth2] == 1).mean() > 0.6
    assert (other[~truth2] > 0).mean() < 0.05


def test_teach_without_strokes_says_what_to_do(make_napari_viewer, images):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
    widget.image.value = viewer.add_image(images[0][0], name="film")
    widget.add_strokes_layer()
    assert widget.run_teach() is None  # nothing painted: a hint, no worker
