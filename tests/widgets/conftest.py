"""Fixtures of the dock tests."""

import time

import numpy as np
import pytest
from helpers import mend_dock


@pytest.fixture
def detecting_dock(make_napari_viewer, qtbot, monkeypatch):
    """``(viewer, dock, worker)``: the Mend dock detecting on a blank "slow" image, with a
    detector that only reports progress (until cancelled), once its bar has moved."""

    def slow_scores(data, *, channel_axis, method, model, progress):
        for i in range(10_000):  # a long computation that reports progress
            progress(i, 10_000)
            time.sleep(0.005)
        raise AssertionError("cancel did not stop the work")

    monkeypatch.setattr("napari_mend._widgets.mend_widget.detect_scores", slow_scores)
    viewer, widget = mend_dock(make_napari_viewer)
    widget.image.value = viewer.add_image(np.zeros((32, 32), np.float32), name="slow")
    worker = widget.run_detect()
    qtbot.waitUntil(lambda: widget.runner.bar.value > 0, timeout=10_000)
    return viewer, widget, worker
