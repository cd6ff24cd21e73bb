"""The independent generator's samples, in the shape every evaluation takes, and shared metrics.

The evaluations (``napari-mend evaluate detector|inpainter|moire|watermark``)
report each number twice: on the project's own validation images damaged by
the project's own synthesiser (``own``), and on samples of the separate
generator :mod:`napari_mend.evaluation.independent` (``independent``), which
never shaped a model or a setting. This module is the bridge between the two:

* :func:`independent_samples` and :func:`independent_clean` draw a seeded set
  and convert it to an evaluation's input (float ``(M, N, C)`` planes, or
  uint8, or the generator's own ``(M, N[, 3])`` layout);
* :func:`truth_masks`, :func:`confusion` and :func:`region_psnr` are the
  metrics the evaluations share;
* :func:`side_by_side` prints an ``own | independent`` table;
* :func:`validation_planes` gives the own validation images in the same
  ``(M, N, C)`` float layout, and :func:`add_independent_options` the
  command-line options every evaluation takes for its independent column.

The independent samples are for reporting only: nothing here may choose a
threshold, a rule or a class list (see ``docs/independent_validation.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..classes import DEFECT_CLASSES, SCORED_CLASSES
from ..synthesis import corpus_images
from .independent import CLASSES, clean_images, damaged_sample, dataset, watermarked_collection

INDEPENDENT_SEED = 2024
"""Default seed of the independent samples every evaluation reports on."""
OWN, INDEPENDENT = "own", "independent"
"""Column names of the two sources of test images."""


@dataclass(frozen=True)
class IndependentCase:
    """One independent sample converted for an evaluation."""

    clean: np.ndarray
    damaged: np.ndarray
    labels: np.ndarray
    """uint8 ``(M, N)``: class id of each damaged pixel, 0 elsewhere."""
    cls: int
    index: int

    @property
    def name(self) -> str:
        """Class name of the sample."""
        return DEFECT_CLASSES[self.cls]

    @property
    def mask(self) -> np.ndarray:
        """bool ``(M, N)``: every damaged pixel."""
        return self.labels > 0

    @property
    def channel_axis(self):
        """``-1`` for ``(M, N, C)`` images, ``None`` for gray ``(M, N)``."""
        return -1 if self.clean.ndim == 3 else None


def convert(image: np.ndarray, layout: str = "plane", dtype=np.float32) -> np.ndarray:
    """An independent image (float32 ``(M, N[, 3])`` in [0, 1]) in an evaluation's input type.

    Parameters
    ----------
    image : ndarray
        The generator's image.
    layout : {'plane', 'image', 'rgb'}
        ``'plane'``: always ``(M, N, C)`` (C = 1 or 3); ``'image'``: as
        generated, ``(M, N)`` or ``(M, N, 3)``; ``'rgb'``: always ``(M, N, 3)``.
    dtype : dtype
        float dtypes keep [0, 1]; ``uint8`` scales to [0, 255] and rounds.
    """
    image = np.asarray(image, np.float32)
    if layout == "plane" and image.ndim == 2:
        image = image[..., None]
    elif layout == "rgb" and image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    elif layout not in ("plane", "image", "rgb"):
        raise ValueError(f"unknown layout {layout!r}; choose 'plane', 'image' or 'rgb'")
    if np.dtype(dtype) == np.uint8:
        return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return np.ascontiguousarray(image, dtype=dtype)


def independent_samples(n_per_class: int, *, size=256, seed: int = INDEPENDENT_SEED,
                        classes=None, layout: str = "plane", dtype=np.float32):
    """Yield the independent generator's samples converted by :func:`convert`.

    Parameters
    ----------
    n_per_class : int
        Samples per class.
    size : int or (int, int)
        Image side or ``(M, N)``.
    seed : int
        Seed of the set (sample ``i`` of class ``c`` depends on ``(seed, c, i)`` only).
    classes : sequence of int or str, optional
        Class ids or names; all six by default.
    layout, dtype
        See :func:`convert`.

    Yields
    ------
    IndependentCase
    """
    if classes is not None:
        ids = {name: k for k, name in SCORED_CLASSES.items()}
        classes = [ids[c] if isinstance(c, str) else int(c) for c in classes]
    counter: dict = {}
    for sample in dataset(seed, n_per_class, size=size, classes=classes):
        assert CLASSES[sample.cls] == DEFECT_CLASSES[sample.cls]
        index = counter[sample.cls] = counter.get(sample.cls, -1) + 1
        yield IndependentCase(clean=convert(sample.clean, layout, dtype),
                              damaged=convert(sample.damaged, layout, dtype),
                              labels=np.asarray(sample.labels, np.uint8), cls=int(sample.cls),
                              index=index)


def independent_clean(n: int, *, size=256, seed: int = INDEPENDENT_SEED, layout: str = "plane",
                      dtype=np.float32) -> list:
    """``n`` clean independent images (no defect), converted by :func:`convert`.

    Drawn from their own stream (``[seed, 0]``), unlike the damaged samples'.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0]))
    return [convert(im, layout, dtype) for im in clean_images(rng, int(n), size=size)]


