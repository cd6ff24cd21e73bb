"""The folder of image files the batch tests mend."""

import numpy as np
import pytest


def _image(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        image = (rng.random(shape) * 300 - 100).astype(dtype)
        hi, lo = 400.0, -300.0
    else:
        info = np.iinfo(dtype)
        image = (rng.random(shape) * info.max * 0.2 + info.max * 0.4).astype(dtype)
        hi, lo = info.max, 0
    image[shape[0] // 2, 5:-5] = hi  # a scratch
    image[10:13, 10:13] = lo  # a speck
    return image


@pytest.fixture
def archive(tmp_path):
    """A folder of mixed dtypes and sizes, a sub-folder, a corrupt image and a text file."""
    from skimage.io import imsave

    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    imsave(folder / "photo.png", _image(rng, (64, 80, 3), np.uint8), check_contrast=False)
    tifffile.imwrite(folder / "sub" / "film.tif", _image(rng, (72, 60), np.uint16))
    tifffile.imwrite(folder / "height.tif", _image(rng, (60, 66), np.float32))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "notes.txt").write_text("not an image")
    return folder
