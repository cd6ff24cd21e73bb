"""What fine-tuning does for each kind of model: samples, loss, held-out metrics.

A task draws training samples from the fine-tune part of a curator's images
(sample ``i`` depends only on ``(seed, i)``, so a resumed run continues the
same stream), computes the loss with the training code of its kind, and
measures the model on fixed cases drawn from the held-out part.

* ``detector``: synthetic defects (:func:`napari_mend.synthesis.synthesize_defects`)
  on fine-tune crops; a fifth of the crops stay clean. Metric: pixel F1 per
  class at the model's per-class thresholds, on damaged held-out crops, with
  false alarms on clean held-out crops counted as false positives; the
  summary is the mean F1 over the classes present. After training the
  thresholds are re-chosen on crops of the fine-tune part.
* ``inpainter``: holes from :func:`napari_mend.synthesis.inpainting_mask`
  (every family). Metric: PSNR (dB) inside the holes, network alone.
"""

from __future__ import annotations

import numpy as np

from ..classes import DEFECT_CLASSES
from ..training.common import sample_rng
from .data import augment, draw_crop

EVAL_SEED = 7_000_001
CALIBRATION_SEED = 7_000_002
P_CLEAN = 0.2
P_CLASS = 0.5


class DetectorTask:
    """Fine-tuning of a detector on the crops of a domain."""

    kind = "detector"
    summary_key = "f1_mean"

    def __init__(self, domain, *, crop: int, seed: int, eval_crops: int = 24):
        self.domain = domain
        self.crop = int(crop)
        self.seed = int(seed)
        self.eval_crops = int(eval_crops)
        self._cases = {}

    def sample(self, rng, part: str, *, clean: bool | None = None):
        """One ``(input (3, S, S) float32, target (6, S, S) uint8)`` pair."""
        from ..detection.learned import intensity_range, network_input
        from ..synthesis import synthesize_defects

        crop = augment(draw_crop(self.domain, part, self.crop, rng), rng)
        target = np.zeros((len(DEFECT_CLASSES),) + crop.shape[:2], np.uint8)
        if clean is None:
            clean = rng.random() < P_CLEAN
        if not clean:
            rgb = crop.shape[-1] == 3
            damage = synthesize_defects(crop if rgb else crop[..., 0], rng=rng,
                                        channel_axis=-1 if rgb else None, p=P_CLASS)
            crop = np.asarray(damage.image, np.float32).reshape(crop.shape)
            target = np.asarray(damage.masks, np.uint8)
        return network_input(crop, *intensity_range(crop)), target

    def batch(self, start: int, size: int, device):
        import torch

        pairs = [self.sample(sample_rng(self.seed, start + k), "finetune") for k in range(size)]
        x = torch.from_numpy(np.stack([p[0] for p in pairs])).to(device)
        y = torch.from_numpy(np.stack([p[1] for p in pairs])).to(device).float()
        return x, y

    def loss(self, net, batch):
        from ..training.detector import detector_loss

        x, y = batch
        return detector_loss(net(x).float(), y)

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

    @staticmethod
    def _probabilities(net, pairs, device):
        import torch

        modes = [(m, m.training) for m in net.modules()]
        net.eval()
        probs = []
        with torch.inference_mode():
            for start in range(0, len(pairs), 8):
                x = torch.from_numpy(np.stack([p[0] for p in pairs[start:start + 8]])).to(device)
                probs.append(torch.sigmoid(net(x).float()).cpu().numpy())
        for module, mode in modes:
            module.training = mode
        return np.concatenate(probs), np.stack([p[1] for p in pairs]).astype(bool)

    def calibrate(self, net, device) -> dict:
        """Per-class thresholds of best F1 on crops of the fine-tune part (never held-out ones)."""
        from ..training.detector import choose_thresholds, counts_at_thresholds

        damaged, clean = self.cases("finetune")
        prob, truth = self._probabilities(net, damaged, device)
        clean_prob, clean_truth = self._probabilities(net, clean, device)
        pixels = clean_prob.shape[0] * clean_prob.shape[2] * clean_prob.shape[3]
        thresholds, _ = choose_thresholds(counts_at_thresholds(prob, truth),
                                          counts_at_thresholds(clean_prob, clean_truth), pixels)
        return thresholds

    def evaluate(self, net, device, *, thresholds: dict) -> dict:
        """Held-out F1 per class at ``thresholds`` and their mean over the classes present."""
        damaged, clean = self.cases("heldout")
        prob, truth = self._probabilities(net, damaged, device)
        clean_prob, _ = self._probabilities(net, clean, device)
        per_class = {}
        for k, name in enumerate(DEFECT_CLASSES.values()):
            t = float(thresholds.get(name, 0.5))
            hit = prob[:, k] >= t
            tp = int((hit & truth[:, k]).sum())
            fp = int((hit & ~truth[:, k]).sum()) + int((clean_prob[:, k] >= t).sum())
            fn = int((~hit & truth[:, k]).sum())
            if tp + fn:
                per_class[name] = round(2 * tp / max(2 * tp + fp + fn, 1), 4)
        return {"f1_mean": round(float(np.mean(list(per_class.values()))), 4) if per_class else 0.0,
                "f1": per_class, "crops": len(damaged), "clean_crops": len(clean),
                "crop": self.crop}


