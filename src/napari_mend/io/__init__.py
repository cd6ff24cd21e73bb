"""Files: lossless TIFF images and Labels, bundles, and provenance records.

Names load lazily (:mod:`lazy_loader`): importing this package imports none of
its modules until a name is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "atomic": ["atomic_path"],
        "bundle": ["Bundle", "find_bundles", "is_bundle", "read_bundle", "write_bundle"],
        "provenance": ["array_sha256", "make_provenance", "mask_summary"],
        "tiff": ["read_image_tiff", "read_labels_tiff", "read_tiff_metadata",
                 "write_image_tiff", "write_labels_tiff"],
    },
)
