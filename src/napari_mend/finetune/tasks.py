"""What fine-tuning does for each kind of model: the training loop's hooks and held-out metrics.

A task draws training samples from the fine-tune part of a curator's images
(sample ``i`` depends only on ``(seed, i)``, so a resumed run continues the
same stream), computes the loss with the training code of its kind, and
measures the model on fixed cases drawn from the held-out part. It is run by
the one training loop (:class:`napari_mend.training.loop.Trainer`).

* ``detector``: synthetic defects (:func:`napari_mend.synthesis.synthesize_defects`)
  on fine-tune crops; a fifth of the crops stay clean. Metric: pixel F1 per
  class at the model's per-class thresholds, on damaged held-out crops, with
  false alarms on clean held-out crops counted as false positives; the
  summary is the mean F1 over the classes present. After training the
  thresholds are re-chosen on crops of the fine-tune part.
* ``inpainter``: holes from :func:`napari_mend.synthesis.inpainting_mask`
  (every family). Metric: PSNR (dB) inside the holes, network alone.

Both also report their metric on held-out crops damaged by the independent
validation generator (:mod:`napari_mend.evaluation.independent`, written
apart from the synthesiser the models train on; its holes are the pixels its
defects change), under ``'independent'``: reporting only, nothing is chosen
from it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..classes import N_SCORED, SCORED_CLASSES
from ..detection.learned import intensity_range, network_input
from ..evaluation.cross import independent_damage
from ..models.package import model_files
from ..models.registry import build_module, get_model
from ..synthesis import MASK_FAMILIES, inpainting_mask, synthesize_defects
from ..training.common import sample_rng
from ..training.detector import calibrate, detector_step_loss, score_samples
from ..training.inpainter import DEFAULTS as INPAINTER_DEFAULTS
from ..training.inpainter import inpainter_step_loss, validate
from ..training.loop import sample_batches
from .data import augment, draw_crop

EVAL_SEED = 7_000_001
CALIBRATION_SEED = 7_000_002
INDEPENDENT_SEED = 7_000_003
"""Seed of the held-out crops the independent generator damages (reporting only)."""
HOLE_CLASSES = (1, 2, 3, 4, 5)
"""Defect classes whose pixels are the inpainter's independent holes (moire is no hole)."""
P_CLEAN = 0.2
P_CLASS = 0.5


def load_base(from_model: str, kind: str):
    """Card and untouched weights of the base model (checked by the registry)."""
    card = get_model(from_model, device="cpu").card  # sha256, architecture, loadability
    if card["kind"] != kind:
        raise ValueError(f"model {from_model!r} is a {card['kind']}, not a {kind}")
    net = build_module(card)
    net.load_state_dict(torch.load(model_files(from_model)[1], map_location="cpu",
                                   weights_only=True))
    return card, net


class _DomainTask:
    """What both tasks share: the crops of a domain and the batch stream of the fine-tune part.

    A subclass gives ``training_pair(index)``: training sample ``index`` as network arrays.
    ``checkpoint_values`` (plain values) are saved with every checkpoint of the run.
    """

    def __init__(self, domain, *, crop: int, seed: int, batch: int, device):
        self.domain = domain
        self.crop = int(crop)
        self.seed = int(seed)
        self.batch = int(batch)
        self.device = device
        self.checkpoint_values: dict = {}

    def draw(self, rng, part: str) -> np.ndarray:
        """An augmented crop ``(S, S, C)`` of one part."""
        return augment(draw_crop(self.domain, part, self.crop, rng), rng)

    def batches(self, step: int):
        return sample_batches(self.training_pair, start=step * self.batch,
                              batch_size=self.batch, device=self.device)

    def checkpoint_extra(self, step: int) -> dict:
        return self.checkpoint_values


