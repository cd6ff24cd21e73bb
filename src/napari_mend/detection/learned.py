"""Learned defect detector: tiled inference of a :class:`~napari_mend.models.detector_net.DetectorUNet`.

The network sees images normalised by their own 0.5 / 99.5 percentiles, so
8-bit, 16-bit and float images of any range (elevations, intensities) look
alike to it. Its raw per-class probabilities are calibrated with the
per-class thresholds stored in the model card (chosen on validation images):
``score = sigmoid(logit(p) - logit(t_c))``, which maps each threshold
``t_c`` to 0.5 and keeps the order of the scores.

Defects are synthesized on training crops at the crops' scale, so on a
whole image large burned-in text and stains can be bigger than anything the
network saw. The card's ``inference`` settings may name ``coarse_passes``,
pairs ``[factor, classes]`` (or, in older cards, the one pass
``coarse_factor`` with ``coarse_classes``): those classes are also scored on
the plane shrunk by the factor (area means) when its shorter side stays at
least ``coarse_min_side``, and each pixel keeps the highest of the scores.

With ``moire_check: 'spectral'`` the moire scores are kept only where the
image's spectrum shows a periodic pattern
(:func:`napari_mend.detection.moire_check.spectral_moire_check`).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ..classes import N_SCORED, SCORED_CLASSES
from ..models.device import inference_autocast
from ..models.networks import get_network as get_model
from ..progress import scaled
from ..tiling import Downscaled, max_upsampled, tiled_map
from .moire_check import spectral_moire_check

DEFAULT_TILE = 256
DEFAULT_OVERLAP = 32
_SAMPLE_PIXELS = 1 << 20
_PREPARED: set[int] = set()
_PREPARE_LOCK = threading.Lock()


def intensity_range(plane: np.ndarray) -> tuple[float, float]:
    """Robust (low, high) intensity of a plane: its 0.5 and 99.5 percentiles.

    Large planes are subsampled on a regular grid. When the percentiles
    coincide (a flat image with a few outliers, e.g. one thin scratch on a
    uniform background) the minimum and maximum are used instead.

    Parameters
    ----------
    plane : (M, N, C) ndarray
        Image plane, any value range.

    Returns
    -------
    low, high : float
        ``low == high`` only for a constant plane.
    """
    step = max(1, math.ceil(math.sqrt(plane.shape[0] * plane.shape[1] / _SAMPLE_PIXELS)))
    sample = np.asarray(plane[::step, ::step], np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 0.0
    low, high = np.percentile(sample, [0.5, 99.5])
    if not high > low:
        low, high = float(sample.min()), float(sample.max())
    return float(low), float(high)


def network_input(tile: np.ndarray, low: float, high: float) -> np.ndarray:
    """Normalise an (h, w, C) tile to the network's (3, h, w) float32 input.

    ``low`` maps to -1 and ``high`` to +1; values beyond are clipped at +-2;
    gray tiles are replicated to three channels; non-finite values become 0.
    """
    scale = 2.0 / (high - low) if high > low else 0.0
    x = (np.asarray(tile, np.float32) - np.float32(low)) * np.float32(scale) - np.float32(1.0)
    x = np.clip(np.nan_to_num(x, nan=0.0, posinf=2.0, neginf=-2.0), -2.0, 2.0)
    x = np.moveaxis(x, -1, 0)
    if x.shape[0] == 1:
        x = np.repeat(x, 3, axis=0)
    return np.ascontiguousarray(x)


def calibration_offsets(card: dict) -> np.ndarray:
    """Per-class logit offsets ``logit(t_c)`` from the card's ``thresholds`` (0 if absent)."""
    thresholds = card.get("thresholds", {})
    t = np.array([thresholds.get(name, 0.5) for name in SCORED_CLASSES.values()], np.float64)
    t = np.clip(t, 1e-4, 1 - 1e-4)
    return np.log(t / (1 - t)).astype(np.float32)


