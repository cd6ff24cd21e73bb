"""Synthetic defects, one module per defect class, and their registries.

Every ``add_*`` function takes a float image of shape (H, W) or (H, W, C) with
values in [0, 1] and a :class:`numpy.random.Generator`, and returns a new
damaged image (same shape and dtype) and a boolean mask (H, W). The input is
never modified. Each is built on a drawer ``(img (H, W, C) float32, rng) ->
Layer``; :mod:`napari_mend.synthesis.layers` holds the mask rule they share.

===========  ==========================================  =============
class        module                                      function
===========  ==========================================  =============
scratch      :mod:`napari_mend.synthesis.scratches`      add_scratches
dust         :mod:`napari_mend.synthesis.dust`           add_dust
blotch       :mod:`napari_mend.synthesis.blotches`       add_blotches
text         :mod:`napari_mend.synthesis.annotations`    add_text
watermark    :mod:`napari_mend.synthesis.watermarks`     add_watermark
moire        :mod:`napari_mend.synthesis.moire`          add_moire
===========  ==========================================  =============
"""

from __future__ import annotations

from .annotations import add_text, draw_text
from .blotches import add_blotches, draw_blotches
from .dust import add_dust, draw_dust
from .moire import add_moire, draw_moire
from .scratches import add_scratches, draw_scratches
from .watermarks import add_watermark, draw_watermark

DEFECT_FUNCTIONS = {
    "scratch": add_scratches,
    "dust": add_dust,
    "blotch": add_blotches,
    "text": add_text,
    "watermark": add_watermark,
    "moire": add_moire,
}
"""Class name -> public ``add_*`` function."""

DRAWERS = {
    "scratch": draw_scratches,
    "dust": draw_dust,
    "blotch": draw_blotches,
    "text": draw_text,
    "watermark": draw_watermark,
    "moire": draw_moire,
}
"""Class name -> drawer ``(img (H, W, C) float32, rng) -> Layer``."""
