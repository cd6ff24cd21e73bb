"""The "Train on these images" dock: inputs, live curve, Stop/Continue, models announced."""

import json
import shutil

import numpy as np
import pytest
from helpers import wait_for

pytest.importorskip("napari")

from napari_mend import finetune as finetune_module  # noqa: E402
from napari_mend._widgets.mend_widget import MendWidget  # noqa: E402
from napari_mend._widgets.train_widget import TrainWidget, metrics_text  # noqa: E402
from napari_mend.finetune import FinetuneResult  # noqa: E402
from napari_mend.layer_style import defects_layer_name  # noqa: E402
from napari_mend.models import registry  # noqa: E402


def test_metrics_text():
    assert metrics_text("detector", None, None) == ""
    before = {"psnr_hole_mean": 30.0, "independent": {"psnr_hole_mean": 28.0}}
    after = {"psnr_hole_mean": 31.25, "independent": {"psnr_hole_mean": 27.5}}
    assert metrics_text("inpainter", before, after) == (
        "held-out PSNR dB: own defects 30.000 -> 31.250 (+1.250); "
        "independent defects 28.000 -> 27.500 (-0.500)")
    assert metrics_text("inpainter", before, None) == (
        "held-out PSNR dB: own defects 30.000; independent defects 28.000")
    assert metrics_text("detector", {"f1_mean": 0.5}, {"f1_mean": 0.6}) == (
        "held-out F1: own defects 0.500 -> 0.600 (+0.100)")  # a record without the column


@pytest.mark.gui
def test_train_shows_curve_and_new_model_reaches_mend_widget(make_napari_viewer, qtbot,
                                                            model_dir, monkeypatch):
    viewer = make_napari_viewer()
    train = TrainWidget(viewer)
    mend = MendWidget(viewer)
    rng = np.random.default_rng(0)
    viewer.add_image(rng.random((80, 90)), name="slide")
    viewer.add_image(rng.random((80, 90, 3)), name="photo", rgb=True)
    marked = np.zeros((80, 90), np.uint8)
    marked[5:9, 5:9] = 2
    viewer.add_labels(marked, name=defects_layer_name("slide"))
    train.layers.value = ["slide", "photo"]
    train.kind.value = "inpainter"
    assert train.from_model.value == "inpainter" and train.model_name.value == "inpainter-finetuned"
    calls = {}

    def fake_finetune(kind, images, *, progress, on_event, **options):
        calls.update(kind=kind, images=images, **options)
        on_event({"event": "before", "psnr_hole_mean": 30.0,
                  "independent": {"psnr_hole_mean": 28.0}})
        for step in (1, 2, 3):
            progress(step, 10)
            on_event({"event": "train", "step": step, "loss": 1.0 / step, "elapsed": step})
        card = dict(registry.model_card("inpainter"), name="slides-fill")
        shutil.copy(registry.WEIGHTS_DIR / "inpainter.pt", model_dir / "slides-fill.pt")
        (model_dir / "slides-fill.json").write_text(json.dumps(card))
        return FinetuneResult("slides-fill", card,
                              {"psnr_hole_mean": 30.0, "independent": {"psnr_hole_mean": 28.0}},
                              {"psnr_hole_mean": 31.5, "independent": {"psnr_hole_mean": 27.9}},
                              [(1, 1.0), (2, 0.5), (3, 0.33)])

    monkeypatch.setattr(finetune_module, "finetune", fake_finetune)
    assert "slides-fill" not in mend.inpainter_model.choices
    wait_for(qtbot, train, train.start(resume=False))
    assert calls["kind"] == "inpainter" and calls["from_model"] == "inpainter"
    assert [im.shape for im in calls["images"]] == [(80, 90), (80, 90, 3)]
    assert calls["masks"][0] is not None and calls["masks"][1] is None  # marked regions passed
    assert calls["minutes"] == 5.0 and calls["resume"] is False
    qtbot.waitUntil(lambda: len(train.history) == 3, timeout=10_000)
    assert len(train.loss_plot.axes.lines[0].get_xdata()) == 3  # the live loss curve
    assert train.metrics.value.endswith("30.000 -> 31.500 (+1.500); "
                                        "independent defects 28.000 -> 27.900 (-0.100)")
    assert "slides-fill" in mend.inpainter_model.choices  # announced to the Mend widget
    assert "slides-fill" in train.from_model.choices