def _prepare(loaded):
    """Fold batch norms and switch to channels-last once per loaded model."""
    import torch  # deferred: torch is heavy; loaded only when a network runs

    with _PREPARE_LOCK:
        if id(loaded.module) not in _PREPARED:
            loaded.module.fuse()
            loaded.module.to(memory_format=torch.channels_last)  # the fused weights are new
            _PREPARED.add(id(loaded.module))
    return loaded.module


MAX_TILE = 1024
"""Largest tile side a card may ask for (the network's input is a tile, padded)."""
MAX_COARSE_PASSES = 4
MAX_COARSE_FACTOR = 16


def _card_error(what: str, value) -> ValueError:
    return ValueError(f"{what}, not {value!r}; fix it in the model card's 'inference' settings")


def _whole(value, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _card_error(f"{what} must be a whole number from {low} to {high}", value)
    return value


def coarse_passes(settings: dict) -> list[tuple[int, list[str]]]:
    """The coarse passes a card's ``inference`` settings name, as ``(factor, classes)``:
    ``coarse_passes``, else the one pass ``coarse_factor`` (default 2) with
    ``coarse_classes``; passes without classes are dropped.

    Raises
    ------
    ValueError
        If there are more than :data:`MAX_COARSE_PASSES` passes, a factor is not a whole
        number from 2 to :data:`MAX_COARSE_FACTOR`, or a class is not a scored class name.
    """
    passes = settings.get("coarse_passes")
    if passes is None:
        passes = [(settings.get("coarse_factor", 2), settings.get("coarse_classes", ()))]
    if not isinstance(passes, (list, tuple)) or len(passes) > MAX_COARSE_PASSES:
        raise _card_error(f"coarse_passes must be a list of at most {MAX_COARSE_PASSES} "
                          "[factor, classes] pairs", passes)
    out = []
    for entry in passes:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise _card_error("each coarse pass must be a [factor, classes] pair", entry)
        factor, classes = entry
        factor = _whole(factor, 2, MAX_COARSE_FACTOR, "a coarse pass's factor")
        if not isinstance(classes, (list, tuple)) or not all(
                isinstance(c, str) and c in SCORED_CLASSES.values() for c in classes):
            raise _card_error("a coarse pass's classes must be a list of the names "
                              f"{list(SCORED_CLASSES.values())}", classes)
        if classes:
            out.append((factor, list(dict.fromkeys(classes))))
    return out


def inference_settings(card: dict) -> dict:
    """The tiling of a detector card's ``inference`` settings, checked: ``tile``,
    ``overlap``, ``coarse_min_side`` (whole numbers) and ``coarse_passes``
    (:func:`coarse_passes`). A card is data a user may have been sent: no size it declares
    is used unchecked.

    Raises
    ------
    ValueError
        Naming the setting to fix: ``tile`` outside 32 to :data:`MAX_TILE`, ``overlap``
        outside 0 to a quarter of the tile, ``coarse_min_side`` outside 1 to
        :data:`MAX_TILE`, or bad coarse passes.
    """
    settings = card.get("inference", {})
    if not isinstance(settings, dict):
        raise _card_error("'inference' must be a mapping", settings)
    tile = _whole(settings.get("tile", DEFAULT_TILE), 32, MAX_TILE, "tile")
    return {"tile": tile,
            "overlap": _whole(settings.get("overlap", DEFAULT_OVERLAP), 0, tile // 4, "overlap"),
            "coarse_min_side": _whole(settings.get("coarse_min_side", tile), 1, MAX_TILE,
                                      "coarse_min_side"),
            "coarse_passes": coarse_passes(settings)}


def learned_scores(image: np.ndarray, *, model: str = "detector", progress=None,
                   out: np.ndarray | None = None, intensity=None) -> np.ndarray:
    """Per-class defect scores of one image plane from a learned detector.

    Parameters
    ----------
    image : (M, N, C) ndarray
        Plane with C = 1 (gray) or 3 (RGB), any real dtype and value range
        (alpha must already be dropped); tiles are converted to float32 one
        at a time. Any size: large planes are tiled with
        overlap and blended, planes smaller than a tile are padded
        (:func:`napari_mend.tiling.pad_to_tile`) and cropped back.
    model : str, optional
        Detector model name or path (see :func:`napari_mend.models.get_model`).
    progress : callable, optional
        ``progress(done, total)`` called after every tile.
    out : (6, M, N) float ndarray, optional
        Array to write the scores into, e.g. float16 to halve the memory of
        a large image's scores.
    intensity : (float, float), optional
        ``(low, high)`` values mapped to the network's input range; default
        the plane's own robust range (:func:`intensity_range`). Blocks of a
        larger image pass the whole image's range so they score alike.

    Returns
    -------
    scores : (6, M, N) float32 ndarray
        Calibrated scores in ``[0, 1]`` in
        :data:`~napari_mend.classes.DEFECT_CLASSES` order; 0.5 is each
        class's operating point. A constant image scores 0 everywhere.
        ``out`` if it was given.

    Raises
    ------
    ValueError
        If ``image`` is not an (M, N, 1) or (M, N, 3) array.
    napari_mend.models.ModelError
        If the model is unknown, missing or corrupt.
    """
    import torch  # deferred: torch is heavy; loaded only when a network runs

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] not in (1, 3) or 0 in image.shape:
        raise ValueError(f"expected a non-empty (M, N, 1) or (M, N, 3) plane, got {image.shape}")
    loaded = get_model(model)
    net = _prepare(loaded)
    n_classes = N_SCORED
    low, high = intensity_range(image) if intensity is None else (float(v) for v in intensity)
    if not high > low:
        if progress is not None:
            progress(1, 1)
        if out is None:
            return np.zeros((n_classes,) + image.shape[:2], np.float32)
        out[...] = 0
        return out
    offsets = torch.from_numpy(calibration_offsets(loaded.card)).to(loaded.device)[:, None, None]
    settings = loaded.card.get("inference", {})
    tiling = inference_settings(loaded.card)
    tile, overlap = tiling["tile"], tiling["overlap"]
    names = list(SCORED_CLASSES.values())
    # the shrunk planes that stay large enough, each scored for its own classes
    passes = [(factor, [names.index(c) for c in classes])
              for factor, classes in tiling["coarse_passes"]
              if min(image.shape[:2]) // factor >= tiling["coarse_min_side"]]

    def score_tile(piece, channels=slice(None)):
        x = torch.from_numpy(network_input(piece, low, high))[None].to(loaded.device)
        with torch.inference_mode():
            with inference_autocast(loaded):
                logits = net(x.contiguous(memory_format=torch.channels_last))[0]
            return torch.sigmoid(logits[channels].float() - offsets[channels]).cpu().numpy()

    # progress shares: the full plane 1, a plane shrunk by f 1 / f**2 (its share of the tiles)
    weights = [1.0] + [1.0 / (factor * factor) for factor, _ in passes]
    done = np.concatenate([[0.0], np.cumsum(weights)]) * 1000 / sum(weights)
    out = tiled_map(image, score_tile, out_channels=n_classes, tile=tile, overlap=overlap,
                    multiple=net.multiple, out=out,
                    progress=scaled(progress, 0, 1000, span=int(done[1])) if passes
                    else progress)
    for k, (factor, coarse) in enumerate(passes, start=1):
        small = Downscaled(image, factor)
        small_scores = tiled_map(small, lambda piece, coarse=coarse: score_tile(piece, coarse),
                                 out_channels=len(coarse), tile=tile, overlap=overlap,
                                 multiple=net.multiple,
                                 progress=scaled(progress, int(done[k]), 1000,
                                                 span=int(done[k + 1]) - int(done[k])),
                                 out=np.empty((len(coarse),) + small.shape[:2], np.float16))
        for j, c in enumerate(coarse):
            max_upsampled(out[c:c + 1], small_scores[j:j + 1], factor)
        del small_scores
    if settings.get("moire_check") == "spectral":
        spectral_moire_check(out[names.index("moire")], image)
    return out