class DetectorTask(_DomainTask):
    """Fine-tuning of a detector on the crops of a domain."""

    kind = "detector"
    summary_key = "f1_mean"

    def __init__(self, domain, *, crop: int, seed: int, batch: int, device, eval_crops: int = 24):
        super().__init__(domain, crop=crop, seed=seed, batch=batch, device=device)
        self.eval_crops = int(eval_crops)
        self._cases = {}
        self._independent = None

    def sample(self, rng, part: str, *, clean: bool | None = None):
        """One ``(input (3, S, S) float32, target (6, S, S) uint8)`` pair."""
        crop = self.draw(rng, part)
        target = np.zeros((N_SCORED,) + crop.shape[:2], np.uint8)
        if clean is None:
            clean = rng.random() < P_CLEAN
        if not clean:
            rgb = crop.shape[-1] == 3
            damage = synthesize_defects(crop if rgb else crop[..., 0], rng=rng,
                                        channel_axis=-1 if rgb else None, p=P_CLASS)
            crop = np.asarray(damage.image, np.float32).reshape(crop.shape)
            target = np.asarray(damage.masks, np.uint8)
        return network_input(crop, *intensity_range(crop)), target

    def training_pair(self, index: int):
        return self.sample(sample_rng(self.seed, index), "finetune")

    def loss(self, model, batch):
        return detector_step_loss(model, batch)

    def cases(self, part: str):
        """Fixed (damaged, clean) crop sets of one part, built once."""
        if part not in self._cases:
            seed = EVAL_SEED if part == "heldout" else CALIBRATION_SEED
            n_clean = max(1, self.eval_crops // 3)
            damaged = [self.sample(sample_rng(seed, k), part, clean=False)
                       for k in range(self.eval_crops)]
            clean = [self.sample(sample_rng(seed + 1, k), part, clean=True) for k in range(n_clean)]
            self._cases[part] = (damaged, clean)
        return self._cases[part]

    def independent_cases(self) -> list:
        """Fixed held-out crops damaged by the independent generator, one class after the other,
        as ``(input, target)`` pairs like :meth:`sample`'s; built once."""
        if self._independent is None:
            self._independent = []
            for k in range(self.eval_crops):
                cls = 1 + k % N_SCORED
                crop = self.draw(sample_rng(INDEPENDENT_SEED, k), "heldout")
                plane = crop if crop.shape[-1] == 3 else crop[..., 0]
                damaged, labels = independent_damage(plane, cls, seed=INDEPENDENT_SEED, index=k)
                damaged = np.asarray(damaged, np.float32).reshape(crop.shape)
                target = (labels[None] == np.arange(1, N_SCORED + 1)[:, None, None])
                self._independent.append((network_input(damaged, *intensity_range(damaged)),
                                          target.astype(np.uint8)))
        return self._independent

    def calibrate(self, net) -> dict:
        """Per-class thresholds of best F1 on crops of the fine-tune part (never held-out ones)."""
        return calibrate(net, *self.cases("finetune"), self.device)[0]

    def evaluate(self, net, *, thresholds: dict) -> dict:
        """Held-out F1 per class at ``thresholds`` and their mean over the classes present, on
        the synthesised defects and (``'independent'``) on the independent generator's."""
        damaged, clean = self.cases("heldout")
        clean_prob, _ = score_samples(net, clean, self.device)
        own = _f1(*score_samples(net, damaged, self.device), clean_prob, thresholds)
        theirs = _f1(*score_samples(net, self.independent_cases(), self.device), clean_prob,
                     thresholds)
        return {**own, "crops": len(damaged), "clean_crops": len(clean), "crop": self.crop,
                "independent": {**theirs, "crops": len(self.independent_cases())}}


def _f1(prob, truth, clean_prob, thresholds: dict) -> dict:
    """Pixel F1 per class at ``thresholds`` (false alarms on the clean crops count as false
    positives) and their mean over the classes present."""
    per_class = {}
    for k, name in enumerate(SCORED_CLASSES.values()):
        t = float(thresholds.get(name, 0.5))
        hit = prob[:, k] >= t
        tp = int((hit & truth[:, k]).sum())
        fp = int((hit & ~truth[:, k]).sum()) + int((clean_prob[:, k] >= t).sum())
        fn = int((~hit & truth[:, k]).sum())
        if tp + fn:
            per_class[name] = round(2 * tp / max(2 * tp + fp + fn, 1), 4)
    return {"f1_mean": round(float(np.mean(list(per_class.values()))), 4) if per_class else 0.0,
            "f1": per_class}


class InpainterTask(_DomainTask):
    """Fine-tuning of an inpainter on the crops of a domain."""

    kind = "inpainter"
    summary_key = "psnr_hole_mean"

    def __init__(self, domain, *, crop: int, seed: int, batch: int, device, eval_crops: int = 24):
        super().__init__(domain, crop=crop, seed=seed, batch=batch, device=device)
        self.eval_per_family = max(1, int(eval_crops) // len(MASK_FAMILIES))
        self._cases = None
        self._independent = None

    def sample(self, rng, part: str, family: str | None = None):
        """One ``(clean RGB crop (S, S, 3), hole (S, S) bool)`` pair."""
        crop = self.draw(rng, part)
        if crop.shape[-1] == 1:
            crop = np.repeat(crop, 3, axis=-1)
        family = family or MASK_FAMILIES[int(rng.integers(len(MASK_FAMILIES)))]
        return crop, np.asarray(inpainting_mask(crop.shape[:2], rng, family=family), bool)

    def training_pair(self, index: int):
        crop, hole = self.sample(sample_rng(self.seed, index), "finetune")
        return np.ascontiguousarray(crop.transpose(2, 0, 1)), hole[None].astype(np.float32)

    def loss(self, model, batch):
        return inpainter_step_loss(model, batch, INPAINTER_DEFAULTS["loss"])

    def cases(self):
        """Fixed ``(family, crop, hole)`` cases of the held-out part, built once."""
        if self._cases is None:
            self._cases = []
            for f, family in enumerate(MASK_FAMILIES):
                for k in range(self.eval_per_family):
                    crop, hole = self.sample(sample_rng(EVAL_SEED + f, k), "heldout", family)
                    self._cases.append((family, crop, hole))
        return self._cases

    def independent_cases(self) -> list:
        """Fixed ``(class name, crop, hole)`` cases of the held-out part whose holes are the
        pixels the independent generator's defects change; built once."""
        if self._independent is None:
            self._independent = []
            for cls in HOLE_CLASSES:
                for k in range(self.eval_per_family):
                    index = cls * 1000 + k
                    crop = self.draw(sample_rng(INDEPENDENT_SEED, index), "heldout")
                    if crop.shape[-1] == 1:
                        crop = np.repeat(crop, 3, axis=-1)
                    _, labels = independent_damage(crop, cls, seed=INDEPENDENT_SEED, index=index)
                    if labels.any():
                        self._independent.append((SCORED_CLASSES[cls], crop, labels > 0))
        return self._independent

    def calibrate(self, net) -> dict:
        """Inpainters have no thresholds to re-choose."""
        return {}

    def evaluate(self, net, *, thresholds: dict | None = None) -> dict:
        """Held-out PSNR (dB) inside the holes, per mask family and their mean, and
        (``'independent'``) inside the independent generator's holes per defect class."""
        metrics = {k: round(v, 3) for k, v in validate(net, self.cases(), self.device).items()}
        theirs = {k: round(v, 3)
                  for k, v in validate(net, self.independent_cases(), self.device).items()}
        return {**metrics, "crops": len(self.cases()), "crop": self.crop,
                "independent": {**theirs, "crops": len(self.independent_cases())}}


TASKS = {"detector": DetectorTask, "inpainter": InpainterTask}
"""Model kind -> its fine-tuning task."""
