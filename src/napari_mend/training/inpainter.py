"""Training of the learned inpainter (:class:`~napari_mend.models.inpainter_net.InpainterNet`).

Samples are random crops of the training corpus (``synthesis.corpus_images('train')``)
and of procedural images, rescaled, flipped, rotated and sometimes turned
gray, with a hole from ``synthesis.inpainting_mask`` (thin strokes, dust,
text, logos, blotches and large free-form holes). Sample ``i`` depends only
on ``(seed, i)``, so runs are reproducible with any number of data workers
and resume where they stopped.

Loss, on the composite ``mask * pred + (1 - mask) * image``: L1 inside the
hole, L1 of the image gradients, and 1 - SSIM (7x7 box windows), plus a
small L1 on the raw prediction of known pixels. No adversarial term: it
did not pay off at this model size in PSNR/SSIM on the validation set.

A run may start from the weights of a registered model (``init``: its name
or path), to continue a time-limited run; the card records that model.

The learning rate follows a cosine from ``lr`` to zero over training
progress, the larger of ``step / max_steps`` and ``elapsed / max_seconds``
(a time-limited run still ends with a small learning rate).

Run with ``python -m napari_mend.training inpainter --config inpainter.json``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from skimage.transform import resize

from ..models.device import default_device
from ..models.inpainter_net import InpainterNet
from ..models.registry import clear_cache, get_model
from ..synthesis import MASK_FAMILIES, corpus_images, inpainting_mask, procedural_image
from .common import sample_rng
from .corpus_pairs import CorpusPairTraining
from .loop import LoopSettings, evaluating, train_and_export

DEFAULTS = {
    "name": "inpainter",
    "seed": 0,
    "crop": 256,
    "batch": 16,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "max_steps": 100000,
    "max_seconds": None,
    "workers": 0,
    "device": "auto",
    "model": {"widths": [32, 64, 96, 128], "blocks": 6, "dilations": [1, 2, 4]},
    "procedural_fraction": 0.25,
    "gray_fraction": 0.25,
    "scale_range": [0.35, 1.0],
    "min_image_side": 128,
    "family_weights": {"thin": 1, "dust": 1, "text": 1, "logo": 1, "blotch": 1.5, "large": 2},
    "loss": {"hole_l1": 1.0, "known_l1": 0.1, "gradient": 1.0, "ssim": 0.2},
    "log_every": 50,
    "checkpoint_every": 500,
    "val_every": 0,
    "val_crops_per_family": 8,
    "val_seed": 1234,
    "init": None,
}
"""Training configuration keys and their defaults (a config file overrides them)."""


def _resize(image: np.ndarray, shape) -> np.ndarray:
    return resize(image, shape, order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return image[..., :3].astype(np.float32)


def make_sample(rng: np.random.Generator, images: list, config: dict):
    """One training sample: a clean RGB crop ``(S, S, 3)`` and a hole ``(S, S)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of all randomness of this sample.
    images : list of ndarray
        Corpus images (float in ``[0, 1]``, gray or RGB).
    config : dict
        Training config (``crop``, ``procedural_fraction``, ``gray_fraction``,
        ``scale_range``, ``family_weights``).
    """
    size = int(config["crop"])
    if not images or rng.random() < config["procedural_fraction"]:
        crop = _to_rgb(procedural_image(rng, (size, size), channels=int(rng.choice([1, 3]))))
    else:
        areas = np.array([im.shape[0] * im.shape[1] for im in images], float)
        image = images[rng.choice(len(images), p=np.sqrt(areas) / np.sqrt(areas).sum())]
        lo, hi = config["scale_range"]
        scale = rng.uniform(lo, hi)
        h, w = image.shape[:2]
        scale = max(scale, size / min(h, w))  # the crop must fit
        if abs(scale - 1) > 1e-3:
            window = (int(math.ceil(size / scale)) + 1, int(math.ceil(size / scale)) + 1)
            window = (min(window[0], h), min(window[1], w))
            r = rng.integers(0, h - window[0] + 1)
            c = rng.integers(0, w - window[1] + 1)
            image = _resize(image[r:r + window[0], c:c + window[1]], (size, size))
        r = rng.integers(0, image.shape[0] - size + 1)
        c = rng.integers(0, image.shape[1] - size + 1)
        crop = _to_rgb(image[r:r + size, c:c + size])
    crop = np.rot90(crop, k=int(rng.integers(4)))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < config["gray_fraction"]:
        crop = np.repeat(crop.mean(axis=-1, keepdims=True), 3, axis=-1)
    crop = np.clip(crop, 0, 1) ** rng.uniform(0.8, 1.25)  # mild gamma jitter
    names = list(config["family_weights"])
    weights = np.array([config["family_weights"][n] for n in names], float)
    family = names[rng.choice(len(names), p=weights / weights.sum())]
    mask = inpainting_mask((size, size), rng, family=family)
    return np.ascontiguousarray(crop, dtype=np.float32), np.asarray(mask, bool)


def training_pair(index: int, *, images: list, config: dict):
    """Sample ``index`` of a run as network tensors: crop ``(3, S, S)``, hole ``(1, S, S)`` float."""
    crop, mask = make_sample(sample_rng(config["seed"], index), images, config)
    return (np.ascontiguousarray(crop.transpose(2, 0, 1)), mask[None].astype(np.float32))


def _box(x, k=7):
    return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)


def ssim_map(a, b):
    """SSIM map of two ``(N, C, H, W)`` tensors in ``[0, 1]`` with 7x7 box windows."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b = _box(a), _box(b)
    var_a = _box(a * a) - mu_a ** 2
    var_b = _box(b * b) - mu_b ** 2
    cov = _box(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def inpainting_loss(pred, target, mask, weights: dict):
    """Training loss and its terms (see the module docstring)."""
    comp = mask * pred + (1 - mask) * target
    hole = mask.sum().clamp(min=1.0) * pred.shape[1]
    known = (1 - mask).sum().clamp(min=1.0) * pred.shape[1]
    terms = {
        "hole_l1": ((pred - target).abs() * mask).sum() / hole,
        "known_l1": ((pred - target).abs() * (1 - mask)).sum() / known,
    }
    near = _box(mask, 9) > 0  # the hole and a thin ring around it
    gx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
    gy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
    nx, ny = gx(near.float()) != 0, gy(near.float()) != 0
    ring_x = (near[..., :, 1:] | nx).float()
    ring_y = (near[..., 1:, :] | ny).float()
    terms["gradient"] = (((gx(comp) - gx(target)).abs() * ring_x).sum() / ring_x.sum().clamp(min=1)
                         + ((gy(comp) - gy(target)).abs() * ring_y).sum() / ring_y.sum().clamp(min=1)
                         ) / pred.shape[1]
    ssim = ssim_map(comp.float().clamp(0, 1), target.float())
    terms["ssim"] = ((1 - ssim) * near).sum() / (near.sum() * pred.shape[1]).clamp(min=1)
    total = sum(weights[k] * v for k, v in terms.items() if weights.get(k))
    return total, {k: float(v.detach()) for k, v in terms.items()}


def inpainter_step_loss(model, batch, weights: dict):
    """:func:`inpainting_loss` of ``model`` on a batch ``(clean crops, holes)``, and its terms."""
    target, mask = batch
    pred = model(torch.cat([target * (1 - mask), mask], dim=1))
    return inpainting_loss(pred.float(), target, mask, weights)


def validation_set(config: dict):
    """Fixed validation crops ``(family, crop, mask)`` of the validation images (``synthesis.VAL_IMAGES``)."""
    size = int(config["crop"])
    val = [image for _, image in corpus_images("val") if min(image.shape[:2]) >= size]
    rng = np.random.default_rng(int(config["val_seed"]))
    cases = []
    for family in MASK_FAMILIES:
        for k in range(int(config["val_crops_per_family"])):
            image = _to_rgb(val[k % len(val)])
            r = rng.integers(0, image.shape[0] - size + 1)
            c = rng.integers(0, image.shape[1] - size + 1)
            cases.append((family, image[r:r + size, c:c + size],
                          inpainting_mask((size, size), rng, family=family)))
    return cases


def validate(net, cases, device) -> dict:
    """PSNR (dB) inside the holes per mask family, on the network alone."""
    per_family: dict[str, list] = {}
    with evaluating(net):
        for family, crop, mask in cases:
            x = np.concatenate([crop * ~mask[..., None], mask[..., None]], axis=-1)
            t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32))
            pred = net(t.to(device))[0].float().cpu().numpy().transpose(1, 2, 0)
            err = np.mean((np.clip(pred, 0, 1)[mask] - crop[mask]) ** 2)
            per_family.setdefault(family, []).append(10 * np.log10(1 / max(err, 1e-10)))
    metrics = {f"psnr_hole_{f}": float(np.mean(v)) for f, v in per_family.items()}
    metrics["psnr_hole_mean"] = float(np.mean(list(metrics.values())))
    return metrics


