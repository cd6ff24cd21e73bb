"""Completing detected burned-in text to whole annotations.

A burned-in annotation is drawn in one colour over the image, with
anti-aliased edges, sometimes on a flat label background. A detector that
finds part of an annotation (most glyphs of a line, part of a box outline)
leaves the rest, and for de-identification every annotation pixel matters.
:func:`complete_text` grows each detected text block by colour:

1. Detected text pixels closer than ``gap`` px form one block; the block's
   text colour is the median of its detected pixels and its background
   colour the median of a ring around them.
2. Pixels near the block whose colour lies at least half-way from the
   background to the text colour, and near the line between the two, are
   added, ``GROW_STEPS`` times, each time within ``reach`` px of the text
   found so far, so neighbouring glyphs that the detector missed join (at
   most ``GROW_STEPS * reach`` px away).
3. Straight strokes (box outlines, underlines, scale-bar ticks and rulers)
   are followed beyond that reach: text-coloured pixels on horizontal or
   vertical runs of at least ``LINE_MIN`` px that are thinner than
   ``LINE_MAX_WIDTH`` px join when the run touches the text, up to
   ``LINE_REACH`` px from the block.
4. Anti-aliased rims: pixels next to the text that moved at least
   ``RIM_SHIFT`` of the way towards the text colour are added, then the
   text is grown by ``rim`` px.
5. A label background (a flat field around the text, different from the
   image around it) is added where it surrounds the text.

Blocks whose text and background colours are too close to tell apart, and
blocks with no text-like strokes inside (most of their text-coloured pixels
farther than ``STROKE_HALF_WIDTH`` px from the background, as in a dark
patch of the photograph taken for text), are left as detected: only strokes
grow. Other classes' labels are never overwritten.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import ndimage as ndi

from .._validation import plane_view
from ..arrays import is_lazy
from ..blocks import DEFAULT_CHUNK, map_planes
from ..classes import CLASS_IDS, class_ids

MIN_CONTRAST = 0.08
"""Text and background colours closer than this (unit range) are not grown."""
OFF_AXIS = 0.25
"""Largest distance from the background-to-text colour line (share of the contrast) of text."""
RIM_SHIFT = 0.15
"""Share of the way towards the text colour that makes a pixel next to the text a rim."""
GROW_STEPS = 4
"""Steps of ``reach`` px by which text grows at most (so at most ``GROW_STEPS * reach`` px)."""
FLAT_SPREAD = 0.008
"""A ring around the text this uniform (median absolute deviation) may be a label background."""
LINE_MIN = 12
"""Shortest horizontal or vertical run of text-coloured pixels (px) followed as a stroke."""
LINE_MAX_WIDTH = 6
"""Runs at least this thick (px) across their direction are areas, not strokes."""
STROKE_HALF_WIDTH = 4
"""Text-coloured pixels at most this far (px) from the background are strokes (glyphs up to
about 8 px thick)."""
STROKE_SHARE = 0.7
"""A detected block grows only when at least this share of its text-coloured pixels are strokes."""
LINE_REACH = 240
"""How far (px) beyond a block a stroke is followed, at most."""
TEXT_DEPTH = LINE_REACH + 16
"""Margin of an image block (lazy images) for completing detected text: colour growth
reaches 27 px, straight strokes are followed ``LINE_REACH`` px plus the rim (256 px)."""


def _unit(plane: np.ndarray) -> np.ndarray:
    """``(M, N, C)`` plane mapped to about ``[0, 1]`` by its 0.5 / 99.5 percentiles."""
    plane = np.asarray(plane, np.float32)
    lo, hi = np.percentile(plane[::4, ::4], (0.5, 99.5))
    return (plane - lo) / np.float32(hi - lo if hi > lo else 1.0)


def _grow_block(crop: np.ndarray, found: np.ndarray, *, reach: int, rim: int):
    """Completed text pixels of one block (bool, like ``found``), or None to leave it.

    ``crop`` is the unit-range image around the block, ``found`` its detected text.
    """
    ring = ndi.binary_dilation(found, iterations=3) & ~ndi.binary_dilation(found, iterations=1)
    if not ring.any():
        return None
    colour = np.median(crop[found], axis=0)
    background = np.median(crop[ring], axis=0)
    axis = colour - background
    contrast = float(np.sqrt((axis ** 2).sum()))
    if contrast < MIN_CONTRAST:
        return None
    # position of every pixel between background (0) and text colour (1)
    t = ((crop - background) @ axis) / contrast ** 2
    off_axis = np.sqrt(np.maximum(((crop - background) ** 2).sum(-1) - (t * contrast) ** 2, 0))
    like_text = (t >= 0.5) & (off_axis < OFF_AXIS * contrast)
    if not _has_strokes(like_text & ndi.binary_dilation(found, iterations=2)):
        return None
    grown = found.copy()
    for _ in range(GROW_STEPS):  # missed glyphs join through their neighbours
        more = like_text & ndi.binary_dilation(grown, iterations=reach) & ~grown
        if not more.any():
            break
        grown |= more
    grown |= _strokes_from(like_text, grown)
    grown |= (t >= RIM_SHIFT) & ndi.binary_dilation(grown, iterations=1)
    if rim:
        grown = ndi.binary_dilation(grown, iterations=rim)
    spread = np.median(np.abs(crop[ring] - background), axis=0).max()
    if spread < FLAT_SPREAD:  # a label background: its flat field around the text
        flat = np.sqrt(((crop - background) ** 2).sum(-1)) < max(3 * spread, 0.02)
        field, _ = ndi.label(flat | grown)
        touching = np.unique(field[grown])
        grown |= np.isin(field, touching[touching > 0]) & flat & ndi.binary_dilation(
            grown, iterations=reach)
    return grown


def _has_strokes(inked: np.ndarray) -> bool:
    """Whether the text-coloured pixels ``inked`` of a block are mostly thin strokes."""
    if not inked.any():
        return False
    depth = ndi.distance_transform_edt(inked)
    return float(np.mean(depth[inked] <= STROKE_HALF_WIDTH)) >= STROKE_SHARE


def _strokes_from(like_text: np.ndarray, text: np.ndarray) -> np.ndarray:
    """Thin horizontal and vertical strokes of ``like_text`` that touch ``text`` (bool)."""
    along = {axis: ndi.binary_opening(like_text, np.ones((1, LINE_MIN) if axis else (LINE_MIN, 1)))
             for axis in (0, 1)}
    thick = {axis: ndi.binary_opening(like_text, np.ones((LINE_MAX_WIDTH, 1) if axis
                                                         else (1, LINE_MAX_WIDTH)))
             for axis in (0, 1)}
    strokes = (along[1] & ~thick[1]) | (along[0] & ~thick[0])  # 1: horizontal, 0: vertical
    if not strokes.any():
        return strokes
    pieces, _ = ndi.label(strokes | text, structure=np.ones((3, 3), bool))
    touching = np.unique(pieces[text])
    return strokes & np.isin(pieces, touching[touching > 0])


def may_find_text(detector: str, classes=None) -> bool:
    """Whether detecting with ``detector`` for ``classes`` can label text (else nothing to complete).

    The classical detector never labels text.
    """
    return detector != "classical" and CLASS_IDS["text"] in class_ids(classes)


def complete_text(image, labels, *, channel_axis=None, gap: int = 8, reach: int = 6,
                  rim: int = 1, chunk: int = DEFAULT_CHUNK):
    """Grow detected burned-in text to whole annotations (see the module docstring).

    Parameters
    ----------
    image : (M, N[, ..., P][, C]) ndarray
        Image or stack with leading plane axes, gray or colour (RGBA: alpha
        ignored); any supported dtype. A dask or zarr image is completed
        lazily, block by block.
    labels : integer ndarray
        Detected defects (:func:`napari_mend.detect`), the image's shape
        without the channel axis. Only the text label grows, into
        unlabelled pixels.
    channel_axis : int or None, optional
        Colour axis of ``image``; ``None`` means gray.
    gap : int, optional
        Detected text pixels closer than this (px) form one block.
    reach : int, optional
        How far (px) text grows from what was found in one step.
    rim : int, optional
        Final growth (px) over anti-aliased edges.
    chunk : int, optional
        Block side (px) of a dask or zarr image, each completed with
        ``TEXT_DEPTH`` px of its neighbours.

    Returns
    -------
    labels : ndarray or dask.array.Array
        New array, ``labels``' shape and dtype (lazy for a lazy input).

    Raises
    ------
    ValueError
        ``labels`` do not match the image's shape.
    """
    options = {"gap": gap, "reach": reach, "rim": rim}
    if not (is_lazy(image) or is_lazy(labels)):
        labels = np.asarray(labels)
        spatial = plane_view(image, channel_axis=channel_axis).spatial_shape
        if labels.shape != spatial:
            raise ValueError(f"labels of shape {labels.shape} do not match the image's spatial "
                             f"shape {spatial}; pass the labels detected on this image")
    return map_planes(partial(_text_kernel, options=options), image, labels,
                      channel_axis=channel_axis, out="plane", dtype=labels.dtype, unit=False,
                      depth=TEXT_DEPTH, chunk=chunk, names=["labels"])


def _text_kernel(plane, labels, *, plane_info=None, options):
    return complete_text_plane(plane, labels, **options)


def complete_text_plane(plane: np.ndarray, labels: np.ndarray, *, gap: int = 8, reach: int = 6,
                        rim: int = 1) -> np.ndarray:
    """:func:`complete_text` of one ``(M, N, C)`` plane (C = 1 or 3) and its ``(M, N)`` labels."""
    out = labels.copy()
    text = labels == CLASS_IDS["text"]
    if not text.any():
        return out
    unit = _unit(plane)
    blocks, _ = ndi.label(ndi.binary_dilation(text, iterations=gap // 2))
    for index, core in enumerate(ndi.find_objects(blocks), start=1):
        box, grown = _completed_block(unit, text, blocks, index, core, reach=reach, rim=rim)
        if grown is not None:
            target = out[box]
            target[grown & (target == 0)] = CLASS_IDS["text"]
    return out


def _completed_block(unit, text, blocks, index, core, *, reach: int, rim: int):
    """``(box, grown)``: block ``index`` completed in a crop ``box`` of the plane.

    The crop holds the colour growth; while strokes run into its edge it is
    enlarged, up to ``LINE_REACH`` px around the block.
    """
    margin = GROW_STEPS * reach + rim + 2
    largest = max(margin, LINE_REACH + rim + 2)
    shape = text.shape
    while True:
        box = tuple(slice(max(s.start - margin, 0), min(s.stop + margin, n))
                    for s, n in zip(core, shape))
        grown = _grow_block(unit[box], text[box] & (blocks[box] == index), reach=reach, rim=rim)
        if grown is None or margin >= largest or not _runs_out(grown, box, shape):
            return box, grown
        margin = min(2 * margin, largest)


def _runs_out(grown: np.ndarray, box, shape) -> bool:
    """Whether ``grown`` touches an edge of its crop ``box`` that is not the plane's edge."""
    return ((box[0].start > 0 and grown[0].any()) or (box[0].stop < shape[0] and grown[-1].any())
            or (box[1].start > 0 and grown[:, 0].any())
            or (box[1].stop < shape[1] and grown[:, -1].any()))
