"""Per-pixel features for teaching by example: the base detector's own features and filter banks.

Each pixel of a plane gets a vector of:

* **classical filter banks** of the plane's gray intensity (the mean of its colour
  channels), normalised by the plane's robust range
  (:func:`napari_mend.detection.learned.intensity_range`, the same 0.5 / 99.5
  percentiles the network sees, so uint8, uint16 and float images of any range
  look alike): :func:`skimage.feature.multiscale_basic_features` (Gaussian
  intensity, gradient magnitude and the two Hessian eigenvalues at
  :attr:`FeatureSettings.sigmas`) and white and black top-hats
  (disks of :attr:`FeatureSettings.tophat_radii`),
  which pick out thin bright or dark structures narrower than the disk, such as
  scratches and dust; for colour planes also each channel's Gaussian
  (sigma 1) minus the gray one, so coloured ink and stains stand out;
* **the base detector network's features** (when :attr:`FeatureSettings.network`):
  its 6 calibrated per-class scores, by default exactly as the detector scores the
  plane (:attr:`FeatureSettings.network_scoring`), and, with ``network_features='all'``, the 16
  channels its head reads (the decoder's last, full-resolution activations,
  which merge every scale of the U-Net), computed on the plane shrunk by
  :attr:`FeatureSettings.network_factor` (area mean) for speed and enlarged back
  bilinearly. They are read with a forward hook on the network's head: the
  shipped weights are used as they are.

Everything here is pure compute (NumPy, SciPy, scikit-image, torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np
from scipy import ndimage as ndi

from ..classes import SCORED_CLASSES
from ..detection.learned import (
    _prepare,
    calibration_offsets,
    intensity_range,
    learned_scores,
    network_input,
)
from ..models.device import inference_autocast
from ..models.networks import get_network as get_model
from ..threads import opencv, run_side_by_side
from ..tiling import Downscaled, tiled_map

HIDDEN_FEATURES = 16
"""Channels of the base network's head input (its decoder's last activations)."""
SCORE_FEATURES = 6
"""The base network's calibrated per-class scores."""
NETWORK_FEATURES = HIDDEN_FEATURES + SCORE_FEATURES
"""Channels taken from the base network with ``network_features='all'``."""
NETWORK_CHOICES = ("scores", "all")
"""What :attr:`FeatureSettings.network_features` may be."""
TOPHAT_SHAPES = ("disk", "square", "disk-sequence")
"""What :attr:`FeatureSettings.tophat_shape` may be."""
SCORINGS = ("detector", "plain")
"""What :attr:`FeatureSettings.network_scoring` may be."""
MIN_NETWORK_SIDE = 64
"""The network runs at full resolution on planes whose shrunk side would be shorter."""
MAX_SIGMAS = 8
MAX_RADII = 8


