"""Files: lossless TIFF images and Labels, bundles, and provenance records."""

from napari_mend.io.atomic import atomic_path
from napari_mend.io.bundle import Bundle, find_bundles, is_bundle, read_bundle, write_bundle
from napari_mend.io.provenance import array_sha256, make_provenance, mask_summary
from napari_mend.io.tiff import (
    read_image_tiff,
    read_labels_tiff,
    read_tiff_metadata,
    write_image_tiff,
    write_labels_tiff,
)

__all__ = [
    "Bundle",
    "array_sha256",
    "atomic_path",
    "find_bundles",
    "is_bundle",
    "make_provenance",
    "mask_summary",
    "read_bundle",
    "read_image_tiff",
    "read_labels_tiff",
    "read_tiff_metadata",
    "write_bundle",
    "write_image_tiff",
    "write_labels_tiff",
]
