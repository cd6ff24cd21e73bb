"""Moire in the frequency domain: find periodic peaks, report them, notch them out.

Moire is a periodic pattern laid over the image (multiplicatively: a screen
grid or a halftone modulates the brightness), so it is additive in the log
of the image and shows as sharp peaks in the spectrum, far above the smooth
fall-off of natural image content. The plane is analysed in overlapping
windows (a short-time Fourier transform, 64 px windows, half overlap,
sine windows for analysis and synthesis so the windows sum to one):

1. *Detection*: the windows' power spectra are averaged (Welch) and compared
   with their local median over neighbouring frequencies; frequencies that
   stand ``PEAK_RATIO`` times above it, away from the lowest frequencies
   (which are image content), are moire candidates.
2. *Notch*: in every window, the bins at and around a candidate that stand
   out of that window's own background are brought down to the background
   level (their phase kept). Windows without the peak are left alone, so
   the filter follows the pattern where it is and adapts its width to how
   much the pattern's frequency drifts (a warped screen).

Pixels no window changed come back exactly as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

TILE = 64
HOP = TILE // 2
MIN_FREQUENCY = 0.05
"""Frequencies below this (cycles/px) are image content, never notched."""
PEAK_RATIO = 12.0
"""How far above the local spectral background a Welch peak must stand."""
SCREEN_RATIO = 10.0
"""Peak level of the quick screen (:func:`has_peaks`), below ``PEAK_RATIO``: of 40
synthesized patterns over validation images, those the full analysis found stood at
least 11.5 on the screen, those it did not at most 10.5."""
LOCAL_RATIO = 4.0
"""How far above its window's background a bin must stand to be notched."""
LOG_OFFSET = 0.05
REGION_SIGMA = 6.0
REGION_LEVEL = 0.006
"""The notch is kept where the local RMS of what it removes (log units, over
``REGION_SIGMA`` px) exceeds ``REGION_LEVEL`` (fully from twice that), and
where the image itself holds the removed pattern (the local projection of the
image on it is at least a quarter, fully from three quarters)."""
"""The analysis works on ``log(x + LOG_OFFSET)`` of the unit-range image."""


@dataclass
class MoireReport:
    """What the frequency analysis found.

    Attributes
    ----------
    peaks : list of dict
        One per spectral peak: ``frequency`` ``(fy, fx)`` in cycles/px,
        ``period_px``, ``angle_deg`` (of the fringes' normal, from the x axis),
        ``strength`` (peak power over the background) and ``channel``.
    region : (M, N) bool ndarray
        Where the pattern was found (and, after a notch, removed).
    """

    peaks: list = field(default_factory=list)
    region: np.ndarray | None = None

    @property
    def found(self) -> bool:
        return bool(self.peaks)

    def as_dict(self) -> dict:
        """JSON-ready summary (the region as its pixel count and bounding box)."""
        region = self.region if self.region is not None else np.zeros((0, 0), bool)
        rows, cols = np.nonzero(region)
        bbox = ([int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1]
                if rows.size else None)
        return {"found": self.found, "peaks": self.peaks,
                "region_pixels": int(region.sum()), "region_bbox": bbox}


def _window() -> np.ndarray:
    w = np.sin(np.pi * (np.arange(TILE) + 0.5) / TILE)
    return np.outer(w, w).astype(np.float32)


def _log_unit(plane: np.ndarray) -> tuple[np.ndarray, float, float]:
    lo, hi = np.percentile(plane, (0.1, 99.9))
    scale = float(hi - lo) if hi > lo else 1.0
    return np.log(np.clip((plane - lo) / scale, 0, None) + LOG_OFFSET), float(lo), scale


def _tiles(channel: np.ndarray):
    """Windowed tiles ``(n, TILE, TILE)`` of a reflect-padded channel, and the padding."""
    m, n = channel.shape
    pm = (-(m + 2 * HOP) % HOP)
    pn = (-(n + 2 * HOP) % HOP)
    padded = np.pad(channel, ((HOP, HOP + pm), (HOP, HOP + pn)), mode="reflect")
    view = np.lib.stride_tricks.sliding_window_view(padded, (TILE, TILE))[::HOP, ::HOP]
    return view, padded.shape


