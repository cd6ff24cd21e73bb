"""Hooks shared by the trainers whose samples are image pairs drawn from the training corpus.

The inpainter (clean crop, hole) and the moire remover (damaged crop, clean
crop) draw sample ``i`` from ``(seed, i)`` on the corpus images of a minimum
size, validate on fixed crops of the validation images and write model cards
of the same form. A subclass of :class:`CorpusPairTraining` gives what
differs: the network, the sample, the loss, the validation and the card's
description of its data.
"""

from __future__ import annotations

from functools import partial

from ..synthesis import corpus_images
from .common import device_name, environment
from .loop import sample_batches


class CorpusPairTraining:
    """Hooks of a corpus-pair trainer for :func:`~napari_mend.training.loop.train_and_export`.

    Parameters
    ----------
    config : dict
        Full training config (``batch``, ``crop``, ``model``, ``seed``, optional ``workers``).
    device : torch.device
    settings : LoopSettings
    min_side : int
        Shortest side of the training images used.
    val_cases : list
        Fixed validation cases, for the subclass's ``validate``.

    A subclass sets ``kind``, ``architecture``, ``description`` and ``metric``
    (card texts), and gives ``build_model()``, ``training_pair(index, *, images,
    config)`` (a module function: sample ``index`` as network arrays),
    ``loss(model, batch)``, ``validate(model)`` and ``data_card()`` (the card's
    data entries besides the image names).
    """

    kind: str
    architecture: str
    description: str
    metric: str

    def __init__(self, config: dict, *, device, settings, min_side: int, val_cases: list):
        self.config = config
        self.device = device
        self.settings = settings
        self.named = [(n, im) for n, im in corpus_images("train") if min(im.shape[:2]) >= min_side]
        self.val_cases = val_cases

    def begin(self, trainer) -> dict:
        return {"train_images": len(self.named)}

    def batches(self, step: int):
        batch = int(self.config["batch"])
        sample = partial(self.training_pair, images=[im for _, im in self.named],
                         config=self.config)
        return sample_batches(sample, start=step * batch, batch_size=batch, device=self.device,
                              workers=int(self.config.get("workers", 0)))

    def checkpoint_extra(self, step: int) -> dict:
        return {}

    def card(self, trainer, metrics: dict) -> dict:
        config = self.config
        return {
            "kind": self.kind,
            "architecture": self.architecture,
            "config": config["model"],
            "description": self.description,
            "training": config,
            "data": {"train_images": [n for n, _ in self.named], **self.data_card()},
            "seed": config["seed"],
            "steps": trainer.step,
            "wall_time_s": round(trainer.elapsed(), 1),
            "device": device_name(self.device),
            "environment": environment(),
            "validation": {"crops": len(self.val_cases), "crop": config["crop"],
                           "metric": self.metric, **metrics},
        }
