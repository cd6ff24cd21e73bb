"""Regions of a Labels plane found strip by strip: the same as labelling the whole plane."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_mend.regions import plane_regions


def _whole_plane(plane, value, scores):
    comp, n = ndi.label(plane == value, structure=np.ones((3, 3)))
    out = []
    for k, box in enumerate(ndi.find_objects(comp), start=1):
        inside = comp[box] == k
        s = scores[box][inside]
        out.append({"bbox": [box[0].start, box[1].start, box[0].stop, box[1].stop],
                    "pixels": int(inside.sum()), "score_sum": float(s.sum()),
                    "max_score": float(s.max())})
    return out


def _scene():
    rng = np.random.default_rng(0)
    plane = np.where(rng.random((61, 47)) < 0.08, 2, 0).astype(np.uint8)  # specks
    plane[5:40, 10] = plane[5:40, 20] = 3  # a U across many strips, joined at the bottom only
    plane[39, 10:21] = 3
    plane[20, 30:47] = 3  # a line along one row (inside one strip or on a seam)
    plane[44, 5], plane[45, 6], plane[46, 5] = 3, 3, 3  # diagonal steps across a seam
    return plane, rng.random(plane.shape)


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 20, 1024])
@pytest.mark.parametrize("value", [2, 3])
def test_strips_give_the_whole_plane_regions(rows, value):
    plane, scores = _scene()
    got = plane_regions(plane, value, scores=scores, rows=rows)
    want = _whole_plane(plane, value, scores)
    assert [(r["bbox"], r["pixels"]) for r in got] == [(r["bbox"], r["pixels"]) for r in want]
    np.testing.assert_allclose([r["score_sum"] for r in got], [r["score_sum"] for r in want])
    assert [r["max_score"] for r in got] == [r["max_score"] for r in want]


def test_lazy_planes_and_no_regions():
    da = pytest.importorskip("dask.array")
    plane, _ = _scene()
    lazy = da.from_array(plane, chunks=(16, 16))
    assert plane_regions(lazy, 3, rows=5) == plane_regions(plane, 3)
    assert plane_regions(plane, 5) == []
    assert plane_regions(np.zeros((0, 4), np.uint8), 1) == []
