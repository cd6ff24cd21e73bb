"""Choice of TrueType fonts for burned-in annotations, never DejaVu.

The fonts are looked up with :mod:`matplotlib.font_manager` (system fonts and
the fonts bundled with matplotlib).  DejaVu is excluded on purpose, as are
symbol-only and fallback fonts.  The TeX Computer Modern fonts bundled with
matplotlib map only letters, digits and a few punctuation marks to the
expected glyphs, so they are offered only for text made of those.  When no
usable TrueType font exists, Pillow's built-in default font is used.
"""

import os
import string
from functools import lru_cache

from PIL import ImageFont

PILLOW_DEFAULT = "<pillow-default>"
"""str: pseudo path reported when Pillow's built-in font is used."""

_EXCLUDED = ("dejavu", "lastresort", "last resort", "stixsiz", "stixnonuni", "cmex", "cmsy", "cmmi")
_TEX_SAFE = set(string.ascii_letters + string.digits + " :-/.")
_PILLOW_SAFE = set(string.printable) - set("\t\n\r\x0b\x0c")


@lru_cache(maxsize=1)
def candidate_fonts():
    """TrueType fonts usable for annotations, sorted by path.

    Returns
    -------
    tuple of (str, frozenset or None)
        ``(path, charset)``; ``charset`` is ``None`` when the font is assumed to
        cover Latin-1 (including ``µ``), otherwise the set of safe characters.
    """
    from matplotlib import font_manager  # deferred: heavy; only when text is drawn

    paths = {entry.fname for entry in font_manager.fontManager.ttflist}
    out = []
    for path in sorted(paths):
        low = os.path.basename(path).lower()
        if not low.endswith((".ttf", ".otf")) or any(key in low for key in _EXCLUDED):
            continue
        if "dejavu" in path.lower():
            continue
        charset = frozenset(_TEX_SAFE) if low.startswith("cm") else None
        out.append((path, charset))
    return tuple(out)


def _supports(charset, text):
    return charset is None or set(text) <= charset


def pick_font(rng, size, text):
    """Pick a non-DejaVu font able to render ``text``.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int
        Font size in pixels.
    text : str
        The text that will be drawn with it.

    Returns
    -------
    font : PIL.ImageFont.FreeTypeFont or PIL.ImageFont.ImageFont
    path : str
        Font file path, or :data:`PILLOW_DEFAULT`.
    """
    options = [path for path, charset in candidate_fonts() if _supports(charset, text)]
    use_default = not options or (set(text) <= _PILLOW_SAFE and rng.random() < 0.15)
    if not use_default:
        path = options[int(rng.integers(len(options)))]
        return ImageFont.truetype(path, int(size)), path
    try:
        return ImageFont.load_default(size=int(size)), PILLOW_DEFAULT
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default(), PILLOW_DEFAULT


def ascii_fallback(text):
    """Replace characters outside ASCII (``µ`` -> ``u``) for limited fonts.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    return text.replace("\u00b5", "u").replace("\u03bc", "u")