@pytest.mark.gui
def test_stop_then_continue(make_napari_viewer, qtbot, model_dir, monkeypatch):
    viewer = make_napari_viewer()
    train = TrainWidget(viewer)
    viewer.add_image(np.zeros((64, 64)), name="a")
    train.layers.value = ["a"]
    train.model_name.value = "stopped-model"
    seen = []

    def fake_finetune(kind, images, *, progress, on_event, resume, **options):
        seen.append(resume)
        run = finetune_module.run_dir("stopped-model")
        run.mkdir(parents=True, exist_ok=True)
        (run / "checkpoint.pt").write_bytes(b"partial")
        train.runner._request_cancel()  # the Stop button
        progress(1, 10)
        raise AssertionError("progress must raise Cancelled after Stop")  # pragma: no cover

    monkeypatch.setattr(finetune_module, "finetune", fake_finetune)
    assert not train.continue_button.enabled
    wait_for(qtbot, train, train.start(resume=False))
    assert "cancelled" in train.runner.status.value
    assert train.continue_button.enabled and train.train_button.enabled
    wait_for(qtbot, train, train.start(resume=True))  # what Continue does
    assert seen == [False, True]


@pytest.mark.gui
def test_loss_plot_follows_the_theme_with_integer_steps(make_napari_viewer):
    from napari.utils.theme import get_theme

    viewer = make_napari_viewer()
    train = TrainWidget(viewer)
    axes = train.loss_plot.axes
    assert not axes.axison and not axes.lines  # no empty axes before training
    for step in (1, 2, 3):
        train._on_event({"event": "train", "step": step, "loss": 1.0 / step})
    assert axes.axison and len(axes.lines[0].get_xdata()) == 3
    ticks = [t for t in axes.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)  # whole steps only

    def shown_colors():
        from matplotlib.colors import to_hex

        return (to_hex(axes.get_facecolor()), to_hex(train.loss_plot.figure.get_facecolor()),
                to_hex(axes.xaxis.label.get_color()))

    for theme in ("dark", "light"):
        viewer.theme = theme
        colors = get_theme(theme)
        background, text = colors.background.as_hex(), colors.text.as_hex()
        assert shown_colors() == (background, background, text)


@pytest.mark.gui
def test_loss_plot_sits_beside_the_train_button(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    _, train = viewer.window.add_plugin_dock_widget("napari-mend", "Train on these images")
    qtbot.wait(100)
    button, canvas = train.train_button.native, train.loss_plot.canvas
    assert canvas.isVisible()
    left = button.mapToGlobal(button.rect().topRight())
    right = canvas.mapToGlobal(canvas.rect().topLeft())
    assert right.x() >= left.x()  # to the right of Train
    top, bottom = canvas.mapToGlobal(canvas.rect().topLeft()).y(), \
        canvas.mapToGlobal(canvas.rect().bottomLeft()).y()
    assert top <= left.y() <= bottom  # level with it


@pytest.mark.gui
def test_exclusion_mask_is_named_and_can_be_none(make_napari_viewer, qtbot, model_dir,
                                                monkeypatch):
    from napari_mend._widgets.train_widget import AVOID_NOTHING

    viewer = make_napari_viewer()
    train = TrainWidget(viewer)
    viewer.add_image(np.zeros((64, 64)), name="slide")
    viewer.add_image(np.zeros((64, 64)), name="photo")
    marked = np.zeros((64, 64), np.uint8)
    marked[5:9, 5:9] = 2
    viewer.add_labels(marked, name=defects_layer_name("slide"))
    train.layers.value = ["slide", "photo"]
    assert train.avoid_info.value == "avoids: slide: 'slide defects'; photo: nothing marked"
    train.avoid.value = AVOID_NOTHING
    assert "every pixel" in train.avoid_info.value
    seen = {}

    def fake_finetune(kind, images, *, progress, on_event, masks, **options):
        seen["masks"] = masks
        raise RuntimeError("stop here")

    monkeypatch.setattr(finetune_module, "finetune", fake_finetune)
    wait_for(qtbot, train, train.start(resume=False))
    assert seen["masks"] == [None, None]  # nothing avoided
    layout = train.run_row.native.parentWidget().layout()  # the bar went below Train
    assert layout.indexOf(train.runner.native) == layout.indexOf(train.run_row.native) + 1
