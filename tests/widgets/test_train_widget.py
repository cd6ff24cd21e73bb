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
    line = metrics_text("inpainter", {"psnr_hole_mean": 30.0}, {"psnr_hole_mean": 31.25})
    assert line == "held-out PSNR dB: before 30.000, after 31.250 (+1.250)"


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
        on_event({"event": "before", "psnr_hole_mean": 30.0})
        for step in (1, 2, 3):
            progress(step, 10)
            on_event({"event": "train", "step": step, "loss": 1.0 / step, "elapsed": step})
        card = dict(registry.model_card("inpainter"), name="slides-fill")
        shutil.copy(registry.WEIGHTS_DIR / "inpainter.pt", model_dir / "slides-fill.pt")
        (model_dir / "slides-fill.json").write_text(json.dumps(card))
        return FinetuneResult("slides-fill", card, {"psnr_hole_mean": 30.0},
                              {"psnr_hole_mean": 31.5}, [(1, 1.0), (2, 0.5), (3, 0.33)])

    monkeypatch.setattr(finetune_module, "finetune", fake_finetune)
    assert "slides-fill" not in mend.inpainter_model.choices
    wait_for(qtbot, train, train.start(resume=False))
    assert calls["kind"] == "inpainter" and calls["from_model"] == "inpainter"
    assert [im.shape for im in calls["images"]] == [(80, 90), (80, 90, 3)]
    assert calls["masks"][0] is not None and calls["masks"][1] is None  # marked regions passed
    assert calls["minutes"] == 5.0 and calls["resume"] is False
    qtbot.waitUntil(lambda: len(train.history) == 3, timeout=10_000)
    assert len(train.axes.lines[0].get_xdata()) == 3  # the live loss curve
    assert train.metrics.value.endswith("after 31.500 (+1.500)")
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
