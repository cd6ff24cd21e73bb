"""The training corpus: clean images that ship inside installed packages.

The images and the rules for using them are listed in ``shared/TRAINING_DATA.md``:
scikit-image's data folder (read from the installed package, never
downloaded), matplotlib's ``topobathy.npz`` sample, and the 200 crops of
``lfw_subset`` (named ``'lfw_subset:<index>'``, one image each).

The corpus is split by image into :data:`TRAIN_IMAGES` and :data:`VAL_IMAGES`.
The validation images are chosen to cover each kind of image once (an RGB
photograph, a grayscale photograph, a texture, a document, an astronomical
image) plus every tenth ``lfw_subset`` crop (faces and non-faces). Models are
never trained on them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

_SKIMAGE_FILES = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "cell": "cell.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "color": "color.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "moon": "moon.png",
    "motorcycle_left": "motorcycle_left.png",
    "page": "page.png",
    "rocket": "rocket.jpg",
    "text": "text.png",
}
_LFW_COUNT = 200
_LFW_VAL = frozenset(range(0, _LFW_COUNT, 10))
_VAL_NAMED = ("chelsea", "coins", "gravel", "hubble_deep_field", "page")

ALL_IMAGES: tuple[str, ...] = (
    *_SKIMAGE_FILES,
    "topobathy",
    *(f"lfw_subset:{i}" for i in range(_LFW_COUNT)),
)
"""Every corpus image name."""

VAL_IMAGES: tuple[str, ...] = (
    *_VAL_NAMED,
    *(f"lfw_subset:{i}" for i in sorted(_LFW_VAL)),
)
"""Held-out validation images (never trained on)."""

TRAIN_IMAGES: tuple[str, ...] = tuple(n for n in ALL_IMAGES if n not in set(VAL_IMAGES))
"""Training images."""


def _skimage_data_dir() -> Path:
    return Path(skimage.data.__file__).parent


@functools.lru_cache(maxsize=1)
def _lfw_subset() -> np.ndarray:
    faces = np.load(_skimage_data_dir() / "lfw_subset.npy")
    return faces.astype(np.float32)


@functools.lru_cache(maxsize=None)
def _load(name: str) -> np.ndarray:
    if name in _SKIMAGE_FILES:
        with Image.open(_skimage_data_dir() / _SKIMAGE_FILES[name]) as im:
            if im.mode not in ("L", "RGB"):
                im = im.convert("RGB")
            arr = np.asarray(im, dtype=np.float32) / 255.0
    elif name == "topobathy":
        from matplotlib import cbook  # deferred: heavy; only for the topobathy sample

        with cbook.get_sample_data("topobathy.npz") as data:
            topo = np.asarray(data["topo"], dtype=np.float64)
        arr = ((topo - topo.min()) / (topo.max() - topo.min())).astype(np.float32)
    elif name.startswith("lfw_subset:"):
        index = int(name.split(":", 1)[1])
        if not 0 <= index < _LFW_COUNT:
            raise ValueError(f"lfw_subset index must be in [0, {_LFW_COUNT}), got {index}")
        arr = np.clip(_lfw_subset()[index], 0, 1)
    else:
        raise ValueError(
            f"unknown corpus image {name!r}; names are listed in "
            "napari_mend.synthesis.corpus.ALL_IMAGES"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    arr.flags.writeable = False
    return arr


def load_corpus_image(name: str) -> np.ndarray:
    """Load one corpus image as float32 in [0, 1].

    Parameters
    ----------
    name : str
        A name from :data:`ALL_IMAGES`: a scikit-image data name
        (``'astronaut'``), ``'topobathy'`` (elevations rescaled from their
        min..max to [0, 1]) or ``'lfw_subset:<index>'`` with index in [0, 200).

    Returns
    -------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        A new, writable array.
    """
    return _load(name).copy()


@functools.lru_cache(maxsize=3)
def _split(split: str) -> tuple[tuple[str, np.ndarray], ...]:
    names = {"train": TRAIN_IMAGES, "val": VAL_IMAGES, "all": ALL_IMAGES}[split]
    return tuple((n, _load(n)) for n in names)


def corpus_images(split: str = "train") -> list[tuple[str, np.ndarray]]:
    """All images of a split, loaded once and cached.

    Parameters
    ----------
    split : {'train', 'val', 'all'}
        Which images.

    Returns
    -------
    images : list of (str, ndarray)
        ``(name, image)`` pairs; images are float32 in [0, 1], shape (H, W) or
        (H, W, 3), shared between calls and therefore read-only.
    """
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be 'train', 'val' or 'all', got {split!r}")
    return list(_split(split))
