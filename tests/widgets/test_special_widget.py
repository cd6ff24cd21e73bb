"""The "Remove watermark and moire" dock widget: both removers, provenance, progress, errors."""

import numpy as np
import pytest
from helpers import textured, wait_for

pytest.importorskip("napari")

from napari_mend._widgets.special_widget import (  # noqa: E402
    MOIRE_SUFFIX,
    WATERMARK_SUFFIX,
    SpecialWidget,
    moire_summary,
)
from napari_mend.classes import CLASS_IDS  # noqa: E402
from napari_mend.watermark.api import watermark_mask  # noqa: E402

SIZE = 96


def watermarked_stack(n=5):
    alpha = np.zeros((SIZE, SIZE), np.float32)
    alpha[30:66, 20:30] = alpha[30:66, 60:70] = alpha[44:52, 20:70] = 0.4
    planes = []
    for k in range(n):
        content = textured(k, SIZE, channels=1, low=0.1, span=0.8)[..., 0]
        planes.append(alpha * 1.0 + (1 - alpha) * content)
    return np.round(np.stack(planes) * 255).astype(np.uint8), alpha > 0


def test_watermark_mask_prefers_the_watermark_class():
    labels = np.zeros((4, 4), np.uint8)
    labels[0, 0] = CLASS_IDS["text"]
    assert watermark_mask(labels).sum() == 1  # no watermark class: every label
    labels[1, 1] = CLASS_IDS["watermark"]
    assert np.argwhere(watermark_mask(labels)).tolist() == [[1, 1]]


def test_moire_summary():
    assert "no periodic peaks" in moire_summary([{"found": False, "peaks": []}])
    line = moire_summary([{"found": True, "peaks": [{"period_px": 4.0}, {"period_px": 2.5}]},
                          {"found": False, "peaks": []}])
    assert "1/2 plane" in line and "2.5, 4" in line


@pytest.mark.gui
def test_stack_watermark_and_moire(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = SpecialWidget(viewer)
    viewer.window.add_dock_widget(widget)
    stack, mark = watermarked_stack()
    layer = viewer.add_image(stack, name="catalogue")
    widget.image.value = layer
    widget.fill.value = "telea"

    wait_for(qtbot, widget, widget.run_watermark())  # mark found from the stack itself
    out = viewer.layers[f"catalogue {WATERMARK_SUFFIX}"]
    assert out.data.shape == stack.shape and out.data.dtype == np.uint8
    prov = out.metadata["provenance"]
    assert prov["operation"] == "remove_watermark" and prov["mask"]["changed_pixels"] > 0
    changed = np.any(out.data != stack, axis=0)
    assert changed[mark].mean() > 0.5
    from scipy import ndimage as ndi

    assert changed[~ndi.binary_dilation(mark, iterations=6)].mean() < 0.05

    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    fringe = 1 + 0.2 * np.cos(2 * np.pi * (0.3 * xx + 0.15 * yy))
    moire = np.clip(stack[0] * fringe, 0, 255).astype(np.uint8)
    layer2 = viewer.add_image(moire, name="screen")
    widget.image.value = layer2
    widget.moire_method.value = "notch"
    wait_for(qtbot, widget, widget.run_moire())
    out2 = viewer.layers[f"screen {MOIRE_SUFFIX}"]
    assert out2.metadata["provenance"]["operation"] == "demoire"
    assert "moire in 1/1" in widget.moire_result.value
    err = lambda a: np.abs(a.astype(float) - stack[0]).mean()  # noqa: E731
    assert err(out2.data) < 0.6 * err(moire)


@pytest.mark.gui
def test_errors_become_notifications_not_crashes(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = SpecialWidget(viewer)
    flat = np.full((5, SIZE, SIZE), 100, np.uint8)  # a stack with no common mark
    widget.image.value = viewer.add_image(flat, name="flat")
    wait_for(qtbot, widget, widget.run_watermark())
    assert widget.runner.status.value == "remove watermark: failed"
    assert f"flat {WATERMARK_SUFFIX}" not in viewer.layers
