"""Filling in place in the image's own dtype (no float32 copy of the plane)."""

import numpy as np
import pytest
from skimage import data, draw

import napari_mend as nm
from napari_mend._validation import from_unit_float, to_unit_float
from napari_mend.inpainting.auto import fill_auto
from napari_mend.inpainting.unit_plane import UnitPlane


def test_unit_plane_reads_unit_floats_and_rounds_writes_into_its_dtype():
    raw = np.arange(24, dtype=np.uint8).reshape(2, 4, 3) * 10
    plane = UnitPlane(raw)
    assert plane.shape == raw.shape and plane.dtype == np.float32
    np.testing.assert_allclose(plane[1:, ::2], raw[1:, ::2] / 255, rtol=1e-6)
    where = np.array([[True, False]])
    plane.store((slice(0, 1), slice(1, 3)), where, np.array([[0.5, 0.5, 2.0]], np.float32))
    assert raw[0, 1].tolist() == [128, 128, 255]  # rounded and clipped
    assert raw[0, 2].tolist() == [60, 70, 80]  # not in ``where``: untouched


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_inpaint_in_the_images_dtype_matches_the_float_fill(dtype, monkeypatch):
    from scipy import ndimage as ndi

    from napari_mend.inpainting import auto

    image = data.astronaut()[:256, :256].astype(dtype)
    if dtype == np.uint16:
        image = image * np.uint16(257)
    mask = np.zeros(image.shape[:2], bool)
    mask[draw.disk((120, 130), 30)] = True  # learned
    mask[draw.line(5, 5, 250, 200)] = True  # thin: classical
    before = image.copy()
    width = auto.rim_width()
    out = nm.inpaint(image, mask, channel_axis=-1, method="auto")
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])
    expected = from_unit_float(fill_auto(to_unit_float(image), mask), dtype)
    diff = np.abs(out.astype(np.int64) - expected.astype(np.int64)).max(axis=-1)
    # the network's values beyond the dtype's range are clipped when stored, and the rim
    # mixing then reads them clipped: differences only there, in the learned group's rim
    assert (diff[mask] <= 1).mean() > 0.98
    assert (ndi.distance_transform_edt(mask)[diff > 1] <= width).all()
    # without the rim mixing: later groups read earlier fills at the image's precision,
    # at most one grey level apart
    monkeypatch.setattr(auto, "rim_width", lambda model="inpainter": 0.0)
    out = nm.inpaint(image, mask, channel_axis=-1, method="auto")
    expected = from_unit_float(fill_auto(to_unit_float(image), mask), dtype)
    assert np.abs(out.astype(np.int64) - expected.astype(np.int64)).max() <= 1
