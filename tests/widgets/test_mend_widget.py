"""The dock widget end to end: detect, edit labels, re-threshold, mend, save (manifest too)."""

import numpy as np
import pytest
from helpers import camera_scratch, mend_dock, wait_for
from skimage import data

from napari_mend.layer_style import defects_layer_name, mended_layer_name

pytestmark = pytest.mark.gui  # every test opens a napari viewer


@pytest.fixture
def scratched():
    return camera_scratch(256, (5, 30, 250, 70), width=2)


def test_detect_edit_mend_save(make_napari_viewer, qtbot, scratched, tmp_path):
    image, (rr, cc) = scratched
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(image, name="film")
    widget.image.value = layer
    widget.detect_method.value = "classical"

    wait_for(qtbot, widget, widget.run_detect())
    defects = viewer.layers[defects_layer_name("film")]
    assert defects.data.shape == image.shape
    assert (defects.data[rr, cc] == 1).mean() > 0.5  # the scratch is class 1
    assert defects.metadata["provenance"]["operation"] == "detect"
    assert defects.colormap.map(np.array([1]))[0][3] > 0  # class 1 drawn

    # Sensitivity re-thresholds the cached scores: more sensitive, at least as many pixels.
    n_default = int((defects.data > 0).sum())
    widget.sensitivity.value = 0.9
    assert int((defects.data > 0).sum()) >= n_default
    widget.sensitivity.value = 0.0  # threshold 1.0
    assert int((defects.data > 0).sum()) <= n_default

    # The curator paints a blotch by hand (as napari's brush does: edit the data).
    edited = defects.data.copy()
    edited[:] = 0
    edited[rr, cc] = 1
    edited[rr, np.minimum(cc + 1, 255)] = 1
    edited[100:110, 200:220] = 3
    defects.data = edited
    n_scratch = int((edited == 1).sum())
    assert widget.counts.value == f"Mend will change: scratch {n_scratch:,} px, blotch 200 px"
    widget.fill_method.value = "biharmonic"
    wait_for(qtbot, widget, widget.run_mend())
    mended = viewer.layers[mended_layer_name("film")]
    assert mended.data.dtype == image.dtype
    np.testing.assert_array_equal(mended.data[edited == 0], image[edited == 0])
    assert mended.data[rr, cc].mean() < 200
    prov = mended.metadata["provenance"]
    assert prov["operation"] == "mend_labels" and prov["method"] == "biharmonic"

    widget.save_path.value = tmp_path / "film.mend"
    wait_for(qtbot, widget, widget.save_bundle())
    from napari_mend.io.bundle import read_bundle

    bundle = read_bundle(tmp_path / "film.mend")
    np.testing.assert_array_equal(bundle.labels, edited)
    np.testing.assert_array_equal(bundle.mended, mended.data)


def test_errors_become_notifications(make_napari_viewer, qtbot, monkeypatch):
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(np.zeros((32, 32), np.uint8), name="blank")
    viewer.add_labels(np.ones((32, 32), np.uint8), name="everything")
    widget.image.value = layer
    widget.defects.value = viewer.layers["everything"]
    widget.fill_method.value = "biharmonic"
    shown = []
    monkeypatch.setattr("napari_mend._widgets._worker.show_error", shown.append)
    wait_for(qtbot, widget, widget.run_mend())
    assert shown and "covers the whole image" in shown[0]
    assert mended_layer_name("blank") not in viewer.layers


def test_cancel_stops_work_and_adds_nothing(detecting_dock, qtbot):
    viewer, widget, worker = detecting_dock
    widget.runner.cancel.native.click()  # press Cancel
    wait_for(qtbot, widget, worker)
    assert "cancelled" in widget.runner.status.value
    assert defects_layer_name("slow") not in viewer.layers
    assert not widget.runner.busy