@dataclass(frozen=True)
class FeatureSettings:
    """What :func:`pixel_features` computes; recorded in a taught model's card.

    Attributes
    ----------
    sigmas : tuple of float
        Scales of :func:`skimage.feature.multiscale_basic_features`.
    tophat_radii : tuple of int
        Disk radii of the white and black top-hats.
    network : bool
        Add the base detector network's features.
    network_factor : int
        The network sees the plane shrunk by this factor (1, 2 or 4).
    base_model : str
        Name of the detector model whose features are used.
    network_features : {'scores', 'all'}
        Which of the network's features: its 6 calibrated class scores
        (``'scores'``, the default: what the network knows, in 6 numbers a
        forest fitted on a few strokes cannot overfit as easily), or also the 16
        channels its head reads (``'all'``; files written before this setting
        existed mean ``'all'``).
    tophat_shape : {'disk', 'square', 'disk-sequence'}
        Footprint of the top-hats: disks of radius ``r`` (the default; exact, as a
        sequence of small crosses, :func:`skimage.morphology.disk` ``decomposition=
        'crosses'``), squares of side ``2 r + 1`` (separable) or the approximate disks of
        ``decomposition='sequence'`` (what files written before this setting existed
        use).
    network_scoring : {'detector', 'plain', None}
        How the network's 6 scores are computed: ``'detector'``, exactly as the
        detector scores a plane (:func:`napari_mend.detection.learned.learned_scores`:
        the tiles its card names, 256 px, its coarse passes for blotches and
        text, the spectral check of moire), so a model taught ``from_base``
        starts from the decisions the curator saw; or ``'plain'``, one pass in
        tiles of up to 1024 px (what files written before this setting existed
        use; the only way with ``network_features='all'`` or a
        ``network_factor`` above 1). None (the default): ``'detector'`` where
        it applies, else ``'plain'``.
    """

    sigmas: tuple = (1.0, 2.0, 4.0, 8.0)
    tophat_radii: tuple = (2, 4, 8)
    network: bool = True
    network_factor: int = 1
    base_model: str = "detector"
    network_features: str = "scores"
    tophat_shape: str = "disk"
    network_scoring: str | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        object.__setattr__(self, "tophat_radii", tuple(int(r) for r in self.tophat_radii))
        if self.network_scoring is None:
            detector = self.network_features == "scores" and self.network_factor == 1
            object.__setattr__(self, "network_scoring", "detector" if detector else "plain")
        check_settings(self)

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("extra")
        out["sigmas"], out["tophat_radii"] = list(self.sigmas), list(self.tophat_radii)
        return out

    @classmethod
    def from_json(cls, data) -> "FeatureSettings":
        """Settings from a card's ``features`` entry; ValueError if anything is off."""
        if not isinstance(data, dict):
            raise ValueError("feature settings are not a mapping")
        known = {"sigmas", "tophat_radii", "network", "network_factor", "base_model"}
        optional = {"network_features", "tophat_shape", "network_scoring"}  # absent from older files
        if not known <= set(data) <= known | optional:
            raise ValueError(f"feature settings must have exactly the keys {sorted(known)} "
                             f"and optionally {sorted(optional)}")
        which = data.get("network_features", "all")  # older files: all 22 network features
        if not isinstance(which, str) or which not in NETWORK_CHOICES:
            raise ValueError(f"network_features must be one of {NETWORK_CHOICES}")
        shape = data.get("tophat_shape", "disk-sequence")  # older files
        if not isinstance(shape, str) or shape not in TOPHAT_SHAPES:
            raise ValueError(f"tophat_shape must be one of {TOPHAT_SHAPES}")
        scoring = data.get("network_scoring", "plain")  # older files
        if not isinstance(scoring, str) or scoring not in SCORINGS:
            raise ValueError(f"network_scoring must be one of {SCORINGS}")
        sigmas, radii = data["sigmas"], data["tophat_radii"]
        if not (isinstance(sigmas, list) and isinstance(radii, list)
                and all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in sigmas)
                and all(isinstance(r, int) and not isinstance(r, bool) for r in radii)
                and isinstance(data["network"], bool)
                and isinstance(data["network_factor"], int)
                and not isinstance(data["network_factor"], bool)
                and isinstance(data["base_model"], str)):
            raise ValueError("feature settings have values of the wrong types")
        return cls(sigmas=tuple(sigmas), tophat_radii=tuple(radii), network=data["network"],
                   network_factor=data["network_factor"], base_model=data["base_model"],
                   network_features=which, tophat_shape=shape, network_scoring=scoring)

    def replace(self, **changes) -> "FeatureSettings":
        """These settings with ``changes`` (the network's scoring chosen anew when its features
        or factor change and it is not given)."""
        if {"network_features", "network_factor"} & set(changes):
            changes.setdefault("network_scoring", None)
        return replace(self, **changes)

    def n_features(self, n_color: int) -> int:
        """Length of a pixel's feature vector for planes of ``n_color`` channels (1 or 3)."""
        return len(feature_names(self, n_color))


def check_settings(settings: FeatureSettings) -> None:
    """ValueError unless the settings are bounded (they may come from a hostile file)."""
    s = settings
    if not 1 <= len(s.sigmas) <= MAX_SIGMAS or not all(0.3 <= v <= 64 for v in s.sigmas):
        raise ValueError(f"sigmas must be 1 to {MAX_SIGMAS} values in [0.3, 64], got {s.sigmas}")
    if len(s.tophat_radii) > MAX_RADII or not all(1 <= r <= 50 for r in s.tophat_radii):
        raise ValueError(f"tophat_radii must be at most {MAX_RADII} integers in [1, 50], "
                         f"got {s.tophat_radii}")
    if s.network_factor not in (1, 2, 4):
        raise ValueError(f"network_factor must be 1, 2 or 4, got {s.network_factor}")
    if not isinstance(s.base_model, str) or not 0 < len(s.base_model) <= 4096:
        raise ValueError("base_model must be a model name or path")
    if s.tophat_shape not in TOPHAT_SHAPES:
        raise ValueError(f"tophat_shape must be one of {TOPHAT_SHAPES}, "
                         f"got {str(s.tophat_shape)[:40]!r}")
    if s.network_features not in NETWORK_CHOICES:
        raise ValueError(f"network_features must be one of {NETWORK_CHOICES}, "
                         f"got {str(s.network_features)[:40]!r}")
    if s.network_scoring not in SCORINGS:
        raise ValueError(f"network_scoring must be one of {SCORINGS}, "
                         f"got {str(s.network_scoring)[:40]!r}")
    if s.network_scoring == "detector" and (s.network_features != "scores"
                                            or s.network_factor != 1):
        raise ValueError("network_scoring='detector' gives the detector's 6 scores at full "
                         "resolution: use it with network_features='scores' and "
                         "network_factor=1, or choose network_scoring='plain'")