def _load_init(net, name: str) -> dict:
    """Start from the weights of a registered model (a continued run); return its provenance."""
    clear_cache()  # the files may have been rewritten by an earlier run in this process
    start = get_model(name, device="cpu")
    card = start.card
    net.load_state_dict(start.module.state_dict())
    return {"model": card["name"], "sha256": card["sha256"], "steps": card.get("steps"),
            "wall_time_s": card.get("wall_time_s"), "init": card.get("init")}


class InpainterTraining(CorpusPairTraining):
    """Hooks of the inpainter's training; a run may start from a registered model (``init``)."""

    kind = "inpainter"
    architecture = "inpainter_net"
    description = ("LaMa-style fast-Fourier-convolution inpainting generator "
                   "(napari_mend.models.inpainter_net.InpainterNet)")
    metric = "PSNR (dB) inside the hole, network on 256-px crops"
    training_pair = staticmethod(training_pair)

    def __init__(self, config: dict):
        device = default_device() if config["device"] == "auto" else torch.device(config["device"])
        settings = LoopSettings(
            lr=config["lr"], max_steps=config["max_steps"], max_seconds=config["max_seconds"],
            weight_decay=config["weight_decay"], clip_grad_norm=1.0,
            log_every=int(config["log_every"]), checkpoint_every=int(config["checkpoint_every"]),
            validate_every=int(config["val_every"]) or None)
        super().__init__(config, device=device, settings=settings,
                         min_side=int(config["min_image_side"]), val_cases=validation_set(config))
        self.init = None

    def build_model(self):
        return InpainterNet(**self.config["model"])

    def begin(self, trainer) -> dict:
        if self.config["init"] and not trainer.resumed:
            self.init = _load_init(trainer.model, self.config["init"])
        torch.backends.cudnn.benchmark = self.device.type == "cuda"
        return super().begin(trainer)

    def loss(self, model, batch):
        return inpainter_step_loss(model, batch, self.config["loss"])

    def validate(self, model) -> dict:
        return validate(model, self.val_cases, self.device)

    def data_card(self) -> dict:
        config = self.config
        return {"train_images_note": "synthesis.TRAIN_IMAGES with a side of at least "
                                     f"{config['min_image_side']} px (the 25x25 lfw_subset crops "
                                     "are too small for the crops), plus procedural images",
                "validation_images": [n for n, im in corpus_images("val")
                                      if min(im.shape[:2]) >= int(config["crop"])],
                "procedural_fraction": config["procedural_fraction"],
                "masks": "napari_mend.synthesis.inpainting_mask, families "
                         + ", ".join(f"{k} (weight {v})"
                                     for k, v in config["family_weights"].items())}

    def card(self, trainer, metrics: dict) -> dict:
        return {**super().card(trainer, metrics), "init": self.init}


def train(config: dict, out_dir, resume: bool = False, log=print):
    """Train an inpainter and export ``<name>.pt`` and ``<name>.json`` into ``out_dir``.

    Parameters
    ----------
    config : dict
        Keys of :data:`DEFAULTS` (missing ones take the default).
    out_dir, resume, log
        As in :func:`~napari_mend.training.loop.train_and_export`.

    Returns
    -------
    card_path : Path
        The exported model card.
    """
    return train_and_export(InpainterTraining({**DEFAULTS, **config}), out_dir=out_dir,
                            resume=resume, log=log)
