"""Pieces of the training loop that need no torch at import: seeding, logs, budget, checkpoints.

Nothing here knows about a particular network; :mod:`napari_mend.training.loop`
puts the pieces together into the one training loop. Checkpoints are written
atomically (temporary file, then rename), so a run killed at any moment can
be resumed from the last complete checkpoint. This module imports torch only
inside its functions: fine-tuning's checks and checkpoint listing use it
without paying for torch.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from pathlib import Path

import numpy as np

from ..models.registry import sha256_of

CHECKPOINT = "checkpoint.pt"


def load_config(path) -> dict:
    """Read a JSON training config."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch; return a NumPy generator for the caller.

    Parameters
    ----------
    seed : int
        The run's seed.

    Returns
    -------
    rng : numpy.random.Generator
        Seeded with ``seed``.
    """
    import torch  # deferred: heavy; this module is imported without torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """Generator for sample ``index`` of a run, independent of worker count and resumes."""
    return np.random.default_rng([int(seed), int(index)])


class JsonlLog:
    """Append-only log of JSON records, one per line.

    Parameters
    ----------
    path : path-like
        Log file; parent folders are created; an existing log is appended to
        (a resumed run continues its log).
    echo : callable, optional
        Called with a one-line summary of every record (e.g. ``print``).
    on_record : callable, optional
        Called with every record (a dict with ``'event'``, ``'time'`` and the fields).
    """

    def __init__(self, path, *, echo=None, on_record=None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.echo = echo
        self.on_record = on_record

    def __call__(self, event: str, **fields) -> dict:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=_jsonable) + "\n")
        if self.echo is not None:
            shown = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
            self.echo(f"[{event}] {shown}")
        if self.on_record is not None:
            self.on_record(record)
        return record


def read_log(path) -> list[dict]:
    """Records of a :class:`JsonlLog` file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"[{len(value)} values]"
    return value


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to a JSON log")


class Budget:
    """When to stop: after ``max_steps`` steps or ``max_seconds`` of training time.

    Parameters
    ----------
    max_steps : int
        Step count at which training stops.
    max_seconds : float, optional
        Wall-clock training time (summed over resumes) at which it stops.
    elapsed : float
        Training time already spent (from a checkpoint).
    """

    def __init__(self, *, max_steps: int, max_seconds: float | None = None, elapsed: float = 0.0):
        self.max_steps = int(max_steps)
        self.max_seconds = max_seconds
        self._before = float(elapsed)
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        """Training seconds so far, including those before a resume."""
        return self._before + time.perf_counter() - self._start

    def fraction(self, step: int) -> float:
        """How far training has come, 0 to 1: the larger of the step and time shares."""
        by_time = self.elapsed() / self.max_seconds if self.max_seconds else 0.0
        return min(1.0, max(step / self.max_steps, by_time))

    def progress(self, step: int) -> tuple[int, int]:
        """``(done, total)`` for a progress callback: seconds of a timed budget, else steps."""
        if self.max_seconds:
            total = int(round(self.max_seconds))
            return min(int(self.elapsed()), total), total
        return min(step, self.max_steps), self.max_steps

    def done(self, step: int) -> bool:
        """Whether training should stop before running ``step``."""
        if step >= self.max_steps:
            return True
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds


def set_learning_rate(optimizer, base_lr: float, *, step: int, fraction: float,
                      warmup_steps: int = 0) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay over ``fraction`` (0 to 1).

    Sets every parameter group's learning rate and returns it.
    """
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    lr = base_lr * warm * 0.5 * (1.0 + math.cos(math.pi * min(1.0, fraction)))
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def save_checkpoint(out_dir, *, model, optimizer=None, scheduler=None, step: int,
                    elapsed: float, extra: dict | None = None) -> Path:
    """Write ``out_dir/checkpoint.pt`` atomically and return its path.

    The checkpoint holds tensors and plain values only (``extra`` is stored
    in its JSON form: tuples become lists), so :func:`load_checkpoint` reads
    it with ``torch.load(weights_only=True)``, which runs no code from the file.
    """
    import torch  # deferred: heavy; this module is imported without torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "step": int(step),
        "elapsed": float(elapsed),
        "torch_rng": torch.get_rng_state(),
        "extra": json.loads(json.dumps(extra or {}, default=_jsonable)),
    }
    path = out_dir / CHECKPOINT
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(out_dir, *, model, optimizer=None, scheduler=None) -> dict | None:
    """Restore ``model`` (and optimizer, scheduler) from ``out_dir/checkpoint.pt``.

    The file is read with ``torch.load(weights_only=True)``: tensors and
    plain values only, never code.

    Returns
    -------
    state : dict or None
        ``{'step', 'elapsed', 'extra'}`` of the checkpoint, or ``None`` when
        there is none (a fresh run).

    Raises
    ------
    ValueError
        The checkpoint holds anything but tensors and plain values (it was
        not written by :func:`save_checkpoint`), or is damaged.
    """
    import torch  # deferred: heavy; this module is imported without torch

    path = Path(out_dir) / CHECKPOINT
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for bad files; messages may quote them
        raise ValueError(f"checkpoint {path} cannot be loaded as plain tensors "
                         f"({type(err).__name__}); it was not written by napari-mend or is "
                         "damaged: delete it to start over") from None
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return {"step": state["step"], "elapsed": state["elapsed"], "extra": state["extra"]}


def count_params(module) -> int:
    """Number of parameters of a torch module."""
    return int(sum(p.numel() for p in module.parameters()))


def device_name(device) -> str:
    """The GPU's name for a CUDA device, else the device type (``'cpu'``, ``'mps'``)."""
    import torch  # deferred: heavy; this module is imported without torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def environment() -> dict:
    """Versions and host facts recorded in model cards."""
    import torch  # deferred: heavy; this module is imported without torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def export_model(out_dir, name: str, *, module, card: dict) -> tuple[Path, Path]:
    """Write ``<name>.pt`` (CPU float32 state_dict) and ``<name>.json`` (model card).

    The card gets ``name``, ``params``, ``weights_bytes`` and ``sha256`` filled
    in; it must already hold ``kind``, ``architecture`` and ``config`` (see
    :mod:`napari_mend.models.registry`).

    Returns
    -------
    paths : (Path, Path)
        The weight file and the card.
    """
    import torch  # deferred: heavy; this module is imported without torch

    for key in ("kind", "architecture", "config"):
        if key not in card:
            raise ValueError(f"model card lacks {key!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.pt"
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
             for k, v in module.state_dict().items()}
    torch.save(state, weights)
    card = {"name": name, **{k: v for k, v in card.items() if k != "name"},
            "params": count_params(module), "weights_bytes": weights.stat().st_size,
            "sha256": sha256_of(weights)}
    card_path = out_dir / f"{name}.json"
    card_path.write_text(json.dumps(card, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    return weights, card_path
