"""Procedural clean images, plus crops of a few images shipped offline.

None of the scenes reuses the scikit-image sample images that the project
trains on (astronaut, brick, camera, cell, chelsea, coffee, coins, color,
grass, gravel, hubble_deep_field, moon, motorcycle_left, page, rocket, text,
lfw_subset) nor matplotlib's topobathy.  The only files read from disk are
``ihc.png`` and ``retina.jpg`` from the installed scikit-image data folder,
and only if they already exist there (nothing is ever downloaded).
"""

import os

import numpy as np
import skimage
from PIL import Image
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.draw import ellipse
from skimage.transform import resize

from .random_fields import power_law_field, smooth_1d, smooth_noise

SHIPPED_FILES = ("ihc.png", "retina.jpg")
"""tuple of str: scikit-image data files (not used for training) that may be cropped."""

_FORBIDDEN_FILES = {
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png",
    "coffee.png", "coins.png", "color.png", "grass.png", "gravel.png",
    "hubble_deep_field.jpg", "moon.png", "motorcycle_left.png", "page.png",
    "rocket.jpg", "text.png", "lfw_subset.npy",
}
assert not _FORBIDDEN_FILES.intersection(SHIPPED_FILES)


def _shape(size):
    if np.isscalar(size):
        return int(size), int(size)
    return int(size[0]), int(size[1])


def _grid(shape):
    h, w = shape
    return np.mgrid[0:h, 0:w].astype(np.float32)


def _random_colour(rng, low=0.0, high=1.0):
    return rng.uniform(low, high, 3).astype(np.float32)


def gabor_patchwork(rng, size=256):
    """Smooth two-colour gradient with a sum of oriented Gabor-like textures.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    yy, xx = _grid((h, w))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    c0, c1 = _random_colour(rng, 0.15, 0.85), _random_colour(rng, 0.15, 0.85)
    img = c0 * (1 - ramp[..., None]) + c1 * ramp[..., None]
    for _ in range(rng.integers(3, 8)):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sigma = rng.uniform(0.08, 0.3) * max(h, w)
        theta = rng.uniform(0, np.pi)
        wavelength = rng.uniform(5, 28)
        envelope = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        u = np.cos(theta) * xx + np.sin(theta) * yy
        # Chirp slightly so that the texture is not a single pure frequency.
        phase = 2 * np.pi * u / wavelength * (1 + 0.15 * envelope)
        wave = np.cos(phase + rng.uniform(0, 2 * np.pi))
        tint = rng.uniform(-0.22, 0.22, 3).astype(np.float32)
        img = img + (envelope * wave)[..., None] * tint
    img += 0.02 * smooth_noise(rng, (h, w), 1.5)[..., None]
    return np.clip(img, 0, 1).astype(np.float32)


def shaded_cells(rng, size=256):
    """Voronoi mosaic of shaded cells separated by dark walls.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    n = int(rng.integers(15, 110))
    seeds = np.stack([rng.uniform(-10, h + 10, n), rng.uniform(-10, w + 10, n)], axis=1)
    yy, xx = _grid((h, w))
    # Jitter the query points so that the cell walls are not straight lines.
    jitter = 2.5 * np.stack([smooth_noise(rng, (h, w), 6), smooth_noise(rng, (h, w), 6)])
    query = np.stack([(yy + jitter[0]).ravel(), (xx + jitter[1]).ravel()], axis=1)
    d, idx = cKDTree(seeds).query(query, k=2)
    wall = ((d[:, 1] - d[:, 0]) / 2).reshape(h, w)
    cell = idx[:, 0].reshape(h, w)
    base = _random_colour(rng, 0.35, 0.9)
    palette = np.clip(base + rng.normal(0, 0.12, (n, 3)), 0, 1).astype(np.float32)
    img = palette[cell]
    centre_dist = d[:, 0].reshape(h, w)
    dome = np.exp(-centre_dist / rng.uniform(8, 25))
    img = img * (0.75 + 0.35 * dome[..., None])
    wall_colour = base * rng.uniform(0.15, 0.5)
    wall_alpha = np.exp(-((wall / rng.uniform(0.8, 2.0)) ** 2))[..., None]
    img = img * (1 - wall_alpha) + wall_colour * wall_alpha
    img += 0.03 * smooth_noise(rng, (h, w), 1.0)[..., None]
    return np.clip(img, 0, 1).astype(np.float32)