class InpainterTask:
    """Fine-tuning of an inpainter on the crops of a domain."""

    kind = "inpainter"
    summary_key = "psnr_hole_mean"

    def __init__(self, domain, *, crop: int, seed: int, eval_crops: int = 24):
        from ..synthesis import MASK_FAMILIES

        self.domain = domain
        self.crop = int(crop)
        self.seed = int(seed)
        self.eval_per_family = max(1, int(eval_crops) // len(MASK_FAMILIES))
        self._cases = None

    def sample(self, rng, part: str, family: str | None = None):
        """One ``(clean RGB crop (S, S, 3), hole (S, S) bool)`` pair."""
        from ..synthesis import MASK_FAMILIES, inpainting_mask

        crop = augment(draw_crop(self.domain, part, self.crop, rng), rng)
        if crop.shape[-1] == 1:
            crop = np.repeat(crop, 3, axis=-1)
        family = family or MASK_FAMILIES[int(rng.integers(len(MASK_FAMILIES)))]
        return crop, np.asarray(inpainting_mask(crop.shape[:2], rng, family=family), bool)

    def batch(self, start: int, size: int, device):
        import torch

        pairs = [self.sample(sample_rng(self.seed, start + k), "finetune") for k in range(size)]
        target = torch.from_numpy(np.stack([p[0].transpose(2, 0, 1) for p in pairs])).to(device)
        mask = torch.from_numpy(np.stack([p[1][None] for p in pairs]).astype(np.float32)).to(device)
        return target, mask

    def loss(self, net, batch):
        import torch

        from ..training.inpainter import DEFAULTS, inpainting_loss

        target, mask = batch
        pred = net(torch.cat([target * (1 - mask), mask], dim=1))
        return inpainting_loss(pred.float(), target, mask, DEFAULTS["loss"])[0]

    def cases(self):
        """Fixed ``(family, crop, hole)`` cases of the held-out part, built once."""
        from ..synthesis import MASK_FAMILIES

        if self._cases is None:
            self._cases = []
            for f, family in enumerate(MASK_FAMILIES):
                for k in range(self.eval_per_family):
                    crop, hole = self.sample(sample_rng(EVAL_SEED + f, k), "heldout", family)
                    self._cases.append((family, crop, hole))
        return self._cases

    def calibrate(self, net, device) -> dict:
        """Inpainters have no thresholds to re-choose."""
        return {}

    def evaluate(self, net, device, *, thresholds: dict | None = None) -> dict:
        """Held-out PSNR (dB) inside the holes, per mask family and their mean."""
        from ..training.inpainter import validate

        metrics = {k: round(v, 3) for k, v in validate(net, self.cases(), device).items()}
        return {**metrics, "crops": len(self.cases()), "crop": self.crop}


TASKS = {"detector": DetectorTask, "inpainter": InpainterTask}
"""Model kind -> its fine-tuning task."""
