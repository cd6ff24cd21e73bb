"""Synthetic defects, inpainting masks and clean training images.

Shared by model training, sample data and tests; pure numpy, scipy and Pillow
(no Qt, no napari, no torch).
"""

from .corpus import ALL_IMAGES, TRAIN_IMAGES, VAL_IMAGES, corpus_images, load_corpus_image
from .damage import Damage, synthesize_defects
from .degrade import degrade
from .defects import (
    DEFECT_FUNCTIONS,
    add_blotches,
    add_dust,
    add_moire,
    add_scratches,
    add_text,
    add_watermark,
)
from .logos import procedural_logo
from .masks import MASK_FAMILIES, inpainting_mask
from .procedural import procedural_image
from .text import font_paths, render_text_mask

__all__ = [
    "ALL_IMAGES",
    "DEFECT_FUNCTIONS",
    "MASK_FAMILIES",
    "TRAIN_IMAGES",
    "VAL_IMAGES",
    "Damage",
    "add_blotches",
    "add_dust",
    "add_moire",
    "add_scratches",
    "add_text",
    "add_watermark",
    "corpus_images",
    "degrade",
    "font_paths",
    "inpainting_mask",
    "load_corpus_image",
    "procedural_image",
    "procedural_logo",
    "render_text_mask",
    "synthesize_defects",
]