def micrograph(rng, size=256):
    """Synthetic light micrograph: blurred random ellipses with nuclei and noise.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    fluorescence = rng.random() < 0.5
    if fluorescence:
        background = np.array([0.02, 0.03, 0.05], np.float32)
        stain = rng.permutation(np.array([[0.2, 0.9, 0.3], [0.9, 0.3, 0.2], [0.3, 0.5, 1.0]], np.float32))
    else:
        background = np.array([0.92, 0.88, 0.84], np.float32) * rng.uniform(0.9, 1.0)
        stain = np.array([[0.75, 0.45, 0.65], [0.35, 0.25, 0.6], [0.85, 0.6, 0.7]], np.float32)
    body = np.zeros((h, w), np.float32)
    nuclei = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(8, 45)):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(5, 28), rng.uniform(5, 28)
        rot = rng.uniform(-np.pi, np.pi)
        rr, cc = ellipse(cy, cx, ry, rx, shape=(h, w), rotation=rot)
        body[rr, cc] += rng.uniform(0.4, 1.0)
        rr, cc = ellipse(cy + rng.normal(0, 2), cx + rng.normal(0, 2), ry * 0.35, rx * 0.35,
                         shape=(h, w), rotation=rot)
        nuclei[rr, cc] += rng.uniform(0.6, 1.0)
    body = ndi.gaussian_filter(body, rng.uniform(1.5, 3.5))
    nuclei = ndi.gaussian_filter(nuclei, rng.uniform(0.8, 1.8))
    texture = 1 + 0.25 * smooth_noise(rng, (h, w), 2.0)
    body, nuclei = np.clip(body * texture, 0, 1.2), np.clip(nuclei, 0, 1.2)
    if fluorescence:
        img = background + body[..., None] * stain[0] * 0.6 + nuclei[..., None] * stain[2] * 0.8
    else:
        absorb = body[..., None] * (1 - stain[0]) * 0.7 + nuclei[..., None] * (1 - stain[1]) * 0.9
        img = background * np.exp(-absorb * 1.4)
    yy, xx = _grid((h, w))
    vignette = 1 - 0.25 * (((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2)
    img = img * vignette[..., None]
    img = img + rng.normal(0, 0.012, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def relief_landscape(rng, size=256):
    """Fractal terrain with hill shading under a sky gradient.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    height = power_law_field(rng, (h, w), rng.uniform(3.0, 4.0))
    gy, gx = np.gradient(height * rng.uniform(40, 120))
    azimuth, altitude = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.1)
    nz = 1.0 / np.sqrt(1 + gx**2 + gy**2)
    shade = np.clip(nz * (np.sin(altitude) - np.cos(altitude) * (gx * np.cos(azimuth) + gy * np.sin(azimuth))), 0, 1)
    stops = np.array([0.0, 0.35, 0.65, 0.85, 1.0])
    colours = np.array([[0.18, 0.32, 0.14], [0.35, 0.48, 0.2], [0.52, 0.44, 0.3],
                        [0.55, 0.52, 0.5], [0.95, 0.95, 0.97]], np.float32)
    ground = np.stack([np.interp(height, stops, colours[:, c]) for c in range(3)], axis=-1)
    ground = ground * (0.35 + 0.8 * shade[..., None])
    horizon = rng.uniform(0.2, 0.45) * h
    ridge = horizon + smooth_1d(rng, w, rng.uniform(4, 15), -0.12 * h, 0.12 * h)
    yy, _ = _grid((h, w))
    sky_top = np.array([0.2, 0.38, 0.72], np.float32) * rng.uniform(0.8, 1.1)
    sky_low = np.array([0.85, 0.86, 0.9], np.float32)
    t = np.clip(yy / max(horizon, 1), 0, 1)[..., None]
    sky = sky_top * (1 - t) + sky_low * t
    haze = np.clip(1 - (yy - ridge[None, :]) / (0.5 * h), 0, 1)[..., None] * 0.5
    ground = ground * (1 - haze) + sky_low * haze
    edge = np.clip(yy - ridge[None, :] + 0.5, 0, 1)[..., None]
    img = sky * (1 - edge) + ground * edge
    return np.clip(img, 0, 1).astype(np.float32)


