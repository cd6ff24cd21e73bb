"""Training of the learned moire remover (:class:`~napari_mend.models.demoire_net.DemoireNet`).

A sample is a random crop of the training corpus (``synthesis.corpus_images('train')``,
images with a side of at least ``crop`` pixels) or a procedural image,
rescaled, flipped, rotated and sometimes turned gray, then damaged by
:func:`napari_mend.synthesis.add_moire` (an LCD subpixel grid or a halftone
screen resampled by a camera, with a slight warp, over the whole crop or a
soft-edged part of it). A share of the samples keeps no moire, so the network
learns to leave clean pixels alone. Sample ``i`` depends only on
``(seed, i)``: runs are reproducible and resume where they stopped.

Loss: L1 between the output and the clean crop, plus L1 of their image
gradients. The learning rate follows a cosine from ``lr`` to zero over the
larger of ``step / max_steps`` and ``elapsed / max_seconds``.

Run with ``python -m napari_mend.training demoire --config demoire.json``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.transform import rescale

from ..models.demoire_net import DemoireNet
from ..synthesis import add_moire, corpus_images, procedural_image
from .common import sample_rng
from .corpus_pairs import CorpusPairTraining
from .loop import LoopSettings, evaluating, train_and_export

DEFAULTS = {
    "name": "demoire",
    "seed": 0,
    "crop": 128,
    "batch": 8,
    "lr": 1e-3,
    "max_steps": 100000,
    "max_seconds": None,
    "threads": 0,
    "model": {"widths": [16, 32, 48, 64], "blocks": 2},
    "procedural_fraction": 0.2,
    "gray_fraction": 0.3,
    "clean_fraction": 0.15,
    "scale_range": [0.4, 1.0],
    "gradient_weight": 0.5,
    "log_every": 20,
    "checkpoint_every": 100,
    "val_crops": 24,
    "val_seed": 4321,
}
"""Training configuration keys and their defaults (a config file overrides them)."""


def _rgb(image: np.ndarray) -> np.ndarray:
    image = image[..., None] if image.ndim == 2 else image
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]


def random_crop(rng: np.random.Generator, images: list, config: dict) -> np.ndarray:
    """A clean RGB crop ``(S, S, 3)`` in ``[0, 1]`` of a corpus or procedural image."""
    size = int(config["crop"])
    if not images or rng.random() < config["procedural_fraction"]:
        crop = _rgb(procedural_image(rng, (size, size), channels=int(rng.choice([1, 3]))))
    else:
        image = images[int(rng.integers(len(images)))]
        lo, hi = config["scale_range"]
        scale = max(rng.uniform(lo, hi), size / min(image.shape[:2]))
        window = min(int(math.ceil(size / scale)) + 2, *image.shape[:2])
        r = int(rng.integers(0, image.shape[0] - window + 1))
        c = int(rng.integers(0, image.shape[1] - window + 1))
        piece = _rgb(image[r:r + window, c:c + window])
        if window != size:
            piece = rescale(piece, size / window, order=1, anti_aliasing=True,
                            channel_axis=-1, preserve_range=True)
        crop = piece[:size, :size]
    crop = np.rot90(crop, k=int(rng.integers(4)))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < config["gray_fraction"]:
        crop = np.repeat(crop.mean(axis=-1, keepdims=True), 3, axis=-1)
    return np.ascontiguousarray(np.clip(crop, 0, 1), dtype=np.float32)


def make_sample(rng: np.random.Generator, images: list, config: dict):
    """One training pair ``(damaged, clean)``, both ``(S, S, 3)`` float32."""
    clean = random_crop(rng, images, config)
    if rng.random() < config["clean_fraction"]:
        return clean, clean
    damaged, _ = add_moire(clean, rng)
    return damaged.astype(np.float32), clean


def training_pair(index: int, *, images: list, config: dict):
    """Sample ``index`` of a run as network arrays ``(damaged, clean)``, both ``(3, S, S)``."""
    pair = make_sample(sample_rng(config["seed"], index), images, config)
    return tuple(np.ascontiguousarray(a.transpose(2, 0, 1)) for a in pair)


def validation_set(config: dict):
    """Fixed ``(damaged, clean)`` crops of the validation images (``synthesis.VAL_IMAGES``)."""
    size = int(config["crop"])
    val = [_rgb(im) for _, im in corpus_images("val") if min(im.shape[:2]) >= size]
    rng = np.random.default_rng(int(config["val_seed"]))
    cases = []
    for k in range(int(config["val_crops"])):
        image = val[k % len(val)]
        r = int(rng.integers(0, image.shape[0] - size + 1))
        c = int(rng.integers(0, image.shape[1] - size + 1))
        clean = np.ascontiguousarray(image[r:r + size, c:c + size], np.float32)
        cases.append((add_moire(clean, rng)[0].astype(np.float32), clean))
    return cases


def _psnr(a, b):
    return 10 * np.log10(1 / max(float(np.mean((a - b) ** 2)), 1e-12))


def validate(net, cases) -> dict:
    """Mean PSNR (dB) of the damaged crops and of the network's output."""
    before, after = [], []
    with evaluating(net):
        for damaged, clean in cases:
            x = torch.from_numpy(damaged.transpose(2, 0, 1)[None].copy())
            out = net(x)[0].numpy().transpose(1, 2, 0)
            before.append(_psnr(damaged, clean))
            after.append(_psnr(np.clip(out, 0, 1), clean))
    return {"psnr_input": float(np.mean(before)), "psnr_output": float(np.mean(after)),
            "psnr_gain": float(np.mean(after) - np.mean(before))}


