"""Make docs/images/napari_mend_window.png: the real napari window after Detect and Mend.

Run under a (virtual) display, e.g.::

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/make_screenshot.py
"""

import time
from pathlib import Path

import napari
from napari._qt.dialogs.qt_notification import NapariQtNotification
from qtpy.QtWidgets import QApplication

from napari_mend._sample_data import sample_image


def wait(widget, worker):
    """Let the GUI run until the widget's background task has finished."""
    while worker is not None and widget.runner.busy:
        QApplication.processEvents()


OUT = Path(__file__).parent / "images" / "napari_mend_window.png"
viewer = napari.Viewer(title="napari-mend")
data, _, axis = sample_image("scratched_photo")
layer = viewer.add_image(data, name="scratched_photo", rgb=axis is not None)
_, widget = viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
widget.image.value = layer
wait(widget, widget.run_detect())
wait(widget, widget.run_mend())
viewer.layers.selection.active = viewer.layers["scratched_photo defects"]
viewer.grid.enabled = True  # left: image with its defects; right: the mended image
viewer.grid.stride = 2
viewer.window.show()
viewer.window.resize(1800, 950)  # after show(): napari restores its saved geometry there
viewer.reset_view()
end = time.monotonic() + 3
while time.monotonic() < end:
    QApplication.processEvents()
    time.sleep(0.05)
for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
    toast.close()  # notifications would hide part of the canvas
QApplication.processEvents()
viewer.window.screenshot(path=str(OUT), canvas_only=False)
print(f"wrote {OUT}")
viewer.close()
