"""Tiled processing of large image planes with overlap and smooth blending.

A plane is cut into equal tiles that overlap by ``overlap`` pixels; each tile's
result is weighted by a separable raised-cosine window that falls off towards
the tile's edges (where a network sees the least context) and the weighted
results are summed, then divided by the summed weights. Because every tile
has the same size, the summed weights are the outer product of two 1-D
profiles, so no full-size weight image is ever allocated, and a band of
finished rows is written out after each row of tiles: memory is the output
plus one row of tiles.

Every tile has the same size; where the plane is smaller than a tile, the tile
is padded (:func:`pad_to_tile`) and its result cropped back.

For work at a coarser scale, :func:`downscale` shrinks a plane by block means
(:class:`Downscaled` does it lazily, a tile at a time, so :func:`tiled_map`
never holds the whole shrunk plane) and :func:`max_upsampled` merges a coarse
result back, a strip at a time.
"""

from __future__ import annotations

import math

import numpy as np


def tile_starts(length: int, *, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` pixels.

    Parameters
    ----------
    length : int
        Axis length (``>= tile``).
    tile : int
        Tile length.
    overlap : int
        Minimum overlap between neighbouring tiles (``< tile``).

    Returns
    -------
    starts : list of int
        Increasing offsets; the first is 0 and the last is ``length - tile``.
    """
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile), got overlap={overlap}, tile={tile}")
    if length <= tile:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """1-D blending weights of a tile: raised-cosine ramps of width ``overlap``, 1 inside.

    Weights are strictly positive, so every pixel covered by a tile gets a
    defined blend.
    """
    w = np.ones(tile, np.float32)
    if overlap > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        w[:overlap] = ramp
        w[tile - overlap:] = np.minimum(w[tile - overlap:], ramp[::-1])
    return w


def _axis_plan(length: int, tile: int, overlap: int):
    """Starts and blending window of the tiles along one axis."""
    if length > tile:
        return tile_starts(length, tile=tile, overlap=overlap), blend_window(tile, overlap)
    return [0], np.ones(tile, np.float32)


def tiled_map(plane: np.ndarray, fn, *, out_channels: int, tile: int = 512, overlap: int = 64,
              multiple: int = 1, progress=None, out: np.ndarray | None = None) -> np.ndarray:
    """Apply ``fn`` tile by tile and blend the results into a full-size output.

    Tiles are processed row by row; blended rows are written to ``out`` as
    soon as no later tile touches them, so the only full-size array is
    ``out`` itself (which may be e.g. float16 to halve memory).

    Parameters
    ----------
    plane : (M, N, C) ndarray or :class:`Downscaled`
        Input plane. It is only read, a tile at a time.
    fn : callable
        ``fn(tile_array) -> (out_channels, tile, tile)`` array, called with
        ``(tile, tile, C)`` float32 tiles.
    out_channels : int
        Channels of ``fn``'s output.
    tile : int
        Tile side (a multiple of ``multiple``). Every tile has this size, so
        a network always sees inputs of the size it was trained on.
    overlap : int
        Overlap of neighbouring tiles, in pixels.
    multiple : int
        ``tile`` must be a multiple of this (e.g. a network's total stride).
    progress : callable, optional
        ``progress(done, total)`` after every tile.
    out : (out_channels, M, N) float ndarray, optional
        Array to write the result into (any float dtype).

    Returns
    -------
    out : (out_channels, M, N) ndarray
        Blended result (float32 unless ``out`` was given).
    """
    if plane.ndim != 3:
        raise ValueError(f"expected an (M, N, C) plane, got shape {plane.shape}")
    if tile % multiple:
        raise ValueError(f"tile ({tile}) must be a multiple of {multiple}")
    height, width = plane.shape[:2]
    if out is None:
        out = np.empty((out_channels, height, width), np.float32)
    elif out.shape != (out_channels, height, width):
        raise ValueError(f"out has shape {out.shape}, expected {(out_channels, height, width)}")
    ys, wy = _axis_plan(height, tile, overlap)
    xs, wx = _axis_plan(width, tile, overlap)
    sum_y = np.zeros(height, np.float32)
    for y in ys:
        sum_y[y:y + tile] += wy[:height - y]
    sum_x = np.zeros(width, np.float32)
    for x in xs:
        sum_x[x:x + tile] += wx[:width - x]
    band = np.zeros((out_channels, tile, width), np.float32)  # rows ys[i] .. ys[i] + tile
    total = len(ys) * len(xs)
    done = 0
    for i, y in enumerate(ys):
        h = min(tile, height - y)
        for x in xs:
            w = min(tile, width - x)
            piece = np.asarray(plane[y:y + h, x:x + w], np.float32)
            if (h, w) != (tile, tile):
                piece = pad_to_tile(piece, tile)
            result = fn(piece)
            band[:, :h, x:x + w] += result[:, :h, :w] * (wy[:h, None] * wx[None, :w])
            done += 1
            if progress is not None:
                progress(done, total)
        end = ys[i + 1] if i + 1 < len(ys) else height  # rows above ``end`` are complete
        rows = end - y
        out[:, y:end] = band[:, :rows] / (sum_y[y:end, None] * sum_x[None, :])
        band[:, :tile - rows] = band[:, rows:].copy()
        band[:, tile - rows:] = 0
    return out


def pad_to_tile(piece: np.ndarray, tile: int) -> np.ndarray:
    """An ``(h, w, C)`` piece padded at its end to ``(tile, tile, C)``.

    Along an axis where one mirror image of the piece fills the tile, the
    padding reflects it (the piece continues naturally). Where it would take
    several (a piece much smaller than the tile), the piece repeats instead:
    repeated reflections make a mirrored, kaleidoscope-like pattern that a
    network can take for a tiled mark, a plain repetition does not.
    """
    for axis in (0, 1):
        size = piece.shape[axis]
        if size == tile:
            continue
        widths = [(0, 0)] * piece.ndim
        widths[axis] = (0, tile - size)
        mode = "reflect" if tile - size <= size - 1 else "wrap"
        piece = np.pad(piece, widths, mode=mode)
    return piece


def downscale(plane: np.ndarray, factor: int) -> np.ndarray:
    """``(M, N, C)`` plane shrunk by an integer ``factor`` (mean of each block; float32).

    Rows and columns beyond the last whole block are left out.
    """
    h, w = plane.shape[0] // factor, plane.shape[1] // factor
    out = np.zeros((h, w, plane.shape[2]), np.float32)
    for dy in range(factor):
        for dx in range(factor):
            out += plane[dy:h * factor:factor, dx:w * factor:factor]
    out *= np.float32(1.0 / (factor * factor))
    return out


class Downscaled:
    """A plane shrunk by an integer factor, computed only where it is sliced.

    ``Downscaled(plane, f)[rows, cols]`` equals ``downscale(plane, f)[rows, cols]``
    (step-1 slices); :func:`tiled_map` reads it tile by tile, so the shrunk
    plane never exists as a whole.
    """

    def __init__(self, plane: np.ndarray, factor: int):
        self.plane = plane
        self.factor = int(factor)
        self.shape = (plane.shape[0] // self.factor, plane.shape[1] // self.factor) + plane.shape[2:]
        self.ndim = len(self.shape)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        f = self.factor
        (r0, r1, rstep), (c0, c1, cstep) = (k.indices(n) for k, n in zip(key, self.shape[:2],
                                                                          strict=True))
        if rstep != 1 or cstep != 1:
            raise IndexError("Downscaled supports step-1 slices of rows and columns only")
        return downscale(self.plane[r0 * f:max(r1, r0) * f, c0 * f:max(c1, c0) * f], f)


def max_upsampled(out: np.ndarray, small: np.ndarray, factor: int, *, rows: int = 256) -> None:
    """``out = max(out, small enlarged by factor)`` in place, a strip of rows at a time.

    The enlargement is bilinear with pixel centres aligned (torch's
    ``interpolate(mode='bilinear', align_corners=False)``, the same as
    OpenCV's ``INTER_LINEAR``); each strip is enlarged with one row of its
    neighbours so strips join seamlessly.

    Parameters
    ----------
    out : (K, M, N) float ndarray
        Full-size array, updated in place.
    small : (K, m, n) ndarray
        The same quantity at ``1 / factor`` of the size; pixels of ``out``
        beyond ``m * factor`` / ``n * factor`` take the nearest edge value.
    """
    import torch  # deferred: torch is heavy; loaded only when a network runs

    height, width = out.shape[1:]
    h, w = small.shape[1:]
    for top in range(0, h, rows):
        a, b = max(top - 1, 0), min(top + rows + 1, h)
        first, stop = top * factor, min(top + rows, h) * factor
        if top + rows >= h:
            stop = height  # the last strip also covers rows beyond the last whole block
        for k in range(out.shape[0]):
            strip = torch.from_numpy(np.ascontiguousarray(small[k, a:b], np.float32))
            big = torch.nn.functional.interpolate(strip[None, None], scale_factor=factor,
                                                  mode="bilinear", align_corners=False)
            big = big[0, 0].numpy()[(top - a) * factor:]
            big = np.pad(big, ((0, max(0, stop - first - big.shape[0])), (0, width - w * factor)),
                         mode="edge")[:stop - first, :width]
            target = out[k, first:stop]
            np.maximum(target, big, out=target, casting="unsafe")
