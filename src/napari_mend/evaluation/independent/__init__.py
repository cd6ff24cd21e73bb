"""Independent validation generator for napari-mend.

Makes ``(clean, damaged, labels)`` triples from procedural clean images and
physically motivated defect models written without reference to the
project's own synthesiser, so that detector F1 and inpainter PSNR can be
measured on data the models were never shaped by.  Never train or calibrate
on it.  The package is standalone: it imports nothing from the rest of
napari-mend.

Examples
--------
>>> import numpy as np
>>> from napari_mend.evaluation.independent import dataset, CLASSES
>>> for clean, damaged, labels, cls in dataset(seed=0, n_per_class=1, size=64):
...     assert labels.max() == cls

Modules
-------
classes
    :data:`CLASSES`, the local class registry.
clean_scenes
    Procedural clean images and crops of images shipped offline.
scratches, dust, blotches, annotations, watermarks, halftone_moire
    One defect model each.
fonts
    Non-DejaVu font selection for text.
compositing, geometry, random_fields
    Shared helpers.
generator
    :func:`damaged_sample`, :func:`dataset` and :func:`watermarked_collection`.
"""

from .classes import CLASSES
from .clean_scenes import SCENES, clean_image, clean_images
from .generator import (
    DEFECTS,
    Collection,
    Sample,
    damaged_sample,
    dataset,
    watermarked_collection,
)

__all__ = [
    "CLASSES",
    "DEFECTS",
    "SCENES",
    "Collection",
    "Sample",
    "clean_image",
    "clean_images",
    "damaged_sample",
    "dataset",
    "watermarked_collection",
]
