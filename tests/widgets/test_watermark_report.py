"""Single-image watermark removal says what changed, and never "removed" when nothing did."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from helpers import wait_for

pytest.importorskip("napari")

from napari_mend._widgets.special_widget import (
    NO_MARK_HINT,
    WATERMARK_SUFFIX,
    SpecialWidget,
    change_summary,
    copies_note,
    repeats_note,
)
from napari_mend.classes import CLASS_IDS


def test_change_summary_counts_pixels_and_mean_change():
    before = np.zeros((10, 10, 3), np.uint8)
    assert change_summary(before, before.copy(), channel_axis=-1).startswith("nothing changed")
    after = before.copy()
    after[0, :4] = (30, 0, 0)  # 4 pixels, one channel each: mean change 10 per channel
    line = change_summary(before, after, channel_axis=-1)
    assert line == "changed 4 of 100 pixels (4.0%), mean change 10"
    assert "removed" not in line


def marked_photo():
    """A textured gray image with a white mark of opacity 0.4, and the mark's pixels."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96]
    content = 0.3 + 0.2 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 0.05 * rng.random((96, 96))
    mark = np.zeros((96, 96), bool)
    mark[30:66, 20:30] = mark[44:52, 20:70] = True
    image = np.where(mark, 0.4 + 0.6 * content, content)
    return np.round(image * 255).astype(np.uint8), mark


@pytest.fixture
def photo_dock(make_napari_viewer, monkeypatch):
    """``(viewer, widget, image, mark, shown)``: the dock on the marked photo; ``shown``
    collects the messages the dock shows."""
    shown = []
    monkeypatch.setattr("napari_mend._widgets.special_widget.show_info", shown.append)
    viewer = make_napari_viewer()
    widget = SpecialWidget(viewer)
    image, mark = marked_photo()
    widget.image.value = viewer.add_image(image, name="photo")
    return viewer, widget, image, mark, shown


@pytest.mark.gui
def test_single_image_reports_what_changed(photo_dock, qtbot):
    viewer, widget, image, mark, shown = photo_dock
    widget.mark.value = viewer.add_labels(mark * np.uint8(CLASS_IDS["watermark"]), name="mark")
    wait_for(qtbot, widget, widget.run_watermark())
    out = viewer.layers[f"photo {WATERMARK_SUFFIX}"].data
    changed = out != image
    assert changed.any()
    assert widget.wm_result.value.startswith(f"changed {int(changed.sum()):,} of 9,216 pixels")
    mean = np.abs(out.astype(float) - image)[changed].mean()
    assert f"mean change {mean:.3g}" in widget.wm_result.value
    assert shown[-1] == f"napari-mend: 'photo': {widget.wm_result.value}"
    assert "repeats" not in widget.wm_result.value  # one mark, no copies


def test_the_report_says_when_a_tiled_marks_copies_were_used():
    assert repeats_note({"parameters": {"repeated_mark_planes": []}}) == ""
    assert repeats_note({"parameters": {}}) == ""  # a collection
    assert repeats_note({"parameters": {"repeated_mark_planes": [0]}}) == (
        "; the mark repeats: estimated from its copies too")
    assert "in 2 plane(s)" in repeats_note({"parameters": {"repeated_mark_planes": [0, 3]}})


@pytest.mark.gui
def test_an_unchanged_image_is_never_called_removed(make_napari_viewer, qtbot, monkeypatch):
    import napari_mend._widgets.special_widget as sw

    shown = []
    monkeypatch.setattr(sw, "show_info", shown.append)
    monkeypatch.setattr(sw, "remove_watermark", lambda data, *, mask, channel_axis, progress,
                        return_provenance, **options: (data.copy(), {"parameters": {}}))
    viewer = make_napari_viewer()
    widget = SpecialWidget(viewer)
    image, mark = marked_photo()
    widget.image.value = viewer.add_image(image, name="photo")
    widget.mark.value = viewer.add_labels(mark.astype(np.uint8), name="mark")
    wait_for(qtbot, widget, widget.run_watermark())
    assert widget.wm_result.value.startswith("nothing changed")
    assert "removed" not in shown[-1] and "nothing changed" in shown[-1]


@pytest.mark.gui
def test_one_image_without_a_mark_is_not_mended_unchecked(photo_dock, qtbot):
    """The detector's watermark class is not mended unattended (its card): on one image the
    dock asks for the mark instead, and runs nothing; a mark from the defects layer works."""
    viewer, widget, image, mark, shown = photo_dock
    assert widget.run_watermark() is None
    assert shown[-1] == NO_MARK_HINT and "Labels layer" in shown[-1]
    assert f"photo {WATERMARK_SUFFIX}" not in viewer.layers and not widget.runner.busy
    widget.wm_method.value = "collection"  # one image is never a collection: still refused
    assert widget.run_watermark() is None
    defects = np.where(mark, CLASS_IDS["watermark"], 0).astype(np.uint8)
    defects[:3, :3] = CLASS_IDS["dust"]  # other classes of a defects layer are not the mark
    widget.wm_method.value = "auto"
    widget.mark.value = viewer.add_labels(defects, name="photo defects")
    wait_for(qtbot, widget, widget.run_watermark())
    changed = viewer.layers[f"photo {WATERMARK_SUFFIX}"].data != image
    assert changed.any() and not changed[:3, :3].any()