def demoire_loss(pred, target, gradient_weight: float):
    """L1 plus ``gradient_weight`` times the L1 of horizontal and vertical differences."""
    diff = pred - target
    l1 = diff.abs().mean()
    grad = ((diff[..., 1:] - diff[..., :-1]).abs().mean()
            + (diff[..., 1:, :] - diff[..., :-1, :]).abs().mean())
    return l1 + gradient_weight * grad, {"l1": float(l1.detach()), "grad": float(grad.detach())}


def demoire_step_loss(model, batch, gradient_weight: float):
    """:func:`demoire_loss` of ``model`` on a batch ``(damaged, clean)``, and its terms."""
    damaged, clean = batch
    return demoire_loss(model(damaged).float(), clean, gradient_weight)


class DemoireTraining(CorpusPairTraining):
    """Hooks of the moire remover's training; it trains on the CPU, with ``threads`` torch
    threads when that is not 0."""

    kind = "demoire"
    architecture = "demoire_net"
    description = "multi-scale residual encoder-decoder (napari_mend.models.demoire_net.DemoireNet)"
    metric = "mean PSNR (dB) on moire crops, network alone"
    training_pair = staticmethod(training_pair)

    def __init__(self, config: dict):
        settings = LoopSettings(
            lr=config["lr"], max_steps=config["max_steps"], max_seconds=config["max_seconds"],
            weight_decay=1e-5, clip_grad_norm=1.0, log_every=int(config["log_every"]),
            checkpoint_every=int(config["checkpoint_every"]))
        super().__init__(config, device=torch.device("cpu"), settings=settings,
                         min_side=int(config["crop"]), val_cases=validation_set(config))

    def build_model(self):
        return DemoireNet(**self.config["model"])

    def begin(self, trainer) -> dict:
        if int(self.config["threads"]):
            torch.set_num_threads(int(self.config["threads"]))
        return super().begin(trainer)

    def loss(self, model, batch):
        return demoire_step_loss(model, batch, float(self.config["gradient_weight"]))

    def validate(self, model) -> dict:
        return validate(model, self.val_cases)

    def data_card(self) -> dict:
        crop = int(self.config["crop"])
        return {"train_images_note": "synthesis.TRAIN_IMAGES with a side of at least "
                                     f"{crop} px, plus procedural images",
                "validation_images": sorted({n for n, im in corpus_images("val")
                                             if min(im.shape[:2]) >= crop}),
                "damage": "napari_mend.synthesis.add_moire (LCD subpixel grid or halftone "
                          "screen, warped, whole image or region)"}


def train(config: dict, out_dir, resume: bool = False, log=print):
    """Train a moire remover and export ``<name>.pt`` and ``<name>.json`` into ``out_dir``.

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
    return train_and_export(DemoireTraining({**DEFAULTS, **config}), out_dir=out_dir,
                            resume=resume, log=log)