def feature_names(settings: FeatureSettings, n_color: int) -> list[str]:
    """Names of the features :func:`pixel_features` returns, in order."""
    names = []
    for s in settings.sigmas:  # multiscale_basic_features: per sigma intensity, edges, texture
        names += [f"gauss_{s:g}", f"edges_{s:g}", f"hessian1_{s:g}", f"hessian2_{s:g}"]
    for r in settings.tophat_radii:
        names += [f"white_tophat_{r}", f"black_tophat_{r}"]
    if n_color == 3:
        names += ["chroma_r", "chroma_g", "chroma_b"]
    if settings.network:
        if settings.network_features == "all":
            names += [f"net_{k}" for k in range(HIDDEN_FEATURES)]

        names += [f"net_score_{c}" for c in SCORED_CLASSES.values()]
    return names


def normalised_gray(raw_plane: np.ndarray, intensity=None) -> tuple[np.ndarray, tuple]:
    """Gray float32 ``(M, N)`` of a raw ``(M, N, C)`` plane mapped so its robust range is [0, 1]."""
    low, high = intensity_range(raw_plane) if intensity is None else intensity
    gray = np.asarray(raw_plane, np.float32).mean(axis=-1, dtype=np.float32)
    scale = np.float32(1.0 / (high - low)) if high > low else np.float32(0.0)
    gray -= np.float32(low)
    gray *= scale
    np.clip(gray, -1.0, 2.0, out=gray)
    return gray, (low, high)


def pixel_features(raw_plane: np.ndarray, settings: FeatureSettings, *, intensity=None,
                   only=None, network_scores=None, progress=None) -> np.ndarray:
    """Feature vector of every pixel of one plane.

    Parameters
    ----------
    raw_plane : (M, N, C) ndarray
        One plane in its own dtype and values, C = 1 (gray) or 3 (RGB), as
        :meth:`napari_mend._validation.PlaneView.raw_plane` gives it.
    settings : FeatureSettings
    intensity : (float, float), optional
        ``(low, high)`` mapped to 0 and 1; default the plane's own robust range
        (a crop of a larger plane passes the whole plane's).
    only : collection of int, optional
        Indices of the features wanted (default all). A filter group (one sigma,
        one top-hat radius, the colour differences, the network) none of whose
        features is wanted is not computed and its features are 0: a taught
        model computes only what its trees read.
    network_scores : (6, M, N) ndarray, optional
        The network's scores of this plane, computed beforehand (a crop's share of the
        whole plane's, which the detector's scoring depends on); with
        ``network_features='scores'`` only.
    progress : callable, optional
        ``progress(done, total)``; may raise :class:`napari_mend.Cancelled`.

    Returns
    -------
    features : (F, M, N) float32 ndarray
        F = ``settings.n_features(C)`` planes, in :func:`feature_names` order (one
        contiguous plane per feature: each filter writes its own, and a classifier
        reads blocks of pixels transposed to rows, :func:`feature_rows`).
    """

    raw_plane = np.asarray(raw_plane)
    if raw_plane.ndim != 3 or raw_plane.shape[-1] not in (1, 3) or 0 in raw_plane.shape:
        raise ValueError(f"expected a non-empty (M, N, 1) or (M, N, 3) plane, got "
                         f"{raw_plane.shape}")
    n_color = raw_plane.shape[-1]
    n_features = settings.n_features(n_color)
    height, width = raw_plane.shape[:2]
    out = np.empty((n_features, height, width), np.float32)
    gray, intensity = normalised_gray(raw_plane, intensity)
    # each filter group writes its own channels of ``out``; SciPy's filters release the GIL,
    # so the groups run side by side on the configured threads
    groups, k = [], 0  # (first feature, number of features, task writing them)
    for s in settings.sigmas:  # per sigma: Gaussian, its gradient, its two Hessian eigenvalues
        groups.append((k, 4, _gaussian_task(gray, s, out, k)))
        k += 4
    for r in settings.tophat_radii:
        groups.append((k, 2, _tophat_task(gray, r, settings.tophat_shape, out, k)))
        k += 2
    if n_color == 3:
        groups.append((k, 3, _chroma_task(raw_plane, gray, intensity, out, k)))
        k += 3
    if settings.network:  # first: the longest task (torch runs it on its own threads)
        n_network = SCORE_FEATURES + HIDDEN_FEATURES * (settings.network_features == "all")
        if network_scores is not None:
            if n_network != SCORE_FEATURES or network_scores.shape != (n_network, height, width):
                raise ValueError(f"network_scores must be the {SCORE_FEATURES} scores of the "
                                 f"plane, ({SCORE_FEATURES}, {height}, {width}), with "
                                 "network_features='scores'")
            task = partial(np.copyto, out[k:k + n_network], network_scores)
        else:
            task = _network_task(raw_plane, settings, intensity, out, k)
        groups.insert(0, (k, n_network, task))
        k += n_network
    assert k == n_features
    wanted = np.ones(n_features, bool)
    if only is not None:
        wanted[:] = False
        wanted[list(only)] = True
    tasks = []
    for first, count, task in groups:
        if wanted[first:first + count].any():
            tasks.append(task)
        else:  # not read: not computed
            out[first:first + count] = 0
    run_side_by_side(tasks, progress=progress,
                     workers=None if height * width >= PARALLEL_PIXELS else 1)
    return out

