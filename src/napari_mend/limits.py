"""Size limits on what napari-mend reads from files it did not write.

Every file a curator is sent (images, bundles, batch manifests, ``.mendmodel``
model files) is checked against these limits *before* memory is allocated
for it, so a small hostile file cannot make napari-mend allocate gigabytes.
Each limit has a default (:data:`DEFAULTS`) and an environment variable,
``NAPARI_MEND_<NAME>``, that raises (or lowers) it; see ``docs/security.md``.

Images larger than :data:`napari_mend.batch.one_file.IN_BLOCKS_ABOVE` are
restored block by block by the commands; the image limits apply only where an
image is read whole into memory.
"""

from __future__ import annotations

import json
import os

DEFAULTS = {
    "MAX_PIXELS": 2**30,
    "MAX_BYTES": 2**34,
    "MAX_MODEL_BYTES": 2**28,
    "MAX_JSON_BYTES": 2**26,
    "MAX_PARAMS": 2**26,
}
"""Default of each limit; the environment variable ``NAPARI_MEND_<key>`` overrides it.

``MAX_PIXELS``: pixels (rows x columns) of one image plane read into memory
(1 Gpx, e.g. 32768 x 32768). ``MAX_BYTES``: bytes of an image read into
memory, all planes and channels (16 GiB). ``MAX_MODEL_BYTES``: bytes of a
``.mendmodel`` file and of its weights once unpacked (256 MiB; shipped
models have 2 to 10 MB). ``MAX_JSON_BYTES``: bytes of a JSON file read whole
(``bundle.json``, ``provenance.json``, a batch manifest, a model card: 64 MiB).
``MAX_PARAMS``: parameters of the network a model card describes (67 M;
shipped models have up to 2.6 M).
"""
_CHUNK = 2**20
"""Bytes read at a time by :func:`read_capped`."""
MAX_CONFIG_VALUE = 1024
"""Largest number a model card's ``config`` may hold (a width, a depth, a dilation)."""
MAX_CONFIG_LENGTH = 8
"""Most entries of a list in a model card's ``config`` (e.g. widths: one per level; inputs are
padded to a multiple of 2 ** (levels - 1), so levels are bounded as well as parameters)."""


class LimitError(ValueError):
    """A file declares or holds more than a limit allows; the message says how to raise it."""


def limit(name: str) -> int:
    """The limit ``name`` (a key of :data:`DEFAULTS`), from ``NAPARI_MEND_<name>`` if set.

    Raises
    ------
    ValueError
        The environment variable is set but is not a positive integer.
    """
    variable = f"NAPARI_MEND_{name}"
    text = os.environ.get(variable)
    if text is None:
        return DEFAULTS[name]
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{variable}={text!r}: give a positive integer")
    return value


def _refuse(source, what: str, name: str) -> LimitError:
    return LimitError(f"{source}: {what} is more than the limit of {limit(name):,}; if you trust "
                      f"the file, raise the limit with the environment variable NAPARI_MEND_{name}")


def check_image_size(*, plane_pixels: int, nbytes: int, source) -> None:
    """Refuse an image too large to read into memory, before reading it.

    Parameters
    ----------
    plane_pixels : int
        Rows x columns of one plane, as the file declares them.
    nbytes : int
        Bytes of the whole image (all planes and channels) once read.
    source : str or os.PathLike
        The file, named in the message.

    Raises
    ------
    LimitError
        A plane has more than ``MAX_PIXELS`` pixels or the whole image more
        than ``MAX_BYTES`` bytes.
    """
    if plane_pixels > limit("MAX_PIXELS"):
        raise _refuse(source, f"{plane_pixels:,} pixels per image plane", "MAX_PIXELS")
    if nbytes > limit("MAX_BYTES"):
        raise _refuse(source, f"{nbytes:,} bytes of image data", "MAX_BYTES")


def check_image_file(path) -> None:
    """Refuse a PNG, JPEG, ... file that declares too many pixels, before decoding it.

    Reads the header only (with PIL). Files PIL cannot open are left to the
    reader, which reports them; TIFFs are checked by
    :mod:`napari_mend.io.tiff` when read. PIL's own decompression-bomb limit
    (``PIL.Image.MAX_IMAGE_PIXELS``) applies as well. The bytes are bounded
    from above at 4 per value.

    Raises
    ------
    LimitError
        See :func:`check_image_size`; or PIL refuses the size.
    """
    from PIL import Image  # deferred: Pillow only for this check

    try:
        with Image.open(path) as image:
            (columns, rows), bands = image.size, len(image.getbands())
            frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError:
        raise LimitError(f"{path} declares more pixels than PIL reads (PIL.Image.MAX_IMAGE_PIXELS"
                         f" = {Image.MAX_IMAGE_PIXELS:,}); convert it to TIFF") from None
    except (OSError, ValueError, SyntaxError):  # not an image PIL knows: the reader says why
        return
    check_image_size(plane_pixels=rows * columns, nbytes=4 * rows * columns * bands * frames,
                     source=path)


def read_capped(stream, name: str, *, source, declared: int = 0) -> bytes:
    """Read a binary ``stream`` to its end, refusing it past limit ``name`` (bytes).

    A ``declared`` size over the limit (a zip member's) is refused before
    reading; reading stops one byte past the limit, so a stream larger than
    it claims costs no more memory.

    Raises
    ------
    LimitError
        The stream declares or holds more bytes than the limit.
    """
    cap = limit(name)
    if declared > cap:
        raise _refuse(source, f"its declared size of {declared:,} bytes", name)
    chunks, size = [], 0
    while size <= cap:  # in chunks: read(cap + 1) would allocate the whole cap at once
        chunk = stream.read(min(_CHUNK, cap + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise _refuse(source, "its size in bytes", name)


def parse_json(data, *, source):
    """``json.loads(data)`` raising only ValueError, whose message never quotes ``data``.

    Raises
    ------
    ValueError
        Not UTF-8 JSON, or nested too deeply for Python's parser.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(f"{source}: its JSON is nested too deeply") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{source} is not valid JSON ({err.msg} at line {err.lineno}, column "
                         f"{err.colno})") from None
    except ValueError:  # UnicodeDecodeError quotes the bytes
        raise ValueError(f"{source} is not valid JSON (not UTF-8 text)") from None


def read_json(path):
    """The JSON value of file ``path``, at most ``MAX_JSON_BYTES`` long.

    Raises
    ------
    OSError
        The file cannot be opened.
    ValueError
        The file is too long (:class:`LimitError`) or is not valid JSON.
    """
    with open(path, "rb") as stream:
        return parse_json(read_capped(stream, "MAX_JSON_BYTES", source=path), source=path)
