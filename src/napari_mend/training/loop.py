"""The one training loop of napari-mend, and the hooks a task gives it.

:class:`Trainer` owns what every training run does the same way: the
AdamW optimiser and its step, the learning-rate schedule (warm-up, then a
cosine over the budget), gradient clipping, the step and time budget,
logging of running losses, atomic checkpoints and resuming from them,
progress reports and cancellation (a :class:`~napari_mend.progress.Cancelled`
from the progress callback, or Ctrl-C, saves a checkpoint and stops).

A task supplies the rest as hooks (see :class:`TrainingTask`):

* data: ``batches(step)``, the stream of batches from training step ``step``
  on (a resumed run continues the same stream);
* loss: ``loss(model, batch)``, the loss tensor and a dict of its terms;
* metrics: ``validate(model)``, a dict of validation metrics;
* checkpoint: ``checkpoint_extra(step)``, plain values stored with the
  checkpoint and read back from :attr:`Trainer.extra` on resume.

The detector, the inpainter and the moire remover train from scratch through
:func:`train_and_export`, which adds the hooks ``build_model()``,
``begin(trainer)`` and ``card(trainer, metrics)``; fine-tuning
(:mod:`napari_mend.finetune`) drives a :class:`Trainer` itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from ..models.device import training_autocast
from ..progress import Cancelled, report
from .common import (
    Budget,
    JsonlLog,
    count_params,
    export_model,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    set_learning_rate,
)


@dataclass(frozen=True)
class LoopSettings:
    """How :class:`Trainer` trains.

    Attributes
    ----------
    lr : float
        Peak learning rate.
    max_steps : int
        Steps at which training stops.
    max_seconds : float, optional
        Training time (summed over resumes) at which it stops.
    weight_decay : float
        AdamW weight decay.
    warmup_steps : int
        Linear warm-up steps; then a cosine to zero over the budget.
    clip_grad_norm : float, optional
        Gradient norm clipped to this.
    log_every : int
        A ``'train'`` log record (mean loss and terms since the last one) every that many steps,
        and after step 1.
    checkpoint_every : int, optional
        A checkpoint every that many steps.
    checkpoint_seconds : float, optional
        A checkpoint when that many seconds have passed since the last.
    validate_every : int, optional
        A ``'val'`` log record of the task's ``validate`` every that many steps.
    freeze_batch_norm : bool
        Batch-norm layers stay in eval mode (fine-tuning: a few small batches would only add
        noise to their statistics).
    """

    lr: float
    max_steps: int
    max_seconds: float | None = None
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    clip_grad_norm: float | None = None
    log_every: int = 50
    checkpoint_every: int | None = None
    checkpoint_seconds: float | None = None
    validate_every: int | None = None
    freeze_batch_norm: bool = False


class TrainingTask(Protocol):
    """The hooks of a task (see the module docstring)."""

    def batches(self, step: int) -> Iterator:
        """Batches for steps ``step``, ``step + 1``, ... (on the training device)."""

    def loss(self, model, batch) -> tuple[torch.Tensor, dict]:
        """Loss of ``model`` on ``batch`` and its terms as floats (run under autocast)."""

    def validate(self, model) -> dict:
        """Validation metrics of ``model`` (plain values); the loop calls it when
        :attr:`LoopSettings.validate_every` is set, :func:`train_and_export` after training."""

    def checkpoint_extra(self, step: int) -> dict:
        """Plain values saved with the checkpoint of step ``step``."""


class Trainer:
    """The training loop: runs a task's hooks, owns optimiser, budget, logs and checkpoints.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` (channels-last: faster convolutions).
    settings : LoopSettings
    out_dir : path-like
        Folder of ``checkpoint.pt``.
    device : torch.device
    journal : JsonlLog
        Receives the ``'train'``, ``'val'``, ``'checkpoint'`` and ``'stopped'`` records.
    resume : bool
        Restore model, optimiser, step, training time and RNG from ``out_dir``'s checkpoint
        when there is one (read with ``weights_only=True``: never unpickled).

    Attributes
    ----------
    step : int
        Steps done (those before a resume included).
    resumed : bool
        Whether a checkpoint was restored.
    extra : dict
        The restored checkpoint's ``checkpoint_extra`` values (empty for a fresh run).
    history : list of (int, float)
        ``(step, mean loss)`` of every ``'train'`` record, resumes included.
    """

    def __init__(self, model, *, settings: LoopSettings, out_dir, device, journal: JsonlLog,
                 resume: bool = False):
        self.model = model.to(device, memory_format=torch.channels_last)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=settings.lr,
                                           weight_decay=settings.weight_decay)
        self.settings = settings
        self.out_dir = Path(out_dir)
        self.device = device
        self.journal = journal
        state = load_checkpoint(self.out_dir, model=self.model,
                                optimizer=self.optimizer) if resume else None
        self.resumed = state is not None
        self.step = state["step"] if state else 0
        self.extra = state["extra"] if state else {}
        self.history = [tuple(h) for h in self.extra.get("history", [])]
        self._elapsed_before = state["elapsed"] if state else 0.0
        self._budget = None

    def elapsed(self) -> float:
        """Training seconds so far, those before a resume included."""
        return self._budget.elapsed() if self._budget is not None else self._elapsed_before

    def fit(self, task: TrainingTask, *, progress=None) -> None:
        """Train until the budget is spent, then save a checkpoint.

        Parameters
        ----------
        task : TrainingTask
        progress : callable, optional
            ``progress(done, total)`` before every step (seconds of a timed budget, else
            steps) and once at the end; may raise :class:`~napari_mend.progress.Cancelled`.

        Raises
        ------
        Cancelled, KeyboardInterrupt
            The run was stopped; a checkpoint of the last finished step is saved and a
            ``'stopped'`` record logged first.
        """
        s = self.settings
        budget = self._budget = Budget(max_steps=s.max_steps, max_seconds=s.max_seconds,
                                       elapsed=self._elapsed_before)
        batches = iter(task.batches(self.step))
        autocast = training_autocast(self.device)
        self._train_mode()
        running, seen = {}, 0
        last_log = last_save = time.perf_counter()
        try:
            while not budget.done(self.step):
                report(progress, *budget.progress(self.step))
                set_learning_rate(self.optimizer, s.lr, step=self.step,
                                  fraction=budget.fraction(self.step),
                                  warmup_steps=s.warmup_steps)
                batch = next(batches)
                with autocast:
                    loss, terms = task.loss(self.model, batch)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if s.clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.clip_grad_norm)
                self.optimizer.step()
                self.step += 1
                for key, value in {"loss": float(loss.detach()), **terms}.items():
                    running[key] = running.get(key, 0.0) + value
                seen += 1
                if self.step % s.log_every == 0 or self.step == 1:
                    last_log = self._log_running(running, seen, since=last_log)
                    running, seen = {}, 0
                if s.validate_every and self.step % s.validate_every == 0:
                    self.journal("val", step=self.step, **task.validate(self.model))
                    self._train_mode()
                if self._checkpoint_due(last_save):
                    self.save(task)
                    last_save = time.perf_counter()
        except (Cancelled, KeyboardInterrupt):
            self.save(task)
            self.journal("stopped", step=self.step, checkpoint=str(self.out_dir))
            raise
        self.save(task)
        total = budget.progress(self.step)[1]
        report(progress, total, total)

    def save(self, task: TrainingTask) -> Path:
        """Checkpoint the run (model, optimiser, step, time, history, the task's extra values)."""
        extra = {"history": self.history, **task.checkpoint_extra(self.step)}
        path = save_checkpoint(self.out_dir, model=self.model, optimizer=self.optimizer,
                               step=self.step, elapsed=self.elapsed(), extra=extra)
        self.journal("checkpoint", step=self.step, elapsed=round(self.elapsed(), 1))
        return path

    def _checkpoint_due(self, last_save: float) -> bool:
        s = self.settings
        if s.checkpoint_every and self.step % s.checkpoint_every == 0:
            return True
        return bool(s.checkpoint_seconds) and time.perf_counter() - last_save > s.checkpoint_seconds

    def _log_running(self, running: dict, seen: int, *, since: float) -> float:
        now = time.perf_counter()
        means = {key: value / seen for key, value in running.items()}
        means["loss"] = round(means["loss"], 6)
        self.history.append((self.step, means["loss"]))
        self.journal("train", step=self.step, lr=self.optimizer.param_groups[0]["lr"],
                     elapsed=round(self.elapsed(), 2),
                     steps_per_s=round(seen / max(now - since, 1e-9), 3), **means)
        return now

    def _train_mode(self) -> None:
        self.model.train()
        if self.settings.freeze_batch_norm:
            for module in self.model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.eval()


@contextlib.contextmanager
def evaluating(model):
    """Eval mode and no autograd inside the block; every module's mode restored after it."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        for module, mode in modes:
            module.training = mode


class _IndexedSamples(torch.utils.data.Dataset):
    """Map-style dataset of ``sample(index)``."""

    def __init__(self, sample):
        self.sample = sample

    def __getitem__(self, index):
        return self.sample(index)


def _one_thread(_worker):
    torch.set_num_threads(1)  # a data worker process must not take every core


def sample_batches(sample, *, start: int, batch_size: int, device, workers: int = 0):
    """Endless batches of samples ``start``, ``start + 1``, ... on ``device``.

    Parameters
    ----------
    sample : callable
        ``sample(index)`` -> tuple of arrays (channels first); sample ``i`` depends only on
        ``i``, so batch ``k`` holds the same samples whatever the number of workers.
    start : int
        Index of the first sample.
    batch_size : int
    device : torch.device
    workers : int
        Data loader worker processes (0: in this process).

    Yields
    ------
    batch : tuple of tensors
    """
    loader = torch.utils.data.DataLoader(
        _IndexedSamples(sample), batch_size=int(batch_size),
        sampler=range(int(start), 2**62), num_workers=int(workers),
        worker_init_fn=_one_thread if workers else None, pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None, persistent_workers=False)
    for batch in loader:
        yield tuple(t.to(device, non_blocking=True) for t in batch)


def train_and_export(task, *, out_dir, resume: bool = False, log=print) -> Path:
    """Train a network from scratch with a task's hooks and export it with its model card.

    Besides the :class:`TrainingTask` hooks, ``task`` has ``config`` (with ``seed`` and
    ``name``), ``settings`` (:class:`LoopSettings`), ``device``, ``build_model()`` (the
    untrained network), ``begin(trainer)`` (reads a resumed run's
    :attr:`Trainer.extra`; returns fields of the ``'start'`` record) and
    ``card(trainer, metrics)`` (the model card, see
    :func:`~napari_mend.training.common.export_model`).

    Parameters
    ----------
    task : object
    out_dir : path-like
        Receives ``checkpoint.pt``, ``log.jsonl`` and the exported ``<name>.pt`` and
        ``<name>.json``.
    resume : bool
        Continue from ``out_dir/checkpoint.pt`` if there is one.
    log : callable, optional
        Receives a one-line summary of each log record.

    Returns
    -------
    card_path : Path
        The exported model card.
    """
    out_dir = Path(out_dir)
    seed_everything(int(task.config["seed"]))
    journal = JsonlLog(out_dir / "log.jsonl", echo=log)
    trainer = Trainer(task.build_model(), settings=task.settings, out_dir=out_dir,
                      device=task.device, journal=journal, resume=resume)
    fields = task.begin(trainer)
    journal("start", step=trainer.step, resumed=trainer.resumed, device=str(task.device),
            params=count_params(trainer.model), **fields)
    trainer.fit(task)
    metrics = task.validate(trainer.model)
    journal("val", step=trainer.step, **metrics)
    weights, card_path = export_model(out_dir, task.config["name"], module=trainer.model,
                                      card=task.card(trainer, metrics))
    journal("export", weights=str(weights), card=str(card_path), steps=trainer.step,
            wall_time_s=round(trainer.elapsed(), 1))
    return card_path
