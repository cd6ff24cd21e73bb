"""Choice of the torch device for inference and training."""

from __future__ import annotations

import os


def default_device():
    """Return the best available torch device: CUDA, then MPS, then CPU.

    The environment variable ``NAPARI_MEND_DEVICE`` (e.g. ``cpu``) overrides
    the choice.
    """
    import torch

    forced = os.environ.get("NAPARI_MEND_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