PARALLEL_PIXELS = 1 << 16
"""Planes of at least this many pixels compute their filter groups on several threads."""


def feature_rows(features: np.ndarray, rows: slice) -> np.ndarray:
    """The feature vectors ``(P, F)`` of the pixels of ``rows`` of the planes ``features``
    ``(F, M, N)`` (:func:`pixel_features`), C-contiguous as scikit-learn reads them."""
    block = features[:, rows]
    return np.ascontiguousarray(block.reshape(block.shape[0], -1).T)


def _gaussian_task(gray, sigma, out, k):
    """Writes the features of :func:`skimage.feature.multiscale_basic_features` at ``sigma``
    (Gaussian, its Sobel gradient, its two Hessian eigenvalues) into ``out[k:k + 4]``.

    Made of the public filters that function applies, in its order, so the values are its
    own to the bit (tested); each is written straight into its plane, where the function
    stacks them along a last axis and a Hessian's first derivatives are computed once, not
    once per second derivative."""
    def task():
        from skimage.feature import hessian_matrix_eigvals  # deferred: slow to import, only this path
        from skimage.filters import gaussian, sobel  # deferred: as above

        scale = np.power(2.0, np.log2(sigma))  # the function's sigma: through log2 and back
        smooth = out[k]
        smooth[...] = gaussian(gray, sigma=scale, preserve_range=False)
        out[k + 1] = sobel(smooth)
        d_row, d_col = np.gradient(smooth)
        out[k + 2:k + 4] = hessian_matrix_eigvals(
            [np.gradient(d_row, axis=0), np.gradient(d_row, axis=1), np.gradient(d_col, axis=1)])
    return task


def _tophat_task(gray, radius, shape, out, k):
    """Writes the white and black top-hats (:attr:`FeatureSettings.tophat_shape` of
    ``radius``) into ``out[k:k + 2]``."""
    def task():
        if shape == "square":  # separable minimum and maximum filters
            side = (2 * radius + 1,) * 2
            np.subtract(gray, ndi.grey_opening(gray, size=side), out=out[k])
            np.subtract(ndi.grey_closing(gray, size=side), gray, out=out[k + 1])
            return
        from skimage.morphology import (  # deferred: slow to import, only this path
            black_tophat,
            disk,
            footprint_from_sequence,
            white_tophat,
        )

        footprint = disk(radius, decomposition="crosses" if shape == "disk" else "sequence")
        cv2 = opencv() if shape == "disk" else None
        if cv2 is not None:
            # one pass with the footprint the crosses compose: the same values (tested), 5 to 10
            # times faster (the approximate disks of 'sequence' do not compose exactly)
            footprint = footprint_from_sequence(footprint).astype(np.uint8)
            np.subtract(gray, cv2.morphologyEx(gray, cv2.MORPH_OPEN, footprint), out=out[k])
            np.subtract(cv2.morphologyEx(gray, cv2.MORPH_CLOSE, footprint), gray,
                        out=out[k + 1])
            return
        white_tophat(gray, footprint, out=out[k])
        black_tophat(gray, footprint, out=out[k + 1])
    return task


