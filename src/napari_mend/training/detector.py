"""Training of the defect detector (:class:`~napari_mend.models.detector_net.DetectorUNet`).

Every sample is a random crop of a training corpus image
(:func:`napari_mend.synthesis.corpus_images`, ``'train'`` split) or of a
procedural image, photometrically augmented, then damaged by
:func:`napari_mend.synthesis.synthesize_defects`; a share of the crops stays
clean so the network learns not to fire on intact structure. Sample ``i`` is
drawn from a generator seeded with ``(seed, i)``, so the data stream does not
depend on the number of loader workers or on resumes.

Loss: binary cross-entropy plus a soft Dice loss averaged over the classes
(each class weighs the same, however rare its pixels).

At the end the network scores a fixed set of validation crops (``'val'``
split, never trained on) and clean validation crops; per-class thresholds
are chosen there (best F1, clean-crop false alarms counted as false positives),
stored in the model card and used by the calibrated inference of
:func:`napari_mend.detection.learned.learned_scores`.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import torch
from skimage.transform import resize
from torch.nn import functional as F

from ..classes import N_SCORED, SCORED_CLASSES
from ..detection.learned import intensity_range, network_input
from ..evaluation.cross import prf_iou
from ..models.detector_net import DetectorUNet
from ..models.device import default_device
from ..models.networks import get_network, network_card
from ..synthesis import corpus_images, degrade, procedural_image, synthesize_defects
from ..synthesis.procedural import BASIC_KINDS, check_kinds
from .common import device_name, environment, sample_rng
from .loop import LoopSettings, evaluating, sample_batches, train_and_export

N_CLASSES = N_SCORED
HARD_NEGATIVE_MARGIN = 3  # px round a defect that the hard-negative term leaves out
THRESHOLD_GRID = np.round(np.concatenate([[0.01, 0.02, 0.03, 0.04], np.arange(0.05, 0.96, 0.025),
                                          [0.97, 0.98, 0.99]]), 3)

DEFAULTS = {
    "name": "detector",
    "seed": 0,
    "model": {},
    "crop": 256,
    "batch_size": 16,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "warmup_steps": 100,
    "max_steps": 1000,
    "max_seconds": None,
    "dice_weight": 1.0,
    "reuse": 1,
    "p_procedural": 0.3,
    # kinds of procedural_image: BASIC_KINDS, and CONTENT_KINDS for clean content that looks
    # like defects (wires and rims, cell networks, fur, star fields, woven textures)
    "procedural_kinds": list(BASIC_KINDS),
    "p_clean": 0.2,
    "p_class": 0.5,
    "p_gray": 0.3,
    # share of the crops (damaged or clean) passed through synthesis.degrade after the damage:
    # blur, resampling, noise and JPEG as a camera or scanner and its storage add them, so the
    # network cannot tell defects by a sharpness or cleanliness the background lacks
    "p_degrade": 0.0,
    "workers": 0,
    "log_every": 50,
    "checkpoint_every": 500,
    "val_crops": 64,
    "val_clean_crops": 32,
    "val_seed": 1000003,
    "clean_fp_weight": 1.0,
    # extra loss on the hardest negative pixels of each batch (online hard-example mining):
    # weight of the term and share of the negative pixels it averages over
    "hard_negative_weight": 0.0,
    "hard_negative_share": 0.01,
    "init_model": None,  # start from this installed detector's weights (same "model" config)
    # learning without forgetting: for these classes the targets are this frozen detector's
    # probabilities on the same crops instead of the labels, so a fine-tune keeps what it knew
    "keep_model": None,
    "keep_classes": [],
    # blotches and text are also scored at half size on whole images, blotches at a quarter,
    # moire is checked against the spectrum (see detection.learned)
    "inference": {"tile": 256, "overlap": 32,
                  "coarse_passes": [[2, ["blotch", "text"]], [4, ["blotch"]]],
                  "coarse_min_side": 256, "moire_check": "spectral"},
}


def full_config(config: dict) -> dict:
    """``config`` completed with :data:`DEFAULTS` (unknown keys are an error)."""
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown detector config keys: {', '.join(sorted(unknown))}")
    config = {**DEFAULTS, **config}
    try:
        check_kinds(config["procedural_kinds"])
    except ValueError as error:
        raise ValueError(f"procedural_kinds: {error}") from None
    unknown = set(config["keep_classes"]) - set(SCORED_CLASSES.values())
    if unknown:
        raise ValueError(f"keep_classes: unknown classes {sorted(unknown)}; "
                         f"choose from {list(SCORED_CLASSES.values())}")
    if bool(config["keep_classes"]) != bool(config["keep_model"]):
        raise ValueError("keep_classes and keep_model go together: name the detector whose "
                         "scores to keep and the classes to keep them for")
    return config


# --------------------------------------------------------------------- data

def _random_crop(image: np.ndarray, size: int, rng) -> np.ndarray:
    """A size x size crop at a random scale (reflect-padded when the image is small)."""
    scale = float(np.exp(rng.uniform(np.log(0.5), np.log(1.5))))
    span = max(2, int(round(size / scale)))
    h, w = image.shape[:2]
    if h < span or w < span:
        pad = ((0, max(0, span - h)), (0, max(0, span - w))) + ((0, 0),) * (image.ndim - 2)
        image = np.pad(image, pad, mode="reflect")
        h, w = image.shape[:2]
    y = int(rng.integers(0, h - span + 1))
    x = int(rng.integers(0, w - span + 1))
    crop = image[y:y + span, x:x + span]
    if span != size:
        crop = resize(crop, (size, size) + crop.shape[2:], order=1, anti_aliasing=span > size)
    return np.asarray(crop, np.float32)


def _photometric(crop: np.ndarray, rng) -> np.ndarray:
    """Random flips, rotation, gamma and contrast of a [0, 1] crop."""
    crop = np.rot90(crop, int(rng.integers(4)))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = np.clip(crop, 0.0, 1.0) ** np.float32(np.exp(rng.normal(0.0, 0.3)))
    low = rng.uniform(0.0, 0.2)
    high = rng.uniform(0.8, 1.0)
    return np.ascontiguousarray(low + (high - low) * crop, np.float32)


class DetectorSamples:
    """Map-style dataset of (input, target) pairs; sample ``i`` is reproducible.

    Parameters
    ----------
    images : list of ndarray
        Corpus images, float in [0, 1], (H, W) or (H, W, 3).
    config : dict
        Full detector config.
    seed : int
        Seed of the sample stream.
    clean : bool
        Every sample without defects (validation of false alarms).
    length : int, optional
        Number of samples (default: practically endless, for a training
        stream indexed by a sampler).
    """

    def __init__(self, images, config, seed, *, clean=False, length=None):
        self.images = images
        areas = np.array([im.shape[0] * im.shape[1] for im in images], np.float64)
        self.weights = areas / areas.sum() if len(images) else areas
        self.config = config
        self.seed = int(seed)
        self.clean = clean
        self.length = length if length is not None else 2**62

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        cfg = self.config
        rng = sample_rng(self.seed, index)
        size = int(cfg["crop"])
        gray = rng.random() < cfg["p_gray"]
        if not len(self.images) or rng.random() < cfg["p_procedural"]:
            crop = procedural_image(rng, (size, size), channels=1 if gray else 3, kinds=cfg["procedural_kinds"])
        else:
            image = self.images[int(rng.choice(len(self.images), p=self.weights))]
            crop = _random_crop(image, size, rng)
            if crop.ndim == 3 and gray:
                crop = crop @ np.array([0.2125, 0.7154, 0.0721], np.float32)
        crop = _photometric(np.asarray(crop, np.float32), rng)
        if crop.ndim == 2:
            crop = crop[..., None]
        target = np.zeros((N_CLASSES, size, size), np.uint8)
        if not self.clean and rng.random() >= cfg["p_clean"]:
            rgb = crop.shape[-1] == 3
            damage = synthesize_defects(crop if rgb else crop[..., 0], rng=rng,
                                        channel_axis=-1 if rgb else None, p=cfg["p_class"])
            crop = np.asarray(damage.image, np.float32).reshape(crop.shape)
            target = np.asarray(damage.masks, np.uint8)
        if cfg["p_degrade"] and rng.random() < cfg["p_degrade"]:
            rgb = crop.shape[-1] == 3
            degraded = degrade(crop if rgb else crop[..., 0], rng, channel_axis=-1 if rgb else None)
            crop = np.asarray(degraded, np.float32).reshape(crop.shape)
        low, high = intensity_range(crop)
        jitter = (high - low) * 0.05
        low += rng.uniform(-jitter, jitter)
        high += rng.uniform(-jitter, jitter)
        return network_input(crop, low, high), target


def _corpus(split: str) -> tuple[list[str], list[np.ndarray]]:
    """Names and float32 images of a corpus split (``'train'`` or ``'val'``)."""
    pairs = corpus_images(split)
    return [name for name, _ in pairs], [np.asarray(im, np.float32) for _, im in pairs]


# --------------------------------------------------------------------- loss

def detector_loss(logits, target, *, dice_weight=1.0, hard_negative_weight=0.0,
                  hard_negative_share=0.01):
    """Binary cross-entropy plus class-balanced soft Dice, and optionally hard negatives.

    The Dice term of each class is computed over the whole batch with a
    smoothing of 1 pixel, then averaged over the classes; a class absent from
    the batch adds ``1 - 1 / (1 + sum of its probabilities)``, which pushes
    its scores towards 0.

    Parameters
    ----------
    logits, target : (N, K, H, W) tensors
        Raw network outputs and {0, 1} targets.
    dice_weight : float
        Weight of the Dice term.
    hard_negative_weight : float
        Weight of the mean cross-entropy of the hardest negative pixels: the
        ``hard_negative_share`` of the batch's (pixel, class) pairs whose
        target is 0 and whose loss is highest. Plain cross-entropy averages
        a few confident false alarms away among millions of easy pixels;
        this term keeps them in view (online hard-example mining). Pixels
        within :data:`HARD_NEGATIVE_MARGIN` px of a defect of the class are
        left out: their labels are uncertain at soft edges.
    hard_negative_share : float
        Share of the negative pairs in that mean, in (0, 1].

    Returns
    -------
    loss : scalar tensor
    """
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(0, 2, 3))
    denom = prob.sum(dim=(0, 2, 3)) + target.sum(dim=(0, 2, 3))
    dice = 1.0 - (2.0 * inter + 1.0) / (denom + 1.0)
    loss = bce + dice_weight * dice.mean()
    if hard_negative_weight > 0:
        # pixels at least 4 px from the class's defects: not their uncertain soft edges
        near = F.max_pool2d(target, kernel_size=2 * HARD_NEGATIVE_MARGIN + 1, stride=1,
                            padding=HARD_NEGATIVE_MARGIN)
        negative = F.softplus(logits)[near == 0]  # cross-entropy where the target is 0
        if negative.numel():
            k = max(1, int(round(negative.numel() * float(hard_negative_share))))
            loss = loss + hard_negative_weight * torch.topk(negative, k, sorted=False).values.mean()
    return loss


def detector_step_loss(model, batch, *, keep=None, keep_channels=(), **weights):
    """:func:`detector_loss` of ``model`` on a batch ``(input, uint8 target)``; no terms.

    ``keep``: a frozen detector network whose probabilities replace the targets of the
    channels ``keep_channels`` (learning without forgetting: a fine-tune keeps what that
    network gave for those classes). ``weights``: the keyword options of
    :func:`detector_loss`.
    """
    x, target = batch
    target = target.to(torch.float32, copy=True)
    if keep is not None and len(keep_channels):
        channels = list(keep_channels)
        with torch.no_grad():
            target[:, channels] = torch.sigmoid(keep(x).float()[:, channels])
    return detector_loss(model(x), target, **weights), {}


# --------------------------------------------------------------- validation

def score_samples(net, samples, device, *, workers: int = 0):
    """Probabilities ``(N, K, H, W)`` and bool truth of ``(input, target)`` samples (a sequence).

    Scored 8 at a time by ``workers`` loader processes; ``net``'s modules keep their modes.
    """
    probs, targets = [], []
    loader = torch.utils.data.DataLoader(samples, batch_size=8, num_workers=int(workers))
    with evaluating(net):
        for x, y in loader:
            probs.append(torch.sigmoid(net(x.to(device)).float()).cpu().numpy())
            targets.append(y.numpy().astype(bool))
    return np.concatenate(probs), np.concatenate(targets)


def counts_at_thresholds(prob: np.ndarray, truth: np.ndarray, grid=THRESHOLD_GRID) -> np.ndarray:
    """Pixel counts (tp, fp, fn) per class and threshold.

    Parameters
    ----------
    prob : (N, K, H, W) float array
    truth : (N, K, H, W) bool array
    grid : (T,) array of thresholds

    Returns
    -------
    counts : (K, T, 3) int64 array
    """
    counts = np.zeros((prob.shape[1], len(grid), 3), np.int64)
    for k in range(prob.shape[1]):
        p = prob[:, k].ravel()
        t = truth[:, k].ravel()
        order = np.searchsorted(grid, p, side="right")  # p >= grid[j] for j < order
        pos = np.bincount(order[t], minlength=len(grid) + 1)
        neg = np.bincount(order[~t], minlength=len(grid) + 1)
        tp = pos[::-1].cumsum()[::-1][1:]
        fp = neg[::-1].cumsum()[::-1][1:]
        counts[k, :, 0] = tp
        counts[k, :, 1] = fp
        counts[k, :, 2] = t.sum() - tp
    return counts


def choose_thresholds(counts, clean_counts, clean_pixels, *, clean_fp_weight=1.0):
    """Per-class threshold of best F1, counting false alarms on clean crops as false positives.

    Parameters
    ----------
    counts, clean_counts : (K, T, 3) int arrays
        :func:`counts_at_thresholds` of the damaged and of the clean crops.
    clean_pixels : int
        Pixels of the clean crops.
    clean_fp_weight : float
        Weight of a clean-crop false positive against a damaged-crop one.

    Returns
    -------
    thresholds : dict
        Class name -> probability threshold from :data:`THRESHOLD_GRID`.
    metrics : dict
        Per class: precision, recall, F1, IoU on the damaged crops and the
        false-alarm rate on the clean crops at that threshold.
    """
    thresholds, metrics = {}, {}
    for k, name in enumerate(SCORED_CLASSES.values()):
        tp, fp, fn = counts[k].T
        clean_fp = clean_counts[k, :, 1]
        _, _, f1, _ = prf_iou(tp, fp + clean_fp_weight * clean_fp, fn)
        j = int(np.argmax(f1))
        p, r, f, i = prf_iou(tp[j], fp[j], fn[j])
        thresholds[name] = float(THRESHOLD_GRID[j])
        metrics[name] = {"precision": round(float(p), 4), "recall": round(float(r), 4),
                         "f1": round(float(f), 4), "iou": round(float(i), 4),
                         "clean_false_alarm": round(float(clean_fp[j] / max(clean_pixels, 1)), 6),
                         "positive_pixels": int(tp[j] + fn[j])}
    return thresholds, metrics


def calibrate(net, damaged, clean, device, *, clean_fp_weight=1.0, workers: int = 0):
    """Per-class thresholds of best F1 on damaged and clean ``(input, target)`` samples.

    Returns
    -------
    thresholds, metrics : dict
        As :func:`choose_thresholds`.
    clean_prob : (N, K, H, W) float array
        Probabilities of the clean samples.
    """
    prob, truth = score_samples(net, damaged, device, workers=workers)
    clean_prob, clean_truth = score_samples(net, clean, device, workers=workers)
    pixels = clean_prob.shape[0] * clean_prob.shape[2] * clean_prob.shape[3]
    thresholds, metrics = choose_thresholds(counts_at_thresholds(prob, truth),
                                            counts_at_thresholds(clean_prob, clean_truth), pixels,
                                            clean_fp_weight=clean_fp_weight)
    return thresholds, metrics, clean_prob


def validate(net, config, device) -> dict:
    """Calibrate thresholds and measure metrics on validation crops.

    Returns
    -------
    metrics : dict
        ``thresholds`` (class name -> raw probability threshold), ``per_class``
        precision, recall, F1, IoU and clean false-alarm rate at those
        thresholds, the union false-alarm rate on clean crops and what was measured.
    """
    names, images = _corpus("val")
    damaged = DetectorSamples(images, config, config["val_seed"], length=config["val_crops"])
    clean = DetectorSamples(images, config, config["val_seed"] + 1, clean=True,
                            length=config["val_clean_crops"])
    thresholds, metrics, clean_prob = calibrate(net, damaged, clean, device,
                                                clean_fp_weight=config["clean_fp_weight"],
                                                workers=config["workers"])
    t = np.array([thresholds[n] for n in SCORED_CLASSES.values()])[None, :, None, None]
    union_fa = float((clean_prob >= t).any(axis=1).mean())
    return {"thresholds": thresholds, "per_class": metrics,
            "clean_false_alarm_union": round(union_fa, 6), "val_images": names,
            "val_crops": int(config["val_crops"]), "val_clean_crops": int(config["val_clean_crops"]),
            "crop": int(config["crop"]), "val_seed": int(config["val_seed"])}


# ----------------------------------------------------------------- training

def _exported_inference(config: dict) -> dict:
    """The inference settings of the card a run exports: the config's, with the precision of
    its ``init_model`` (the fine-tune runs as its starting model was measured to run) unless
    the config names one."""
    inference = dict(config["inference"])
    if config["init_model"] and "precision" not in inference:
        precision = network_card(config["init_model"]).get("inference", {}).get("precision")
        if precision:
            inference["precision"] = precision
    return inference


class DetectorTraining:
    """Hooks of the detector's training for :func:`~napari_mend.training.loop.train_and_export`.

    A loaded batch is trained on ``reuse`` times, rotated by 90 degrees each
    time. The checkpoint keeps the number of samples drawn and the history
    of runs (config, device, steps and samples of each start and resume).
    """

    def __init__(self, config: dict):
        self.config = config
        self.device = default_device()
        self.settings = LoopSettings(
            lr=config["lr"], max_steps=config["max_steps"], max_seconds=config["max_seconds"],
            weight_decay=config["weight_decay"], warmup_steps=config["warmup_steps"],
            log_every=config["log_every"], checkpoint_every=config["checkpoint_every"])
        self.names, self.images = _corpus("train")
        self.consumed = 0  # index of the next training sample
        self.keep, self.keep_channels = None, ()
        if config["keep_model"]:
            keep = get_network(config["keep_model"], device=self.device)
            if keep.card.get("kind") != "detector":
                raise ValueError(f"keep_model {config['keep_model']!r} is not a detector")
            self.keep = copy.deepcopy(keep.module).float().eval().requires_grad_(False)
            names = list(SCORED_CLASSES.values())
            self.keep_channels = tuple(names.index(c) for c in config["keep_classes"])
        self.inference = _exported_inference(config)
        self.earlier_runs: list = []
        self.run: dict = {}

    def build_model(self):
        """The network: untrained, or with the weights of ``config['init_model']``."""
        model = DetectorUNet(**self.config["model"])
        name = self.config["init_model"]
        if name:
            start = get_network(name, device="cpu")
            if start.card["config"] != self.config["model"]:
                raise ValueError(f"init_model {name!r} has model config {start.card['config']}, "
                                 f"this run {self.config['model']}: they must match")
            model.load_state_dict({k: v.float() for k, v in start.module.state_dict().items()})
        return model

    def begin(self, trainer) -> dict:
        self.consumed = int(trainer.extra.get("samples", 0))
        self.earlier_runs = list(trainer.extra.get("runs", []))
        self.run = {"config": self.config, "device": device_name(self.device),
                    "from_step": trainer.step}
        torch.backends.cudnn.benchmark = self.device.type == "cuda"
        return {"train_images": len(self.names), "config": self.config}

    def batches(self, step):
        cfg = self.config
        samples = DetectorSamples(self.images, cfg, cfg["seed"])
        for x, y in sample_batches(samples.__getitem__, start=self.consumed,
                                   batch_size=cfg["batch_size"], device=self.device,
                                   workers=cfg["workers"]):
            self.consumed += int(cfg["batch_size"])
            for turn in range(int(cfg["reuse"])):
                yield torch.rot90(x, turn, dims=(2, 3)), torch.rot90(y, turn, dims=(2, 3))

    def loss(self, model, batch):
        cfg = self.config
        return detector_step_loss(model, batch, keep=self.keep, keep_channels=self.keep_channels,
                                  dice_weight=cfg["dice_weight"],
                                  hard_negative_weight=cfg["hard_negative_weight"],
                                  hard_negative_share=cfg["hard_negative_share"])

    def validate(self, model) -> dict:
        return validate(model, self.config, self.device)

    def runs(self, step: int) -> list:
        """Every start and resume of the run, this one up to ``step``."""
        return self.earlier_runs + [dict(self.run, to_step=step, to_samples=self.consumed)]

    def checkpoint_extra(self, step: int) -> dict:
        return {"samples": self.consumed, "runs": self.runs(step)}

    def card(self, trainer, metrics: dict) -> dict:
        cfg = self.config
        validation = dict(metrics)
        thresholds = validation.pop("thresholds")
        return {
            "kind": "detector",
            "architecture": "detector_unet",
            "config": dict(cfg["model"]),
            "classes": dict(SCORED_CLASSES),
            "thresholds": thresholds,
            "calibration": "score = sigmoid(logit(p) - logit(threshold[class])); 0.5 = threshold",
            "inference": dict(self.inference),
            "input": "(N, 3, H, W), per-image 0.5/99.5 percentiles mapped to -1/+1, gray replicated",
            "training": {"config": cfg, "steps": trainer.step,
                         "wall_time_s": round(trainer.elapsed(), 1),
                         "device": str(self.device), "device_name": device_name(self.device),
                         "samples": self.consumed, "runs": self.runs(trainer.step),
                         "environment": environment()},
            "data": {"train_images": self.names, "procedural_share": cfg["p_procedural"],
                     "procedural_kinds": cfg["procedural_kinds"],
                     "clean_share": cfg["p_clean"],
                     "source": "shared/TRAINING_DATA.md corpus ('train' split of "
                               "napari_mend.synthesis) + napari_mend.synthesis.procedural_image; "
                               "defects from napari_mend.synthesis.synthesize_defects"},
            "seed": int(cfg["seed"]),
            "validation": validation,
        }


def train(config: dict, out_dir, resume: bool = False, log=print) -> dict:
    """Train a detector and export it with its model card.

    Parameters
    ----------
    config : dict
        Training config (see :data:`DEFAULTS` for keys and defaults;
        ``configs/detector.json`` is the shipped model's).
    out_dir, resume, log
        As in :func:`~napari_mend.training.loop.train_and_export`.

    Returns
    -------
    card : dict
        The exported model card (as written to ``<name>.json``).
    """
    card_path = train_and_export(DetectorTraining(full_config(config)), out_dir=out_dir,
                                 resume=resume, log=log)
    return json.loads(card_path.read_text(encoding="utf-8"))
