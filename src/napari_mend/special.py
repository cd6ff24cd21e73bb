"""Watermark and moire removers (public entry points)."""

from __future__ import annotations


def remove_watermark(images, *, mask=None, channel_axis=None):
    """Remove a semi-transparent watermark from one image or a collection sharing it.

    Not available yet in this version of napari-mend.

    Raises
    ------
    NotImplementedError
        Always, for now. Mask the watermark (``detect(..., classes=['watermark'])``)
        and use :func:`napari_mend.inpaint` meanwhile.
    """
    raise NotImplementedError(
        "remove_watermark is not available in this version of napari-mend; detect the "
        "watermark with detect(image, classes=['watermark']) and fill it with inpaint() meanwhile"
    )


def demoire(image, *, channel_axis=None, method="auto"):
    """Remove moire patterns.

    Not available yet in this version of napari-mend.

    Raises
    ------
    NotImplementedError
        Always, for now.
    """
    raise NotImplementedError(
        "demoire is not available in this version of napari-mend; moire regions can be "
        "found with detect(image, classes=['moire'])"
    )