def _network_task(raw_plane, settings, intensity, out, k):
    """Writes :func:`network_features` into ``out[k:]``."""
    def task():
        count = NETWORK_FEATURES if settings.network_features == "all" else SCORE_FEATURES
        network_features(raw_plane, settings, intensity=intensity, out=out[k:k + count])
    return task


def _chroma_task(raw_plane, gray, intensity, out, k):
    """Writes each colour channel's Gaussian (sigma 1) minus the gray one into
    ``out[k:k + 3]``."""
    def task():
        low, high = intensity
        scale = np.float32(1.0 / (high - low)) if high > low else np.float32(0.0)
        smooth_gray = ndi.gaussian_filter(gray, 1.0)
        for c in range(3):
            channel = (np.asarray(raw_plane[..., c], np.float32) - np.float32(low)) * scale
            np.subtract(ndi.gaussian_filter(np.clip(channel, -1, 2), 1.0), smooth_gray,
                        out=out[k + c])
    return task


def base_model_card(settings: FeatureSettings) -> dict | None:
    """The base detector's card (None without network features)."""
    if not settings.network:
        return None

    return get_model(settings.base_model).card


def network_features(raw_plane: np.ndarray, settings: FeatureSettings, *,
                     intensity=None, out=None, tile: int = 1024, overlap: int = 32) -> np.ndarray:
    """The base network's head input (16, with ``network_features='all'``) and calibrated
    scores (6) at every pixel.

    With ``settings.network_scoring == 'detector'`` the scores are the detector's own
    (:func:`napari_mend.detection.learned.learned_scores`); with ``'plain'`` one pass of the
    network in tiles of up to ``tile`` px overlapping by ``overlap``.

    Returns
    -------
    features : (22 or 6, M, N) float32 ndarray
        ``out`` if it was given.
    """
    if settings.network_scoring == "detector":
        return learned_scores(raw_plane, model=settings.base_model, intensity=intensity,
                              out=out)
    import torch  # deferred: torch is heavy; loaded only when a network runs

    loaded = get_model(settings.base_model)
    net = _prepare(loaded)
    height, width = raw_plane.shape[:2]
    low, high = intensity_range(raw_plane) if intensity is None else intensity
    hidden = settings.network_features == "all"
    channels = NETWORK_FEATURES if hidden else SCORE_FEATURES
    if not high > low:
        return np.zeros((channels, height, width), np.float32)
    factor = settings.network_factor
    if min(height, width) // factor < MIN_NETWORK_SIDE:
        factor = 1
    source = raw_plane if factor == 1 else Downscaled(raw_plane, factor)
    offsets = torch.from_numpy(calibration_offsets(loaded.card)).to(loaded.device)[:, None, None]
    captured = {}

    def hook(module, inputs):
        captured["x"] = inputs[0]

    def features_of(piece):
        x = torch.from_numpy(network_input(piece, low, high))[None].to(loaded.device)
        with torch.inference_mode(), inference_autocast(loaded):
            logits = net(x.contiguous(memory_format=torch.channels_last))[0].float()
            scores = torch.sigmoid(logits - offsets)
            if not hidden:
                return scores.cpu().numpy()
            return torch.cat([captured["x"][0].float(), scores]).cpu().numpy()

    side = min(tile, max(source.shape[:2]))
    side = max(net.multiple, -(-side // net.multiple) * net.multiple)
    handle = net.head.register_forward_pre_hook(hook)
    try:
        small = tiled_map(source, features_of, out_channels=channels, tile=side,
                          overlap=min(overlap, side // 4), multiple=net.multiple)
    finally:
        handle.remove()
    features = small if factor == 1 else enlarge(small, factor, (height, width))
    if out is None:
        return features
    out[...] = features
    return out


def enlarge(small: np.ndarray, factor: int, shape: tuple) -> np.ndarray:
    """``(K, m, n)`` enlarged bilinearly by ``factor`` (pixel centres aligned) to ``(K,) + shape``;
    rows and columns beyond ``m * factor`` / ``n * factor`` repeat the edge."""
    import torch  # deferred: torch is heavy; loaded only when a network runs

    big = torch.nn.functional.interpolate(torch.from_numpy(np.ascontiguousarray(small))[None],
                                          scale_factor=factor, mode="bilinear",
                                          align_corners=False)[0].numpy()
    height, width = shape
    pad = ((0, 0), (0, max(0, height - big.shape[1])), (0, max(0, width - big.shape[2])))
    return np.pad(big, pad, mode="edge")[:, :height, :width]
