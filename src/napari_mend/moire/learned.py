"""Learned moire removal: the shipped ``demoire`` network, tiled over a plane."""

from __future__ import annotations

import numpy as np

from ..models.device import inference_autocast
from ..models.networks import get_network as get_model
from ..tiling import tiled_map

DEFAULT_MODEL = "demoire"
TILE = 512
OVERLAP = 32


def learned_filter(plane: np.ndarray, *, model: str = DEFAULT_MODEL, progress=None) -> np.ndarray:
    """Remove moire from one plane ``(M, N, C)`` (C = 1 or 3, any value range) with the network.

    The plane is mapped to about ``[0, 1]`` by its 0.1 and 99.9 percentiles,
    gray planes are given to the network as three equal channels (and the
    channels of its output averaged), and the result is mapped back.

    Returns
    -------
    filtered : (M, N, C) float32 ndarray
        A new array.
    """
    import torch  # deferred: torch is heavy; loaded only when a network runs


    net = get_model(model)
    lo, hi = np.percentile(plane, (0.1, 99.9))
    scale = float(hi - lo) if hi > lo else 1.0
    unit = (plane - lo) / scale
    rgb = np.repeat(unit, 3, axis=-1) if unit.shape[-1] == 1 else unit

    def run(tile: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(tile.transpose(2, 0, 1)[None], np.float32))
        with torch.inference_mode(), inference_autocast(net):
            x = x.to(net.device).contiguous(memory_format=torch.channels_last)
            return net.module(x)[0].float().cpu().numpy()

    out = tiled_map(rgb, run, out_channels=3, tile=TILE, overlap=OVERLAP,
                    multiple=net.module.multiple, progress=progress).transpose(1, 2, 0)
    if plane.shape[-1] == 1:
        out = out.mean(axis=-1, keepdims=True)
    return (out * scale + lo).astype(np.float32)