def word_block_document(rng, size=256):
    """Page of a document: rows of dark rectangles standing for words.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    paper = np.array([0.96, 0.94, 0.88], np.float32) * rng.uniform(0.85, 1.0)
    img = np.ones((h, w, 3), np.float32) * paper
    img *= (1 + 0.02 * smooth_noise(rng, (h, w), 20))[..., None]
    img *= (1 + 0.015 * smooth_noise(rng, (h, w), 0.7))[..., None]
    ink = np.zeros((h, w), np.float32)
    margin = int(rng.uniform(0.06, 0.12) * w)
    line_h = int(rng.integers(4, 8))
    leading = line_h + int(rng.integers(3, 7))
    y = margin
    while y + line_h < h - margin:
        if rng.random() < 0.12:  # paragraph break or figure
            if rng.random() < 0.3 and y + 50 < h - margin:
                fh = int(rng.integers(25, 60))
                fw = int(rng.uniform(0.4, 0.8) * (w - 2 * margin))
                x0 = margin + int(rng.integers(0, max(w - 2 * margin - fw, 1)))
                ramp = np.linspace(rng.uniform(0.2, 0.5), rng.uniform(0.6, 0.9), fw)[None, :]
                ink[y:y + fh, x0:x0 + fw] = np.maximum(ink[y:y + fh, x0:x0 + fw], ramp)
                y += fh + leading
            else:
                y += leading
            continue
        x = margin + (int(rng.integers(8, 20)) if rng.random() < 0.2 else 0)
        end = w - margin - (int(rng.integers(0, w // 3)) if rng.random() < 0.15 else 0)
        while x < end:
            ww = int(rng.integers(6, 38))
            ww = min(ww, end - x)
            if ww > 2:
                top = y + int(rng.integers(0, 2))
                ink[top:y + line_h, x:x + ww] = rng.uniform(0.75, 0.95)
            x += ww + int(rng.integers(3, 6))
        y += leading
    ink = ndi.gaussian_filter(ink, 0.6)
    ink_colour = np.array([0.08, 0.08, 0.12], np.float32)
    img = img * (1 - ink[..., None]) + ink_colour * ink[..., None]
    return np.clip(img, 0, 1).astype(np.float32)


def star_field(rng, size=256):
    """Dark sky with point-spread stars and a faint nebula.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    nebula = power_law_field(rng, (h, w), 3.2) ** 2
    tint = _random_colour(rng, 0.1, 0.6)
    img = 0.03 + nebula[..., None] * tint * rng.uniform(0.3, 0.8)
    stars = np.zeros((h, w, 3), np.float32)
    n = int(rng.integers(150, 700))
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    flux = rng.pareto(1.6, n) * 0.4 + 0.05
    temp = rng.uniform(0, 1, n)
    colour = np.stack([0.8 + 0.2 * temp, 0.85 + 0.1 * temp, 1.0 - 0.3 * temp], axis=1)
    np.add.at(stars, (ys, xs), flux[:, None] * colour)
    stars = ndi.gaussian_filter(stars, (rng.uniform(0.6, 1.3), rng.uniform(0.6, 1.3), 0)) * 8
    img = 1 - (1 - img) * np.exp(-stars)  # soft saturation of bright stars
    img += rng.normal(0, 0.008, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def _data_dir():
    return os.path.join(os.path.dirname(skimage.__file__), "data")


def available_shipped_files():
    """Names of :data:`SHIPPED_FILES` that exist locally (no download).

    Returns
    -------
    list of str
    """
    folder = _data_dir()
    return [name for name in SHIPPED_FILES if os.path.isfile(os.path.join(folder, name))]


def shipped_photo_crop(rng, size=256):
    """Random crop of an image file already present in scikit-image's data folder.

    Falls back to :func:`micrograph` when none of :data:`SHIPPED_FILES` exists.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int

    Returns
    -------
    ndarray of float32, shape (H, W, 3)
    """
    h, w = _shape(size)
    names = available_shipped_files()
    if not names:
        return micrograph(rng, size)
    name = names[int(rng.integers(len(names)))]
    with Image.open(os.path.join(_data_dir(), name)) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    H, W = arr.shape[:2]
    scale = rng.uniform(0.35, 0.9)
    ch = max(min(int(min(H, W) * scale * h / max(h, w)), H), 8)
    cw = max(min(int(ch * w / h), W), 8)
    # Avoid the black surround of fundus photographs: sample near the centre.
    r0 = int(rng.integers(max((H - ch) // 4, 0), max(3 * (H - ch) // 4, 0) + 1))
    c0 = int(rng.integers(max((W - cw) // 4, 0), max(3 * (W - cw) // 4, 0) + 1))
    crop = arr[r0:r0 + ch, c0:c0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    out = resize(crop, (h, w, 3), order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(out, 0, 1).astype(np.float32)


SCENES = {
    "gabor_patchwork": gabor_patchwork,
    "shaded_cells": shaded_cells,
    "micrograph": micrograph,
    "relief_landscape": relief_landscape,
    "word_block_document": word_block_document,
    "star_field": star_field,
    "shipped_photo_crop": shipped_photo_crop,
}
"""dict of str to callable: scene name -> ``f(rng, size)`` returning an RGB image."""

_WEIGHTS = {
    "gabor_patchwork": 1.0,
    "shaded_cells": 1.0,
    "micrograph": 1.0,
    "relief_landscape": 1.0,
    "word_block_document": 0.8,
    "star_field": 0.6,
    "shipped_photo_crop": 1.2,
}


def _to_grey(rgb):
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def clean_image(rng, size=256, kind=None, grey=None):
    """One clean image.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int or tuple of int
        Side length, or ``(H, W)``.
    kind : str, optional
        A key of :data:`SCENES`; random when omitted.
    grey : bool, optional
        Return a single-channel image; random (35 %) when omitted.

    Returns
    -------
    ndarray of float32, shape (H, W) or (H, W, 3), values in [0, 1]
    """
    if kind is None:
        names = list(SCENES)
        p = np.array([_WEIGHTS[n] for n in names])
        kind = names[int(rng.choice(len(names), p=p / p.sum()))]
    if grey is None:
        grey = bool(rng.random() < 0.35)
    img = SCENES[kind](rng, size)
    return _to_grey(img) if grey else img


def clean_images(rng, n, size=256):
    """A list of ``n`` clean images with random scene kinds and channel layouts.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of images.
    size : int or tuple of int
        Side length, or ``(H, W)``.

    Returns
    -------
    list of ndarray of float32
        Each of shape (H, W) or (H, W, 3), values in [0, 1].
    """
    return [clean_image(rng, size) for _ in range(int(n))]
