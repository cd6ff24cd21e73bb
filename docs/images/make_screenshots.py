"""Make the screenshots of napari-mend's docks on a 1280 x 800 napari window.

Writes, next to this script:

- ``docks_1280x800.png``: the whole window with the three docks (Mend defects,
  Remove watermark and moire, Train on these images) after Detect and Mend on
  the scratched sample photo;
- ``dock_mend.png``, ``dock_special.png``, ``dock_train.png``: each dock's
  whole content at the width it gets in that window (``QWidget.grab``; in the
  window it scrolls), the train dock after a few simulated training steps so
  its loss curve shows.

Run under a virtual display of that size, e.g.::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/images/make_screenshots.py
"""

import time
from pathlib import Path

import napari
from napari._qt.dialogs.qt_notification import NapariQtNotification
from qtpy.QtWidgets import QApplication, QScrollArea

from napari_mend._sample_data import sample_image

HERE = Path(__file__).parent
SIZE = (1280, 800)
DOCKS = {"Mend defects": "dock_mend.png", "Remove watermark and moire": "dock_special.png",
         "Train on these images": "dock_train.png"}


def settle(seconds: float = 1.0) -> None:
    """Let Qt lay out and paint for a while."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def wait(widget, worker) -> None:
    """Let the GUI run until the widget's background task has finished."""
    while worker is not None and widget.runner.busy:
        QApplication.processEvents()
        time.sleep(0.01)


def main() -> None:
    viewer = napari.Viewer(title="napari-mend")
    viewer.window._qt_window.resize(*SIZE)
    viewer.window.show()
    viewer.window._qt_window.resize(*SIZE)  # after show(): napari restores saved geometry there
    data, _, axis = sample_image("scratched_photo")
    layer = viewer.add_image(data, name="scratched_photo", rgb=axis is not None)
    widgets = {name: viewer.window.add_plugin_dock_widget("napari-mend", name)[1]
               for name in DOCKS}
    mend, train = widgets["Mend defects"], widgets["Train on these images"]
    mend.image.value = layer
    wait(mend, mend.run_detect())
    wait(mend, mend.run_mend())
    viewer.layers.selection.active = viewer.layers["scratched_photo defects"]
    train.layers.value = ["scratched_photo"]
    for step in range(1, 41):  # what a short run shows; no training is done here
        train._on_event({"event": "train", "step": step, "loss": 0.3 / step ** 0.5 + 0.02})
    settle(2.0)
    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()  # notifications would hide part of the window
    settle(0.5)
    viewer.window.screenshot(path=str(HERE / "docks_1280x800.png"), canvas_only=False)
    for name, file in DOCKS.items():
        content = widgets[name].native.findChild(QScrollArea).widget()
        content.grab().save(str(HERE / file))
    print("wrote", ", ".join(["docks_1280x800.png", *DOCKS.values()]), "in", HERE)
    viewer.close()


if __name__ == "__main__":
    main()
