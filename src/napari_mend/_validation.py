"""Input checks and the plane view shared by every public function.

The public API accepts scikit-image style arrays: ``(M, N)`` gray,
``(M, N, C)`` colour with ``channel_axis``, and stacks with leading axes
(``(P, M, N[, C])``). Algorithms see one plane at a time as float32
``(M, N, C)`` in the input's *unit scale*: integers divided by their dtype's
maximum, floats as given. This module converts both ways, so that every
algorithm handles dtype and stacks the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUPPORTED_DTYPES = "uint8, uint16, int8, int16, float16, float32 or float64"
MAX_CHANNELS = 4  # gray+alpha / RGB / RGBA; alpha is ignored by the algorithms


def _check_dtype(dtype: np.dtype, what: str) -> None:
    ok = (dtype.kind == "f" and dtype.itemsize <= 8) or (
        dtype.kind in "ui" and dtype.itemsize <= 2
    )
    if not ok:
        raise TypeError(
            f"{what} has dtype {dtype}, which napari-mend does not mend; "
            f"convert it to {SUPPORTED_DTYPES} first (e.g. image.astype(np.float32))"
        )


@dataclass(frozen=True)
class PlaneView:
    """An image seen as a stack of planes ``(P, M, N, C)``.

    Attributes
    ----------
    planes : ndarray
        ``(P, M, N, C)`` view (or copy) of the input in its own dtype.
    shape : tuple
        The input's shape.
    dtype : numpy.dtype
        The input's dtype.
    channel_axis : int or None
        Normalised (non-negative) channel axis of the input, or None.
    out_dtype : numpy.dtype
        dtype of results (the input's, float16 -> float32).
    """

    planes: np.ndarray
    shape: tuple
    dtype: np.dtype
    channel_axis: int | None
    out_dtype: np.dtype

    @property
    def spatial_shape(self) -> tuple:
        """The input's shape without the channel axis."""
        if self.channel_axis is None:
            return self.shape
        return self.shape[: self.channel_axis] + self.shape[self.channel_axis + 1 :]

    @property
    def n_planes(self) -> int:
        return self.planes.shape[0]

    @property
    def n_color(self) -> int:
        """Channels the algorithms use: 1 (gray) or 3 (RGB); alpha is left out."""
        return 1 if self.planes.shape[-1] < 3 else 3

    def plane(self, i: int) -> np.ndarray:
        """Plane ``i`` as float32 ``(M, N, C)`` in unit scale (C = 1 or 3), a new array."""
        return to_unit_float(self.raw_plane(i))

    def raw_plane(self, i: int) -> np.ndarray:
        """Plane ``i`` as ``(M, N, C)`` in the input's own dtype and values (alpha dropped).

        A view where the layout allows, so readers that convert piece by piece
        (e.g. tiled networks) never hold a float copy of a large plane.
        """
        return self.planes[i][..., : self.n_color]

    def assemble(self, planes: np.ndarray) -> np.ndarray:
        """Inverse of the plane view: ``(P, M, N, C')`` back to the input's layout."""
        out = planes.reshape(self.spatial_shape[:-2] + planes.shape[1:])
        if self.channel_axis is None:
            return out[..., 0]
        return np.moveaxis(out, -1, self.channel_axis)


def plane_view(image, *, channel_axis=None, name: str = "image") -> PlaneView:
    """Validate ``image`` and return its :class:`PlaneView`.

    Raises
    ------
    TypeError
        Unsupported dtype (bool, complex, object, 32/64-bit integers).
    ValueError
        Too few dimensions, a ``channel_axis`` that does not point at a
        channel axis, or NaN/inf values.
    """
    image = np.asarray(image)
    _check_dtype(image.dtype, name)
    spatial_ndim = image.ndim - (channel_axis is not None)
    if spatial_ndim < 2:
        layout = "(M, N)" if channel_axis is None else "(M, N, C) with channel_axis"
        raise ValueError(
            f"{name} has shape {image.shape}; expected at least 2 spatial axes, {layout}, "
            "optionally with leading plane axes such as (Z, M, N)"
        )
    if channel_axis is not None:
        if not -image.ndim <= channel_axis < image.ndim:
            raise ValueError(
                f"channel_axis={channel_axis} is out of range for {name} with {image.ndim} axes"
            )
        channel_axis = channel_axis % image.ndim
        n_ch = image.shape[channel_axis]
        if not 1 <= n_ch <= MAX_CHANNELS:
            raise ValueError(
                f"channel_axis={channel_axis} points at an axis of length {n_ch}, which is "
                f"not a channel axis (1 to {MAX_CHANNELS} channels: gray, RGB, RGBA); pass "
                "channel_axis=None for a gray image or stack, or the index of the colour axis"
            )
        moved = np.moveaxis(image, channel_axis, -1)
    else:
        moved = image[..., np.newaxis]
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(
            f"{name} contains NaN or infinite values; replace them first "
            "(e.g. np.nan_to_num(image)) or mask them and inpaint"
        )
    if image.dtype == np.float64 and image.size and \
            np.abs(image).max() > np.finfo(np.float32).max:
        raise ValueError(
            f"{name} holds values beyond float32's range (|x| > {np.finfo(np.float32).max:.3g}), "
            "which napari-mend computes in; rescale it first (e.g. image / np.abs(image).max())"
        )
    planes = moved.reshape((-1,) + moved.shape[-3:])
    out_dtype = np.dtype(np.float32) if image.dtype == np.float16 else image.dtype
    return PlaneView(planes, image.shape, image.dtype, channel_axis, out_dtype)


def check_mask(mask, view: PlaneView, *, name: str = "mask") -> np.ndarray:
    """Return ``mask`` as bool ``(P, M, N)`` matching ``view``'s planes.

    ``mask`` may be bool, an integer Labels array (non-zero = fill) or float
    in ``[0, 1]`` (``>= 0.5`` = fill), of the image's spatial shape or of one
    plane's shape ``(M, N)`` (then used for every plane).
    """
    mask = np.asarray(mask)
    if mask.dtype.kind == "b":
        fill = mask
    elif mask.dtype.kind in "ui":
        fill = mask != 0
    elif mask.dtype.kind == "f":
        if not np.isfinite(mask).all() or mask.min(initial=0) < 0 or mask.max(initial=0) > 1:
            raise ValueError(
                f"float {name} must hold values in [0, 1] (>= 0.5 means fill); "
                "pass a bool or integer Labels array instead"
            )
        fill = mask >= 0.5
    else:
        raise TypeError(f"{name} has dtype {mask.dtype}; pass a bool or integer Labels array")
    return plane_stack(fill, view, name=name)


def plane_stack(values: np.ndarray, view: PlaneView, *, name: str = "mask") -> np.ndarray:
    """A spatial array (the image's shape without the channel axis, or one plane's
    ``(M, N)``, broadcast over a stack) as ``(P, M, N)`` matching ``view``'s planes."""
    spatial = view.spatial_shape
    if values.shape == spatial:
        return values.reshape((-1,) + spatial[-2:])
    if values.shape == spatial[-2:]:
        return np.broadcast_to(values, (view.n_planes,) + spatial[-2:])
    raise spatial_mismatch(name, values.shape, spatial, view.channel_axis)


def spatial_mismatch(name: str, shape, spatial, channel_axis) -> ValueError:
    """The error of an array (mask, Labels) whose shape does not fit the image's."""
    left_out = f" (channel axis {channel_axis} left out)" if channel_axis is not None else ""
    return ValueError(f"{name} has shape {tuple(shape)} but the image's spatial shape is "
                      f"{tuple(spatial)}{left_out}; pass a mask of shape {tuple(spatial)} or "
                      f"{tuple(spatial[-2:])}")


def to_unit_float(values: np.ndarray) -> np.ndarray:
    """Convert to float32 in unit scale (integers divided by their dtype's maximum)."""
    if values.dtype.kind in "ui":
        return values.astype(np.float32) / np.float32(np.iinfo(values.dtype).max)
    return values.astype(np.float32)


def from_unit_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`to_unit_float`: round and clip integers, cast floats."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        scaled = np.rint(values.astype(np.float64) * info.max)
        return np.clip(scaled, info.min, info.max).astype(dtype)
    return values.astype(dtype)
