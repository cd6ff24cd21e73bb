"""Watermark removal: one image (colour and opacity estimated per pixel) or a collection
sharing one mark (after Dekel et al., CVPR 2017).

Names load lazily (:mod:`lazy_loader`): importing this package imports none of
its modules until a name is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "collection": ["CollectionMark", "NoCommonMark", "estimate_collection", "estimate_collection_mark", "remove_collection"],
        "copies": ["find_copies", "remove_copies"],
        "api": ["collection_watermark", "remove_collection_watermark", "remove_watermark"],
        "single": ["estimate_mark", "remove_single"],
    },
)
