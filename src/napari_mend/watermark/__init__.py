"""Watermark removal: one image (colour and opacity estimated per pixel) or a collection
sharing one mark (after Dekel et al., CVPR 2017)."""

from .collection import (CollectionMark, NoCommonMark, estimate_collection,
                         estimate_collection_mark, remove_collection)
from .single import estimate_mark, remove_single

__all__ = ["CollectionMark", "NoCommonMark", "estimate_collection", "estimate_collection_mark",
           "estimate_mark", "remove_collection", "remove_single"]
