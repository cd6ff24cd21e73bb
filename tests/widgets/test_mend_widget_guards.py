"""The Mend defects dock while it works and when it saves: buttons locked, bar by its button,
bundle paths checked in the dock's words."""

import numpy as np
import pytest
from helpers import mend_dock, wait_for

from napari_mend.layer_style import defects_layer_name, mended_layer_name

pytestmark = pytest.mark.gui  # every test opens a napari viewer


def below(widget, button) -> bool:
    """Whether the progress strip of ``widget`` sits right below ``button``."""
    layout = button.native.parentWidget().layout()
    return layout.indexOf(widget.runner.native) == layout.indexOf(button.native) + 1


def test_detect_and_mend_are_disabled_while_a_job_runs(detecting_dock, qtbot):
    _, widget, worker = detecting_dock  # a job runs, its bar moving
    buttons = [widget.detect_button, widget.detect_all_button, widget.mend_button,
               widget.save_button, widget.teach.teach_button,
               widget.folder.mend_folder_button]
    assert not any(button.enabled for button in buttons)
    assert below(widget, widget.detect_button)  # the bar shows by the button pressed
    assert not widget.runner.native.isHidden() and widget.runner.cancel.enabled
    widget.runner.cancel.native.click()
    wait_for(qtbot, widget, worker)
    assert all(button.enabled for button in buttons)
    assert widget.runner.cancel.native.isHidden()


@pytest.fixture
def mended_dock(make_napari_viewer, qtbot):
    """A dock whose image was mended, ready to save."""
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(np.full((40, 40), 90, np.uint8), name="film")
    marked = np.zeros((40, 40), np.uint8)
    marked[10:14, 5:30] = 1
    widget.image.value = layer
    widget.defects.value = viewer.add_labels(marked, name=defects_layer_name("film"))
    widget.fill_method.value = "biharmonic"
    wait_for(qtbot, widget, widget.run_mend())
    assert mended_layer_name("film") in viewer.layers
    return widget


def test_the_bar_moves_to_the_mend_button(mended_dock):
    assert below(mended_dock, mended_dock.mend_button)
    assert mended_dock.runner.status.value == "mend: done"


def test_save_bundle_refuses_an_empty_path(mended_dock, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("napari_mend._widgets.file_choice.show_info", shown.append)
    monkeypatch.chdir(tmp_path / ".")
    assert mended_dock.save_path.line_edit.value == ""
    assert mended_dock.save_bundle() is None  # no worker
    assert "'bundle' field is empty" in shown[-1]
    assert not list(tmp_path.iterdir()) and not tmp_path.with_suffix(".mend").exists()


def test_save_bundle_asks_before_replacing(mended_dock, qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("napari_mend._widgets.file_choice.show_info", shown.append)
    mended_dock.save_path.value = tmp_path / "film"
    wait_for(qtbot, mended_dock, mended_dock.save_bundle())
    assert (tmp_path / "film.mend").is_dir() and mended_dock.runner.status.value == "save: done"
    assert mended_dock.save_bundle() is None  # it exists: asks first
    assert "tick 'overwrite'" in shown[-1] and "overwrite=True" not in shown[-1]
    mended_dock.overwrite.value = True
    wait_for(qtbot, mended_dock, mended_dock.save_bundle())
    assert mended_dock.runner.status.value == "save: done"


def test_a_folder_is_mended_only_with_models_a_batch_can_use(make_napari_viewer, tmp_path,
                                                             monkeypatch):
    """The folder step refuses, with a hint and no worker, what a batch cannot run: missing
    folders, a detector network or an inpainter other than the shipped ones."""
    _, widget = mend_dock(make_napari_viewer)
    folder = widget.folder
    assert folder.run_folder() is None  # no folders
    folder.source.value = tmp_path / "missing"
    folder.output.value = tmp_path / "out"
    assert folder.run_folder() is None  # the input folder does not exist
    folder.source.value = tmp_path
    monkeypatch.setattr(folder, "_detector", lambda: ("learned", "detector-page"))
    assert folder.run_folder() is None
    monkeypatch.setattr(folder, "_detector", lambda: ("classical", None))
    monkeypatch.setattr(folder, "_fill", lambda: ("learned", "inpainter-coins"))
    assert folder.run_folder() is None
    assert not (tmp_path / "out").exists() and not widget.runner.busy
