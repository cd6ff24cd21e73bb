"""The Teach step of the dock widget: strokes layer, Teach (then Detect), every open image."""

import numpy as np
import pytest
from helpers import mend_dock, paint, scratched_pair

import napari_mend as nm
from napari_mend._widgets.mend_widget import strokes_layer_name
from napari_mend.layer_style import defects_layer_name

pytestmark = pytest.mark.gui  # every test opens a napari viewer


@pytest.fixture
def images():
    """``(first, truth1, second, truth2)``: two scratched camera crops and their scratches."""
    return scratched_pair()


def test_teach_then_detect_every_image(make_napari_viewer, qtbot, images):
    first, truth1, second, truth2 = images
    viewer, widget = mend_dock(make_napari_viewer)
    layer = viewer.add_image(first, name="film")
    viewer.add_image(second, name="other")
    widget.image.value = layer

    strokes = widget.add_strokes_layer()
    assert strokes.name == strokes_layer_name("film")
    assert strokes.data.shape == first.shape
    strokes.data = paint(truth1, period=32, keep=12)  # what napari's brush does

    assert widget.run_teach() is not None
    qtbot.waitUntil(lambda: defects_layer_name("film") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)
    assert widget.use_taught.value and "scratch" in widget.taught_info.value
    assert "the strokes correct the network where it finds" in widget.taught_info.value
    found = np.asarray(viewer.layers[defects_layer_name("film")].data)
    lower = np.arange(192)[:, None] % 32 >= 12  # scratch pixels that were not painted
    untaught = nm.detect(first)  # the network alone finds part of them; the strokes add more
    recall = (found[truth1 & lower] == 1).mean()
    assert recall > (untaught[truth1 & lower] == 1).mean() + 0.05 and recall > 0.3
    assert (found[~truth1] > 0).mean() < 0.02
    provenance = viewer.layers[defects_layer_name("film")].metadata["provenance"]
    assert provenance["method"] == "taught"

    assert widget.run_detect_all() is not None
    qtbot.waitUntil(lambda: defects_layer_name("other") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)
    other = np.asarray(viewer.layers[defects_layer_name("other")].data)
    assert (other[truth2] == 1).mean() > 0.6
    assert (other[~truth2] > 0).mean() < 0.05


def test_teach_without_strokes_says_what_to_do(make_napari_viewer, images):
    viewer, widget = mend_dock(make_napari_viewer)
    widget.image.value = viewer.add_image(images[0], name="film")
    widget.add_strokes_layer()
    assert widget.run_teach() is None  # nothing painted: a hint, no worker


def test_mend_a_folder_with_the_taught_model(make_napari_viewer, qtbot, images, tmp_path):
    """Taught on one open image, the dock mends a folder of files with that model, unattended,
    and keeps the model beside the bundles."""
    import tifffile

    from napari_mend.batch.manifest import read_manifest
    from napari_mend.io.bundle import read_bundle

    first, truth1, second, truth2 = images
    folder, out = tmp_path / "scans", tmp_path / "mended"
    folder.mkdir()
    tifffile.imwrite(folder / "other.tif", second)
    viewer, widget = mend_dock(make_napari_viewer)
    widget.image.value = viewer.add_image(first, name="film")
    assert widget.folder.run_folder() is None  # no folders chosen: a hint, no worker
    widget.add_strokes_layer().data = paint(truth1, period=32, keep=12)
    widget.run_teach()
    qtbot.waitUntil(lambda: defects_layer_name("film") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)

    widget.folder.source.value, widget.folder.output.value = folder, out
    assert widget.folder.run_folder() is not None
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=120_000)
    assert widget.folder.result.value.startswith("1 mended, 0 already done, 0 failed")
    saved = list(out.glob("taught-*.mendmodel"))
    assert len(saved) == 1
    manifest = read_manifest(out)
    assert manifest["settings"]["detector"] == str(saved[0].resolve())
    bundle = read_bundle(out / "other.mend")
    np.testing.assert_array_equal(bundle.original, second)
    assert (bundle.labels[truth2] == 1).mean() > 0.6
    assert (bundle.labels[~truth2] > 0).mean() < 0.05
    taught = bundle.provenance["model"][0]  # the detector: the file beside the bundles
    assert taught["name"] == saved[0].stem
    assert taught["sha256"].startswith(saved[0].stem.removeprefix("taught-"))


def test_teach_from_the_strokes_alone(make_napari_viewer, qtbot, images):
    """Unticking "start from the detector's decisions" fits one forest to the strokes."""
    first, truth1, _, _ = images
    viewer, widget = mend_dock(make_napari_viewer)
    widget.image.value = viewer.add_image(first, name="film")
    widget.add_strokes_layer().data = paint(truth1, period=32, keep=12)
    widget.teach.from_base.value = False
    widget.run_teach()
    qtbot.waitUntil(lambda: defects_layer_name("film") in viewer.layers
                    and not widget.runner.busy, timeout=120_000)
    assert [b.root for b in widget.teach._taught.branches] == [-1]
    assert "one forest fitted to the strokes alone" in widget.taught_info.value