def test_dask_layer_stays_lazy(make_napari_viewer, qtbot, scratched):
    import dask.array as da

    image, (rr, cc) = scratched
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(da.from_array(image, chunks=(128, 128)), name="big")
    widget.image.value = layer
    widget.detect_method.value = "classical"
    wait_for(qtbot, widget, widget.run_detect())
    defects = viewer.layers[defects_layer_name("big")]
    assert isinstance(defects.data, np.ndarray)  # computed, so the curator can paint on it
    assert (defects.data[rr, cc] == 1).mean() > 0.5
    n_default = int((defects.data > 0).sum())
    widget.sensitivity.value = 0.0  # lazy scores: re-thresholded in the background
    wait_for(qtbot, widget, widget.runner.worker or object())
    assert int((defects.data > 0).sum()) <= n_default

    widget.fill_method.value = "biharmonic"
    wait_for(qtbot, widget, widget.run_mend())
    mended = viewer.layers[mended_layer_name("big")]
    assert isinstance(mended.data, da.Array)  # dask-backed: computed as napari views it
    result = mended.data.compute()
    keep = defects.data == 0
    np.testing.assert_array_equal(result[keep], image[keep])


def test_mend_inverts_a_labelled_watermark_instead_of_filling_it(make_napari_viewer, qtbot):
    import napari_mend as nm
    from napari_mend.classes import CLASS_IDS

    clean = data.astronaut()[100:228, 100:228].astype(np.float32) / 255
    labels = np.zeros(clean.shape[:2], np.uint8)
    labels[30:56, 10:22] = CLASS_IDS["watermark"]  # a cross-shaped logo
    labels[38:46, 10:50] = CLASS_IDS["watermark"]
    marked = clean.copy()
    marked[labels > 0] = 0.4 * 1.0 + 0.6 * clean[labels > 0]  # a white mark, opacity 0.4
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(marked, name="photo", rgb=True)
    viewer.add_labels(labels, name=defects_layer_name("photo"))
    widget.image.value = layer
    widget.defects.value = viewer.layers[defects_layer_name("photo")]
    widget.fill_method.value = "biharmonic"
    wait_for(qtbot, widget, widget.run_mend())
    mended = viewer.layers[mended_layer_name("photo")].data
    mark = labels > 0
    filled = nm.inpaint(marked, mark, channel_axis=-1, method="biharmonic")

    def error(x):
        return float(np.mean((x[mark] - clean[mark]) ** 2))

    assert error(mended) < 0.5 * error(filled)  # the content under the mark comes back
    np.testing.assert_array_equal(mended[~mark], marked[~mark])


def test_found_text_grows_to_the_whole_annotation_unless_unticked(make_napari_viewer, qtbot,
                                                                   monkeypatch):
    import napari_mend._widgets.mend_widget as mw
    from napari_mend.classes import CLASS_IDS
    from napari_mend.detection.scores import DefectScores
    from napari_mend.synthesis.text import render_text_mask

    image = np.full((120, 200), 40, np.uint8)
    cover = render_text_mask(image.shape, "PAT 0042 2026-11-25", size=14, position=(30, 10))
    image = np.round(image + (235 - 40) * cover).astype(np.uint8)
    drawn = cover > 0
    # the detector saw the strong pixels of every other 20-px band of columns
    found = (cover > 0.6) & ((np.arange(200)[None, :] // 20) % 2 == 0)

    def detect_scores(data, **kwargs):
        scores = np.zeros((6,) + image.shape, np.float32)
        scores[CLASS_IDS["text"] - 1][found] = 0.9
        return DefectScores(scores=scores, method="learned")

    monkeypatch.setattr(mw, "detect_scores", detect_scores)
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(image, name="scan")
    widget.image.value = layer
    wait_for(qtbot, widget, widget.run_detect())
    defects = viewer.layers[defects_layer_name("scan")]
    assert (defects.data == CLASS_IDS["text"])[drawn].mean() > 0.97
    assert defects.metadata["provenance"]["parameters"]["complete_text"] is True
    widget.complete_text.value = False  # re-labels the cached scores as found
    assert (defects.data == CLASS_IDS["text"])[drawn].mean() < 0.6
    assert defects.metadata["provenance"]["parameters"]["complete_text"] is False
