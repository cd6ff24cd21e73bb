"""Random fields used by the clean scenes and defect models.

All functions draw their randomness from an explicit
:class:`numpy.random.Generator` so that every result is reproducible.
"""

import numpy as np
from scipy import ndimage as ndi


def smooth_noise(rng, shape, sigma):
    """Gaussian-filtered white noise, rescaled to zero mean and unit std.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    shape : tuple of int
        Output shape.
    sigma : float
        Correlation length in pixels (std of the Gaussian filter).

    Returns
    -------
    field : ndarray of float32
        Smooth random field with mean 0 and standard deviation 1.
    """
    field = ndi.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    field -= field.mean()
    std = field.std()
    return (field / (std if std > 0 else 1.0)).astype(np.float32)


def power_law_field(rng, shape, beta):
    """Fractional-Brownian-like surface by spectral synthesis.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    shape : tuple of int
        ``(H, W)`` of the field.
    beta : float
        Spectral exponent: power falls as ``|k| ** -beta`` (2 = rough,
        4 = very smooth terrain).

    Returns
    -------
    field : ndarray of float32
        Field rescaled to [0, 1].
    """
    h, w = shape
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.rfftfreq(w)[None, :]
    k = np.hypot(ky, kx)
    k[0, 0] = 1.0
    amplitude = k ** (-beta / 2.0)
    amplitude[0, 0] = 0.0
    phase = rng.uniform(0, 2 * np.pi, amplitude.shape)
    spectrum = amplitude * rng.rayleigh(1.0, amplitude.shape) * np.exp(1j * phase)
    field = np.fft.irfft2(spectrum, s=(h, w))
    field -= field.min()
    peak = field.max()
    return (field / (peak if peak > 0 else 1.0)).astype(np.float32)


def smooth_1d(rng, n, sigma, low=0.0, high=1.0):
    """Smooth random 1-D signal rescaled to ``[low, high]``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of samples.
    sigma : float
        Correlation length in samples.
    low, high : float
        Output range.

    Returns
    -------
    signal : ndarray of float64
    """
    x = ndi.gaussian_filter1d(rng.standard_normal(n + int(6 * sigma) + 2), sigma)
    x = x[: n]
    span = x.max() - x.min()
    x = (x - x.min()) / (span if span > 0 else 1.0)
    return low + (high - low) * x
