"""The Teach step of the dock widget: strokes layer, Teach (then Detect), every open image."""

import numpy as np
import pytest
from helpers import mend_dock, paint, scratched_pair

from napari_mend._widgets.mend_widget import strokes_layer_name
from napari_mend.layer_style import defects_layer_name

pytestmark = pytest.mark.gui  # every test opens a napari viewer


@pytest.fixture
def images():
    """``(first, truth1, second, truth2)``: two scratched camera crops and their scratches."""
    return scratched_pair()


def test_teach_then_detect_every_image(make_napari_viewer, qtbot, images):
    first, truth1, second, truth2 = images
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(first, name="film")
    viewer.add_image(second, name="other")
    widget.image.value = layer

    strokes = widget.add_strokes_layer()
    assert strokes.name == strokes_layer_name("film")
    assert strokes.data.shape == first.shape
    strokes.data = paint(truth1, period=32, keep=12)  # what napari's brush does

    assert widget.run_teach() is not None
    qtbot.waitUntil(lambda: defects_layer_name("film") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)
    assert widget.use_taught.value and "scratch" in widget.taught_info.value
    assert "the strokes correct the network where it finds" in widget.taught_info.value
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
    viewer, widget = mend_dock(make_napari_viewer)
    widget.image.value = viewer.add_image(images[0], name="film")
    widget.add_strokes_layer()
    assert widget.run_teach() is None  # nothing painted: a hint, no worker
