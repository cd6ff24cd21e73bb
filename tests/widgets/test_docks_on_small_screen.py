"""The three docks together on a 1280 x 800 window: they fit, scroll, wrap, fold, re-fit the view."""

import numpy as np
import pytest
from qtpy.QtWidgets import QLabel, QScrollArea

pytestmark = pytest.mark.gui  # every test opens a napari viewer

DOCKS = ("Mend defects", "Remove watermark and moire", "Train on these images")


def small_window(make_napari_viewer, qtbot):
    """A shown viewer whose window is 1280 x 800."""
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    qtbot.wait(50)
    return viewer


def camera(viewer):
    """The viewer's camera (``viewer.scene.camera`` from napari 0.9 on)."""
    return viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera


def dock_all(viewer, qtbot):
    docks = {name: viewer.window.add_plugin_dock_widget("napari-mend", name) for name in DOCKS}
    qtbot.wait(300)  # the window lays the docks out, then they share the column
    return docks


def test_three_docks_fit_a_1280x800_window(make_napari_viewer, qtbot):
    viewer = small_window(make_napari_viewer, qtbot)
    docks = dock_all(viewer, qtbot)
    window = viewer.window._qt_window
    assert (window.width(), window.height()) == (1280, 800)  # the docks did not grow it
    canvas = viewer.window._qt_viewer.canvas.native
    assert canvas.width() >= 500 and canvas.height() >= 500  # the image keeps the screen
    for name, (dock, widget) in docks.items():
        assert dock.isVisible(), name
        assert window.rect().contains(dock.geometry()), name  # wholly on screen
        assert dock.width() <= 480, name
        assert dock.height() >= 0.25 * window.height(), name  # the docks share the side
        area = widget.native.findChild(QScrollArea)
        assert area is not None and area.isVisible(), name  # a long dock scrolls
        for label in widget.native.findChildren(QLabel):
            if len(label.text()) > 45:
                assert label.wordWrap(), (name, label.text())  # long hints wrap


def test_sections_fold_and_optional_steps_start_folded(make_napari_viewer):
    viewer = make_napari_viewer()
    _, mend = viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
    _, train = viewer.window.add_plugin_dock_widget("napari-mend", "Train on these images")
    teach, detect = mend.sections["teach"], mend.sections["detect"]
    assert detect.expanded and not teach.expanded
    assert not train.sections["share"].expanded
    teach.header.native.click()
    assert teach.expanded and not teach.body.native.isHidden()
    detect.header.native.click()
    assert not detect.expanded and detect.body.native.isHidden()
    assert detect.header.text.startswith("▸") and teach.header.text.startswith("▾")


@pytest.mark.parametrize("name", DOCKS)
def test_docking_fits_the_image_to_the_smaller_canvas(make_napari_viewer, qtbot, name):
    viewer = small_window(make_napari_viewer, qtbot)
    viewer.add_image(np.zeros((500, 1200), np.uint8))  # wide: its zoom follows the width
    viewer.reset_view()
    full = camera(viewer).zoom
    viewer.window.add_plugin_dock_widget("napari-mend", name)
    qtbot.waitUntil(lambda: camera(viewer).zoom < 0.95 * full, timeout=5_000)
    fitted = camera(viewer).zoom
    viewer.reset_view()
    assert camera(viewer).zoom == pytest.approx(fitted)  # what reset_view gives the new canvas
