"""Choice of the torch device for inference and training."""

from __future__ import annotations

import functools
import os


def default_device():
    """Return the best available torch device: CUDA, then MPS, then CPU.

    The environment variable ``NAPARI_MEND_DEVICE`` (e.g. ``cpu``) overrides
    the choice.
    """
    import torch  # deferred: torch is heavy; loaded only when a network runs

    forced = os.environ.get("NAPARI_MEND_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


PRECISIONS = ("auto", "float32", "bfloat16")
"""Values of ``NAPARI_MEND_PRECISION``, the arithmetic of the networks' inference."""


@functools.cache  # asked before every network call; the CPU does not change
def _cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX-512 BF16 or AMX); Linux only."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def native_bfloat16(device) -> bool:
    """Whether ``device`` computes bfloat16 natively (a CUDA GPU that supports it, a CPU with
    AVX-512 BF16 or AMX)."""
    import torch  # deferred: torch is heavy; loaded only when a network runs

    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return device.type == "cpu" and _cpu_has_native_bfloat16()


def _bfloat16_autocast(device, enabled: bool):
    import torch  # deferred: torch is heavy; loaded only when a network runs

    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16,
                          enabled=enabled)


def training_autocast(device):
    """A context in which training's forward passes run in bfloat16 where ``device`` computes
    it natively, else in float32. With channels-last networks a training step on 128 to 256 px
    crops takes 0.4 to 0.6 of the float32 time on such CPUs."""
    return _bfloat16_autocast(device, native_bfloat16(device))


def inference_precision(device, card=None) -> str:
    """Arithmetic of a network's inference on ``device``: ``'bfloat16'`` or ``'float32'``.

    bfloat16 (via ``torch.autocast``; the inpainter's FFTs stay in float32)
    where the device computes it natively: CUDA GPUs that support it, and
    CPUs with AVX-512 BF16 or AMX, on which the networks run up to twice as
    fast. Elsewhere float32, which bfloat16 would only slow down. A model
    card's ``inference.precision`` (``'auto'``, ``'float32'`` or
    ``'bfloat16'``) overrides the choice for its model, and the environment
    variable ``NAPARI_MEND_PRECISION`` overrides both, e.g. ``float32`` to
    reproduce a result on a machine without bfloat16.

    Raises
    ------
    ValueError
        If ``NAPARI_MEND_PRECISION`` or the card's precision holds another value.
    """
    forced = os.environ.get("NAPARI_MEND_PRECISION", "").strip().lower()
    if forced and forced not in PRECISIONS:
        raise ValueError(f"NAPARI_MEND_PRECISION must be one of {', '.join(PRECISIONS)}, "
                         f"not {forced!r}; set it to float32 for full precision")
    precision = forced if forced and forced != "auto" else None
    if precision is None and card is not None:
        precision = card.get("inference", {}).get("precision", "auto")
        if precision not in PRECISIONS:
            raise ValueError(f"model {card.get('name')!r}: precision must be one of "
                             f"{', '.join(PRECISIONS)}, not {precision!r}; fix 'precision' in "
                             "the model card's 'inference' settings")
    if precision in ("float32", "bfloat16"):
        return precision
    return "bfloat16" if native_bfloat16(device) else "float32"


def inference_autocast(loaded):
    """A context in which a loaded model's calls run in its :func:`inference_precision`."""
    precision = inference_precision(loaded.device, loaded.card)
    return _bfloat16_autocast(loaded.device, precision == "bfloat16")