def _spectra(channel: np.ndarray):
    """Windowed spectra ``(ny, nx, TILE, TILE // 2 + 1)`` and their power, and the padded shape.

    Computed a row of windows at a time, so no temporary the size of all the
    windows is made.
    """
    view, shape = _tiles(channel)
    window = _window()
    spec = np.empty(view.shape[:2] + (TILE, TILE // 2 + 1), np.complex128)
    power = np.empty(spec.shape, np.float64)
    for i in range(view.shape[0]):
        spec[i] = np.fft.rfft2(view[i] * window, axes=(-2, -1))
        power[i] = np.abs(spec[i]) ** 2
    return spec, power, shape


def _frequency_radius() -> np.ndarray:
    fy = np.fft.fftfreq(TILE)[:, None]
    fx = np.fft.rfftfreq(TILE)[None, :]
    return np.hypot(fy, fx)


def _background(power: np.ndarray) -> np.ndarray:
    """Smooth spectral background: local median over 7x7 bins (wrapping in fy), as a mean."""
    lead = [(0, 0)] * (power.ndim - 2)
    padded = np.pad(power, lead + [(3, 3), (0, 0)], mode="wrap")
    padded = np.pad(padded, lead + [(0, 0), (3, 3)], mode="edge")
    size = (1,) * (power.ndim - 2) + (7, 7)
    med = ndi.median_filter(padded, size=size, mode="nearest")[..., 3:-3, 3:-3]
    return med / np.log(2)


def _bin_background(power: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """:func:`_background` of every window's spectrum, at the bins ``(rows, cols)`` only."""
    padded = np.pad(power, [(0, 0), (0, 0), (3, 3), (0, 0)], mode="wrap")
    padded = np.pad(padded, [(0, 0), (0, 0), (0, 0), (3, 3)], mode="edge")
    dr, dc = np.mgrid[0:7, 0:7]
    neighbours = padded[:, :, rows[:, None] + dr.ravel(), cols[:, None] + dc.ravel()]
    return np.median(neighbours, axis=-1) / np.log(2)


def _peaks(power_mean: np.ndarray, channel: int, *, level: float = PEAK_RATIO
           ) -> tuple[np.ndarray, list]:
    """Candidate bins (bool, rfft layout) standing ``level`` times above the background."""
    ratio = power_mean / np.maximum(_background(power_mean), 1e-20)
    candidate = (ratio > level) & (_frequency_radius() >= MIN_FREQUENCY)
    labels, n = ndi.label(candidate)
    entries = []
    fy_all, fx_all = np.fft.fftfreq(TILE), np.fft.rfftfreq(TILE)
    for k in range(1, n + 1):
        where = labels == k
        idx = np.argmax(np.where(where, ratio, 0))
        r, c = np.unravel_index(idx, ratio.shape)
        fy, fx = float(fy_all[r]), float(fx_all[c])
        entries.append({"frequency": [round(fy, 4), round(fx, 4)],
                        "period_px": round(1 / max(np.hypot(fy, fx), 1e-9), 2),
                        "angle_deg": round(float(np.degrees(np.arctan2(fy, fx))), 1),
                        "strength": round(float(ratio[r, c]), 1), "channel": channel})
    return ndi.binary_dilation(candidate, iterations=1), entries


def _notch_change(spec: np.ndarray, rows, cols, gain: np.ndarray, shape, m: int, n: int
                  ) -> np.ndarray:
    """The image change that scaling bins ``(rows, cols)`` of every window by ``gain`` makes.

    Overlap-add of the windows' inverse transforms, one row of windows at a
    time (memory: one row's spectra, not all of them).
    """
    out = np.zeros(shape, np.float64)
    window = _window()
    for i in range(spec.shape[0]):
        change = np.zeros(spec.shape[1:], spec.dtype)
        change[:, rows, cols] = spec[i][:, rows, cols] * (gain[i] - 1)
        tiles = np.fft.irfft2(change, s=(TILE, TILE), axes=(-2, -1)) * window
        for j in range(tiles.shape[0]):
            out[i * HOP:i * HOP + TILE, j * HOP:j * HOP + TILE] += tiles[j]
    return out[HOP:HOP + m, HOP:HOP + n]


def has_peaks(plane: np.ndarray) -> bool:
    """Quick test whether any channel of ``(M, N, C)`` shows a moire peak.

    The test of :func:`_notch_change_of` on a quarter of its windows (side by side
    instead of half-overlapping) at a lower peak level: a fast screen that
    errs towards passing an image on to the full analysis, which finds the
    pattern's region.
    """
    for c in range(plane.shape[-1]):
        channel = np.asarray(plane[..., c], np.float32)
        lo, hi = np.percentile(channel[::4, ::4], (0.1, 99.9))  # a subsample is enough here
        scale = np.float32(hi - lo if hi > lo else 1.0)
        g = np.log(np.clip((channel - np.float32(lo)) / scale, 0, None) + np.float32(LOG_OFFSET))
        view = _tiles(g)[0][::2, ::2]
        power = np.abs(np.fft.rfft2(view * _window(), axes=(-2, -1))) ** 2
        if _peaks(power.mean(axis=(0, 1)), c, level=SCREEN_RATIO)[0].any():
            return True
    return False


def _notch_change_of(channel: np.ndarray, c: int):
    """Analyse one channel ``(M, N)`` (number ``c``) and work out what notching its peaks changes.

    Returns
    -------
    g, lo, scale
        The channel's log image and the unit-range mapping (see :func:`_log_unit`).
    entries : list of dict
        Its spectral peaks (see :class:`MoireReport`).
    delta : (M, N) float64 ndarray or None
        The change of ``g`` that notching makes (None: nothing to notch). The
        windows' spectra are let go on return, before the change is weighted.
    """
    g, lo, scale = _log_unit(channel.astype(np.float64))
    spec, power, shape = _spectra(g)
    cand, entries = _peaks(power.mean(axis=(0, 1)), c)
    if not cand.any():
        return g, lo, scale, entries, None
    # only the bins at and next to the candidates are looked at, in every window
    near = ndi.binary_dilation(cand, iterations=1)
    rows, cols = np.nonzero(near)
    background = np.concatenate([_bin_background(power[i:i + 1], rows, cols)  # a row at a time
                                 for i in range(power.shape[0])])
    at = power[:, :, rows, cols]
    ratio = at / np.maximum(background, 1e-20)
    seed = np.zeros(power.shape, bool)
    first = cand[rows, cols]
    seed[:, :, rows[first], cols[first]] = ratio[..., first] > LOCAL_RATIO
    hit = ndi.binary_dilation(seed, structure=np.ones((1, 1, 3, 3), bool))[:, :, rows, cols]
    if not hit.any():
        return g, lo, scale, entries, None
    gain = np.where(hit, np.sqrt(np.minimum(1.0, background / np.maximum(at, 1e-20))), 1.0)
    return g, lo, scale, entries, _notch_change(spec, rows, cols, gain, shape, *channel.shape)


def find_moire(plane: np.ndarray) -> MoireReport:
    """Detect moire in one plane ``(M, N, C)``: spectral peaks and where they are.

    Returns
    -------
    report : MoireReport
    """
    return notch_filter(plane)[1]


def _apply_where_held(channel: np.ndarray, g, lo: float, scale: float, delta: np.ndarray,
                      region: np.ndarray) -> np.ndarray:
    """``channel`` with the notch's change ``delta`` (of ``g``) kept where it is real; grows ``region``.

    The change is kept where the image holds what is removed (the windows
    spread it a little beyond the pattern) and where it is substantial. In
    place where possible: few full-size temporaries.
    """
    power = ndi.gaussian_filter(delta ** 2, REGION_SIGMA)
    held = g - ndi.gaussian_filter(g, REGION_SIGMA)
    held *= delta
    held = ndi.gaussian_filter(held, REGION_SIGMA)
    np.negative(held, out=held)
    held /= np.maximum(power, 1e-12)
    weight = np.sqrt(power)
    del power
    weight /= REGION_LEVEL
    weight -= 1
    np.clip(weight, 0, 1, out=weight)
    held *= 2
    held -= 0.5
    np.clip(held, 0, 1, out=held)
    weight *= held
    del held
    delta *= weight
    changed = weight > 0
    del weight
    region |= changed
    x_new = (np.exp(g + delta) - LOG_OFFSET) * scale + lo
    x_new -= (np.exp(g) - LOG_OFFSET) * scale + lo
    return np.where(changed, channel + x_new, channel)


def notch_filter(plane: np.ndarray):
    """Remove moire from one plane ``(M, N, C)`` by adaptive notch filtering.

    Returns
    -------
    filtered : (M, N, C) float32 ndarray
        New array; pixels outside ``report.region`` equal the input's.
    report : MoireReport
    """
    out = plane.astype(np.float32, copy=True)
    report = MoireReport(region=np.zeros(plane.shape[:2], bool))
    for c in range(plane.shape[-1]):  # one channel's spectra at a time (memory)
        g, lo, scale, entries, delta = _notch_change_of(plane[..., c], c)
        report.peaks.extend(entries)
        if delta is not None:
            out[..., c] = _apply_where_held(plane[..., c], g, lo, scale, delta, report.region)
    return out, report
