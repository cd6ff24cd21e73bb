"""``finetune``: adapt a registered model to a curator's images within a time budget.

The run lives in ``<user model folder>/.finetune/<name>/`` (``checkpoint.pt``,
``log.jsonl``). The new model is written into the user model folder only when
training ends, weights first and card last, so a run that is cancelled or
killed leaves every installed model as it was; its checkpoint is kept and
``resume=True`` continues it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..models.device import default_device
from ..models.package import check_name
from ..models.registry import clear_cache, model_card, user_model_dir
from ..training.common import (
    CHECKPOINT,
    JsonlLog,
    environment,
    export_model,
    seed_everything,
)
from .data import prepare_images

DEFAULT_LR = {"detector": 1e-3, "inpainter": 1.5e-3}
"""Peak learning rate per model kind (the kinds fine-tuning supports)."""
WARMUP_STEPS = 5
CHECKPOINT_SECONDS = 30.0
CARD_KEEP = ("kind", "architecture", "config", "classes", "calibration", "inference", "input",
             "description", "auto", "thresholds")
"""Card entries a fine-tuned model inherits from its base model (how to run it)."""


@dataclass
class FinetuneResult:
    """What a finished fine-tuning run produced.

    Attributes
    ----------
    name : str
        The new model's name (listed by :func:`napari_mend.models.list_models`).
    card : dict
        Its model card; ``card['finetune']`` holds the run and its metrics.
    before, after : dict
        Held-out metrics of the base model and of the new one.
    history : list of (int, float)
        ``(step, loss)`` of every training step.
    """

    name: str
    card: dict
    before: dict
    after: dict
    history: list = field(default_factory=list)


def run_dir(name: str) -> Path:
    """Folder of the checkpoint and log of the fine-tuning run of model ``name``."""
    return user_model_dir() / ".finetune" / name


def has_checkpoint(name: str) -> bool:
    """Whether a stopped run of model ``name`` can be continued."""
    return (run_dir(name) / CHECKPOINT).is_file()


def _settings(kind, base, domain, *, crop, batch, lr, seed, holdout, minutes, eval_crops) -> dict:
    return {"kind": kind, "from_model": base["name"], "from_sha256": base["sha256"],
            "images": [d.name for d in domain], "channels": sorted({d.channels for d in domain}),
            "holdout": holdout, "crop": crop, "batch": batch, "lr": lr, "seed": seed,
            "minutes": minutes, "eval_crops": eval_crops}


def finetune(kind: str, images, *, from_model: str | None = None, name: str | None = None,
             minutes: float = 5.0, masks=None, holdout: float = 0.25, crop: int = 128,
             batch: int = 8, lr: float | None = None, seed: int = 0, min_images: int = 1,
             eval_crops: int = 24,
             max_steps: int | None = None, resume: bool = False, overwrite: bool = False,
             device=None, progress=None, on_event=None) -> FinetuneResult:
    """Fine-tune a detector or inpainter on a curator's images; save it as a new model.

    Defects (detector) or holes (inpainter) are synthesized on the images,
    away from regions already marked as defects; each image is split by
    region into a fine-tune part and a held-out part (see
    :func:`~napari_mend.finetune.data.prepare_images`); the model trains on
    the first for ``minutes`` and is measured on the second before and after.

    Parameters
    ----------
    kind : {'detector', 'inpainter'}
    images : path-like or sequence of path-like or ndarray
        A folder, image files or arrays (gray and colour may be mixed;
        stacks count plane by plane).
    from_model : str, optional
        Base model: a registered name or a model file path; default the
        shipped model of ``kind``.
    name : str, optional
        Name of the new model; default ``'<from_model>-finetuned'``.
    minutes : float, optional
        Training time budget (summed over a stop and its continuation).
    masks : sequence of ndarray or None, optional
        Per image, pixels already marked as defects (non-zero); avoided.
    holdout : float, optional
        Share of each image's longer side held out for evaluation.
    crop, batch : int, optional
        Crop side and crops per step.
    lr : float, optional
        Peak learning rate (cosine decay over the budget); default per kind.
    seed : int, optional
        Seed of the sample stream.
    min_images : int, optional
        Fewest usable images accepted.
    eval_crops : int, optional
        Held-out crops measured before and after (detector: damaged crops,
        plus a third as many clean ones; inpainter: spread over the mask
        families).
    max_steps : int, optional
        Stop after this many steps even if time is left.
    resume : bool, optional
        Continue the stopped run of ``name`` from its checkpoint.
    overwrite : bool, optional
        Replace an installed user model called ``name``.
    device : str, optional
        Torch device; default :func:`napari_mend.models.device.default_device`.
    progress : callable, optional
        ``progress(done_seconds, total_seconds)``; may raise
        :class:`napari_mend.progress.Cancelled`: the run stops, its
        checkpoint is saved and no model is written.
    on_event : callable, optional
        Receives each log record (a dict with ``'event'``: ``'start'``,
        ``'before'``, ``'train'`` (``step``, ``loss``, ``elapsed``),
        ``'checkpoint'``, ``'after'``, ``'saved'``).

    Returns
    -------
    result : FinetuneResult

    Raises
    ------
    NotEnoughImages
        Too few usable images; the message says how many and how large.
    ModelError
        Unknown, corrupt or incompatible base model.
    FileExistsError
        ``name`` is installed and ``overwrite`` is False, or a stopped run
        of ``name`` exists and neither ``resume`` nor ``overwrite`` is set.
    Cancelled
        ``progress`` cancelled the run (checkpoint kept).
    """
    if kind not in DEFAULT_LR:
        raise ValueError(f"kind must be one of {', '.join(DEFAULT_LR)}, got {kind!r}")
    if not minutes > 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    from_model = from_model or kind
    name = check_name(name or f"{Path(str(from_model)).stem}-finetuned")
    work = run_dir(name)
    if resume and not has_checkpoint(name):
        raise FileNotFoundError(f"no stopped fine-tuning run of {name!r} to continue")
    if not resume and has_checkpoint(name) and not overwrite:
        raise FileExistsError(f"a stopped fine-tuning run of {name!r} exists; continue it "
                              "(resume) or start over (overwrite)")
    if (user_model_dir() / f"{name}.json").exists() and not (overwrite or resume):
        raise FileExistsError(f"a model named {name!r} is installed; choose another name or "
                              "overwrite it")
    domain = prepare_images(images, masks=masks, holdout=holdout, crop=crop,
                            min_images=min_images)
    import torch  # deferred: heavy; a refused run costs no torch import

    from ..training.loop import LoopSettings, Trainer  # deferred: imports torch
    from .tasks import TASKS, load_base  # deferred: imports torch

    base, net = load_base(from_model, kind)
    lr = float(lr if lr is not None else DEFAULT_LR[kind])
    settings = _settings(kind, base, domain, crop=crop, batch=batch, lr=lr, seed=seed,
                         holdout=holdout, minutes=minutes, eval_crops=eval_crops)
    device = torch.device(device) if device is not None else default_device()
    seed_everything(seed)
    task = TASKS[kind](domain, crop=crop, seed=seed, batch=batch, device=device,
                       eval_crops=eval_crops)
    if not resume:
        shutil.rmtree(work, ignore_errors=True)
    journal = JsonlLog(work / "log.jsonl", on_record=on_event)
    loop = LoopSettings(lr=lr, max_steps=max_steps if max_steps is not None else 10**9,
                        max_seconds=60.0 * minutes, warmup_steps=WARMUP_STEPS, clip_grad_norm=1.0,
                        log_every=1, checkpoint_seconds=CHECKPOINT_SECONDS,
                        freeze_batch_norm=True)
    trainer = Trainer(net, settings=loop, out_dir=work, device=device, journal=journal,
                      resume=resume)
    if trainer.resumed:
        previous = trainer.extra["settings"]
        changed = [k for k in ("kind", "from_sha256", "images", "holdout", "crop", "batch", "seed",
                               "eval_crops")
                   if previous[k] != settings[k]]
        if changed:
            raise ValueError(f"cannot continue the run of {name!r}: {', '.join(changed)} "
                             "differ from the stopped run; start over instead")
        before = trainer.extra["before"]
    else:
        before = task.evaluate(net, thresholds=base.get("thresholds", {}))
        if kind == "detector":  # how much re-chosen thresholds alone would give
            before["recalibrated"] = task.evaluate(net, thresholds=task.calibrate(net))
    task.checkpoint_values = {"settings": settings, "before": before}
    journal("start", name=name, resumed=trainer.resumed, step=trainer.step, device=str(device),
            images=len(domain), settings=settings)
    journal("before", **before)
    trainer.fit(task, progress=progress)
    thresholds = task.calibrate(net)
    after = task.evaluate(net, thresholds=thresholds or base.get("thresholds", {}))
    journal("after", **after)
    card = {k: base[k] for k in CARD_KEEP if k in base}
    if thresholds:
        card["thresholds"] = thresholds
    card["base_model"] = {"name": base["name"], "sha256": base["sha256"]}
    card["finetune"] = {**settings, "steps": trainer.step, "wall_time_s": round(trainer.elapsed(), 1),
                        "device": str(device), "environment": environment(),
                        "metric": task.summary_key, "before": before, "after": after,
                        "data": "the curator's images (names above); defects synthesized by "
                                "napari_mend.synthesis, held-out part split by region; "
                                "'independent' metrics: held-out crops damaged by the "
                                "independent validation generator (reporting only)"}
    card["seed"] = seed
    staging = work / "export"
    weights, card_path = export_model(staging, name, module=net.cpu(), card=card)
    folder = user_model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    shutil.move(str(weights), folder / weights.name)  # weights first: the card names them
    shutil.move(str(card_path), folder / card_path.name)
    shutil.rmtree(staging, ignore_errors=True)
    (work / CHECKPOINT).unlink()  # finished: nothing left to continue; the log stays
    clear_cache()
    card = model_card(name)
    journal("saved", name=name, path=str(folder / f"{name}.pt"))
    return FinetuneResult(name=name, card=card, before=before, after=after,
                          history=[tuple(h) for h in trainer.history])
