"""Synthetic defects, inpainting masks and clean training images.

Shared by model training, sample data and tests; pure numpy, scipy and Pillow
(no Qt, no napari, no torch).
"""

from .annotations import add_text
from .blotches import add_blotches
from .corpus import (
    ALL_IMAGES,
    TRAIN_IMAGES,
    VAL_IMAGES,
    corpus_images,
    load_corpus_image,
)
from .damage import Damage, synthesize_defects
from .defects import DEFECT_FUNCTIONS
from .degrade import degrade
from .dust import add_dust
from .logos import procedural_logo
from .masks import MASK_FAMILIES, inpainting_mask
from .moire import add_moire
from .procedural import procedural_image
from .scratches import add_scratches
from .text import font_paths, render_text_mask
from .watermarks import add_watermark

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