def independent_damage(image: np.ndarray, cls: int, *, seed: int, index: int):
    """The independent generator's defect of class ``cls`` laid on ``image`` (``(M, N)`` or
    ``(M, N, 3)`` in [0, 1]), drawn from ``(seed, cls, index)`` only: ``(damaged, labels)``
    (:func:`napari_mend.evaluation.independent.damaged_sample`)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(cls), int(index)]))
    return damaged_sample(np.clip(image, 0, 1), int(cls), rng)


def independent_watermark_collection(trial: int, n: int, *, size=160,
                                     seed: int = INDEPENDENT_SEED):
    """Collection ``trial`` of the independent generator: ``n`` colour images sharing one
    watermark (:func:`napari_mend.evaluation.independent.watermarked_collection`), as
    ``(clean, marked, region)``: lists of float32 ``(M, N, 3)`` images and the bool
    ``(M, N)`` pixels under the mark."""
    collection = watermarked_collection(seed, trial, n, size)
    return collection.clean, collection.damaged, collection.labels


def truth_masks(labels: np.ndarray) -> np.ndarray:
    """bool ``(K, M, N)``: ``labels == k`` for every class id ``k`` of :data:`DEFECT_CLASSES`."""
    labels = np.asarray(labels)
    return np.stack([labels == k for k in SCORED_CLASSES])


def confusion(detected: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """int64 ``(K, 3)``: true positive, false positive and false negative pixels per class.

    ``detected`` and ``truth`` are bool ``(K, M, N)``.
    """
    detected, truth = np.asarray(detected, bool), np.asarray(truth, bool)
    return np.stack([(detected & truth).sum(axis=(1, 2)), (detected & ~truth).sum(axis=(1, 2)),
                     (~detected & truth).sum(axis=(1, 2))], axis=1).astype(np.int64)


def prf_iou(tp, fp, fn):
    """Precision, recall, F1 and IoU from pixel counts (arrays broadcast; 0/0 -> 0)."""
    tp, fp, fn = (np.asarray(v, np.float64) for v in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        iou = np.where(tp > 0, tp / (tp + fp + fn), 0.0)
    return precision, recall, f1, iou


def grow(mask: np.ndarray, pixels: float) -> np.ndarray:
    """``mask`` grown by ``pixels`` (Euclidean distance), bool ``(M, N)``."""
    mask = np.asarray(mask, bool)
    if pixels <= 0 or not mask.any():
        return mask.copy()
    return ndi.distance_transform_edt(~mask) <= pixels


def region_psnr(truth: np.ndarray, image: np.ndarray, mask=None, *, cap: float = 100.0) -> float:
    """PSNR (dB, data range 1, at most ``cap``) of ``image`` against ``truth`` inside ``mask``.

    ``mask`` is bool ``(M, N)`` over the images' first two axes (all pixels if ``None``);
    ``image`` is clipped to [0, 1] first.
    """
    truth = np.asarray(truth, np.float64)
    image = np.clip(np.asarray(image, np.float64), 0, 1)
    if mask is not None:
        mask = np.asarray(mask, bool)
        truth, image = truth[mask], image[mask]
    error = float(np.mean((image - truth) ** 2)) if truth.size else 0.0
    return min(cap, 10 * np.log10(1 / error)) if error > 0 else cap


def mean(values, digits: int = 2):
    """Rounded mean of the finite-or-infinite ``values`` (None when empty)."""
    values = [float(v) for v in values if v is not None]
    return round(float(np.mean(values)), digits) if values else None


def cell(value, fmt: str = "{:.2f}") -> str:
    """A table cell: ``-`` for missing values, ``unchanged`` for an infinite PSNR."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if value == float("inf"):
        return "unchanged"
    return fmt.format(value)


def side_by_side(title: str, rows, *, head=("", OWN, INDEPENDENT), fmt: str = "{:.2f}") -> str:
    """A markdown table with one ``own`` and one ``independent`` column (or more pairs).

    ``rows`` is a list of ``(label, value, value, ...)``; values are numbers,
    strings or None (see :func:`cell`).
    """
    lines = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, *values in rows:
        lines.append("| " + " | ".join([str(label), *(cell(v, fmt) for v in values)]) + " |")
    return "\n".join(lines)


def as_plane(image) -> np.ndarray:
    """``image`` as float32 ``(M, N, C)``: a gray ``(M, N)`` image gets a channel axis."""
    image = np.asarray(image, np.float32)
    return image[..., None] if image.ndim == 2 else image


def validation_planes(min_side: int = 0, *, colour: bool = False) -> list:
    """The own validation images at least ``min_side`` px on a side, by :func:`as_plane`.

    Parameters
    ----------
    min_side : int
        Smallest side kept.
    colour : bool
        Repeat gray images to three channels.

    Returns
    -------
    images : list of (str, ndarray)
        ``(name, float32 (M, N, C))`` pairs of ``napari_mend.synthesis.corpus_images('val')``.
    """
    planes = [(n, as_plane(im)) for n, im in corpus_images("val") if min(im.shape[:2]) >= min_side]
    if colour:
        planes = [(n, np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im) for n, im in planes]
    return planes


def add_independent_options(parser, count_option: str, *, default: int, help: str) -> None:
    """Add an evaluation's independent-column options to an ``argparse`` parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The evaluation's parser.
    count_option : str
        Option giving how many independent samples (0: none), e.g.
        ``'--independent-per-class'``.
    default : int
        Its default.
    help : str
        Its help text.

    Notes
    -----
    Also adds ``--independent-size`` (px, default 256) and
    ``--independent-seed`` (default :data:`INDEPENDENT_SEED`).
    """
    parser.add_argument(count_option, type=int, default=default, help=help)
    parser.add_argument("--independent-size", type=int, default=256)
    parser.add_argument("--independent-seed", type=int, default=INDEPENDENT_SEED)