@pytest.mark.gui
def test_a_rectangle_drawn_round_the_mark_is_enough(photo_dock, qtbot):
    """A Shapes layer's rectangle (a rough hint, 6 px round the mark) gives the mark's region;
    only pixels inside it change. An empty hint is refused before any work."""
    viewer, widget, image, mark, shown = photo_dock
    empty = viewer.add_shapes(name="nothing drawn")
    widget.mark.reset_choices()
    widget.mark.value = empty
    assert widget.run_watermark() is None and "marks no pixels" in shown[-1]
    rows, cols = np.nonzero(mark)
    box = np.array([[rows.min() - 6, cols.min() - 6], [rows.max() + 6, cols.max() + 6]])
    hint = viewer.add_shapes([box], shape_type="rectangle", name="hint")
    widget.mark.reset_choices()
    assert hint in widget.mark.choices and empty in widget.mark.choices
    widget.mark.value = hint
    wait_for(qtbot, widget, widget.run_watermark())
    out = viewer.layers[f"photo {WATERMARK_SUFFIX}"].data
    changed = out != image
    inside = np.zeros(mark.shape, bool)
    inside[box[0, 0]:box[1, 0] + 1, box[0, 1]:box[1, 1] + 1] = True
    assert changed[mark].mean() > 0.5 and not changed[~inside].any()
    record = viewer.layers[f"photo {WATERMARK_SUFFIX}"].metadata["provenance"]
    assert record["parameters"]["mark"] == "hint" and record["parameters"]["mask"] == "given"


def crosses(seed, places, arm, bar):
    """A textured gray uint8 image (160 x 200) with a white cross (arms ``arm`` px long and
    ``bar`` px wide, opacity 0.35) at each of ``places`` (top-left corners), and the crosses'
    pixels."""
    yy, xx = np.mgrid[0:160, 0:200]
    rng = np.random.default_rng(seed)
    content = 0.45 + 0.2 * np.sin(xx / 6.0) * np.cos(yy / 9.0) + 0.15 * rng.random((160, 200))
    mark = np.zeros((160, 200), bool)
    side = (arm - bar) // 2
    for y, x in places:
        mark[y:y + arm, x + side:x + side + bar] = mark[y + side:y + side + bar, x:x + arm] = True
    image = np.round(np.where(mark, 0.35 + 0.65 * content, content) * 255).astype(np.uint8)
    return image, mark


@pytest.mark.gui
def test_dock_on_a_tiled_mark_says_its_copies_were_used(make_napari_viewer, qtbot, monkeypatch):
    import napari_mend._widgets.special_widget as sw

    shown = []
    monkeypatch.setattr(sw, "show_info", shown.append)
    # a cross every 36 x 45 px
    image, mark = crosses(1, [(y, x) for y in range(6, 140, 36) for x in range(5, 180, 45)],
                          18, 4)
    viewer = make_napari_viewer()
    widget = SpecialWidget(viewer)
    widget.image.value = viewer.add_image(image, name="tiled")
    widget.mark.value = viewer.add_labels(mark.astype(np.uint8), name="mark")
    wait_for(qtbot, widget, widget.run_watermark())
    layer = viewer.layers[f"tiled {WATERMARK_SUFFIX}"]
    assert layer.metadata["provenance"]["parameters"]["repeated_mark_planes"] == [0]
    assert widget.wm_result.value.endswith("; the mark repeats: estimated from its copies too")
    assert shown[-1].endswith(widget.wm_result.value)


def test_the_report_says_how_many_copies_were_found():
    assert copies_note({"parameters": {}}) == ""  # not asked
    assert copies_note({"parameters": {"copies": []}}) == "; no other copy of the mark found"
    assert copies_note({"parameters": {"copies": [{}, {}]}}) == (
        "; 2 other copies of the mark found and mended")


@pytest.mark.gui
def test_dock_finds_the_other_copies_of_one_painted_copy(make_napari_viewer, qtbot, monkeypatch):
    import napari_mend._widgets.special_widget as sw

    shown = []
    monkeypatch.setattr(sw, "show_info", shown.append)
    image, mark = crosses(2, [(10, 12), (20, 120), (90, 40), (100, 150)], 24, 5)  # 4 stamps
    first = np.zeros(mark.shape, bool)
    first[:40, :45] = True
    # the first copy painted over with a broad brush (4 px beyond it)
    painted = ndi.binary_dilation(mark & first, iterations=4).astype(np.uint8)
    viewer = make_napari_viewer()
    widget = SpecialWidget(viewer)
    widget.image.value = viewer.add_image(image, name="stamped")
    widget.find_copies.value = True
    assert widget.run_watermark() is None  # no mark layer: says what to paint
    assert "paint one copy" in shown[-1]
    widget.mark.value = viewer.add_labels(painted, name="one copy")
    wait_for(qtbot, widget, widget.run_watermark())
    layer = viewer.layers[f"stamped {WATERMARK_SUFFIX}"]
    assert len(layer.metadata["provenance"]["parameters"]["copies"]) == 3
    changed = layer.data != image
    for y, x in ((20, 120), (90, 40), (100, 150)):  # the copies not painted are mended too
        assert changed[y:y + 24, x:x + 24][mark[y:y + 24, x:x + 24]].mean() > 0.5
    assert widget.wm_result.value.endswith("; 3 other copies of the mark found and mended")
