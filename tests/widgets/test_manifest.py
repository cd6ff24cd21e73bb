"""Through the manifest: sample data (damaged images whose defects are real) and every dock widget."""

import numpy as np
import pytest

from napari_mend._sample_data import SAMPLES, sample_image

pytestmark = pytest.mark.gui  # every test opens a napari viewer


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_sample_opens_in_napari(make_napari_viewer, key):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-mend", key)
    layer = viewer.layers[key]
    damaged, truth, channel_axis = sample_image(key)
    np.testing.assert_array_equal(layer.data, damaged)
    assert layer.rgb == (channel_axis is not None)
    _, _, classes, _, _ = SAMPLES[key]
    from napari_mend.classes import CLASS_IDS

    present = {int(v) for v in np.unique(truth)} - {0}
    assert present <= {CLASS_IDS[c] for c in classes}
    assert present  # every sample carries defects


@pytest.mark.parametrize("name", ["Mend defects", "Remove watermark and moire",
                                  "Train on these images"])
def test_every_widget_docks_from_the_manifest(make_napari_viewer, name):
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-mend", name)
    assert widget is not None and dock.name.startswith(name)
