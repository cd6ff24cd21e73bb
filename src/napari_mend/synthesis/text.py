"""Text rendering with the DejaVu fonts and random annotation strings.

Only the DejaVu family is used (see ``shared/TRAINING_DATA.md``): the copies in
matplotlib's data folder, which every installation has, plus any DejaVu
variants in the system font folders. Strings are generated from templates and
random characters, never taken from a fixed list of real documents.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ._draw import paste_max

_SYSTEM_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "C:/Windows/Fonts",
)


@functools.lru_cache(maxsize=1)
def _font_paths() -> tuple[Path, ...]:
    import matplotlib  # deferred: heavy; only its data folder (the DejaVu fonts) is needed

    def usable(paths):  # the *Display fonts hold only a few glyphs for mathtext
        return [p for p in sorted(paths) if "Display" not in p.name]

    mpl = usable((Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("DejaVu*.ttf"))
    seen = {p.name for p in mpl}
    extra = []
    for folder in _SYSTEM_FONT_DIRS:
        for p in usable(Path(folder).glob("DejaVu*.ttf")) if Path(folder).is_dir() else ():
            if p.name not in seen:
                seen.add(p.name)
                extra.append(p)
    return tuple(mpl) + tuple(extra)


def font_paths() -> list[Path]:
    """DejaVu TrueType fonts available for synthetic text.

    Returns
    -------
    paths : list of Path
        matplotlib's DejaVu fonts (always present, sorted) followed by DejaVu
        variants found only in system font folders; the ``*Display`` fonts,
        which hold only a few glyphs, are left out. The second part depends on
        the machine, so a seeded random font choice is reproducible across
        machines only when they have the same system fonts.
    """
    return list(_font_paths())


@functools.lru_cache(maxsize=256)
def truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def pick_font(rng, font=None) -> str:
    if font is not None:
        return str(font)
    paths = _font_paths()
    if rng is None:
        return str(next(p for p in paths if p.name == "DejaVuSans.ttf"))
    return str(paths[int(rng.integers(len(paths)))])


def render_text(text, *, size, font, angle=0.0, stroke_width=0, align="left"):
    """Render ``text`` as a tight coverage patch (h, w) float32 in [0, 1].

    ``font`` is a font file path, ``size`` the font size in pixels, ``angle``
    a counter-clockwise rotation in degrees. Lines are separated by ``\\n``.
    """
    f = truetype(str(font), max(4, int(round(size))))
    sw = int(stroke_width)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.multiline_textbbox(
        (0, 0), text, font=f, stroke_width=sw, align=align
    )
    left, top = int(np.floor(left)), int(np.floor(top))
    right, bottom = int(np.ceil(right)), int(np.ceil(bottom))
    pad = 2
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(img).multiline_text(
        (pad - left, pad - top), text, fill=255, font=f, stroke_width=sw, align=align
    )
    if angle:
        img = img.rotate(angle, resample=Image.BILINEAR, expand=True)
    return np.asarray(img, dtype=np.float32) / 255.0


def render_text_mask(shape, text, *, rng=None, size, position, angle=0.0, font=None, stroke_width=0):
    """Render text into a coverage map of the given shape.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` of the output.
    text : str
        The text; ``\\n`` separates lines.
    rng : numpy.random.Generator, optional
        Picks the font when ``font`` is None (DejaVu Sans when both are None).
    size : float
        Font size in pixels.
    position : tuple of float
        ``(row, col)`` of the top-left corner of the (rotated) text box; it may
        lie partly outside the image (the text is clipped).
    angle : float, optional
        Counter-clockwise rotation in degrees.
    font : str or Path, optional
        A font file (see :func:`font_paths`).
    stroke_width : int, optional
        Outline width in pixels added around the glyphs.

    Returns
    -------
    coverage : ndarray of float32, shape (H, W)
        Glyph coverage in [0, 1] (anti-aliased), 0 where there is no text.
    """
    patch = render_text(
        text, size=size, font=pick_font(rng, font), angle=angle, stroke_width=stroke_width
    )
    out = np.zeros((int(shape[0]), int(shape[1])), np.float32)
    return paste_max(out, patch, (round(position[0]), round(position[1])))


# ---------------------------------------------------------------- strings

_SYLLABLES = (
    "ka ro mi tel den sa vor lin bra qu ex on ix ta ne po ri gal ver stra mon "
    "zu ar el or an dor fen lux tri cor nal pi ve go ma is ol ut ry ph th"
).split()


def random_word(rng, *, min_syllables=1, max_syllables=4):
    """A pronounceable made-up word."""
    n = int(rng.integers(min_syllables, max_syllables + 1))
    return "".join(rng.choice(_SYLLABLES, n))


def _digits(rng, n):
    return "".join(rng.choice(list(string.digits), n))


def _letters(rng, n):
    return "".join(rng.choice(list(string.ascii_uppercase), n))


def random_date(rng, *, time=None):
    """A date (and maybe a time) in one of several common formats."""
    y, m, d = int(rng.integers(1950, 2036)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    formats = (
        f"{y:04d}-{m:02d}-{d:02d}",
        f"{d:02d}/{m:02d}/{y:04d}",
        f"{m:02d}/{d:02d}/{y % 100:02d}",
        f"{d:02d}.{m:02d}.{y:04d}",
        f"{y:04d}:{m:02d}:{d:02d}",
        f"{months[m - 1]} {d} {y}",
        f"{d:02d}-{months[m - 1].upper()}-{y:04d}",
        f"{y:04d}{m:02d}{d:02d}",
    )
    out = formats[int(rng.integers(len(formats)))]
    with_time = rng.random() < 0.5 if time is None else time
    if with_time:
        hh, mm, ss = rng.integers(0, 24), rng.integers(0, 60), rng.integers(0, 60)
        out += f" {hh:02d}:{mm:02d}" + (f":{ss:02d}" if rng.random() < 0.6 else "")
    return out


def random_annotation(rng):
    """One line of burned-in annotation: an ID, date, patient-style field, setting."""
    name = random_word(rng, min_syllables=2).capitalize()
    given = random_word(rng, min_syllables=1, max_syllables=3).capitalize()
    choices = (
        lambda: f"ID: {_digits(rng, int(rng.integers(4, 10)))}",
        lambda: f"{_letters(rng, 2)}{_digits(rng, int(rng.integers(3, 8)))}",
        lambda: f"PID {_digits(rng, 7)}-{_letters(rng, 1)}",
        lambda: f"Acc# {_digits(rng, int(rng.integers(5, 9)))}",
        lambda: random_date(rng),
        lambda: f"DOB: {random_date(rng, time=False)}",
        lambda: f"Name: {name.upper()}^{given.upper()}",
        lambda: f"{name}, {given}",
        lambda: f"Sex: {'MFO'[int(rng.integers(3))]}  Age: {int(rng.integers(1, 99)):03d}Y",
        lambda: f"MRN {_digits(rng, 8)}",
        lambda: f"Study: {random_word(rng).upper()} {random_word(rng).upper()}",
        lambda: f"{random_word(rng).capitalize()} {random_word(rng).capitalize()} Hospital",
        lambda: f"kV {int(rng.integers(60, 141))}  mA {int(rng.integers(10, 500))}",
        lambda: f"W {int(rng.integers(50, 2000))} L {int(rng.integers(-500, 500))}",
        lambda: f"Se: {int(rng.integers(1, 20))}  Im: {int(rng.integers(1, 400))}",
        lambda: f"Z: {int(rng.integers(0, 200))}/{int(rng.integers(200, 400))}",
        lambda: f"T={int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}.{int(rng.integers(0, 10))}",
        lambda: f"Frame {_digits(rng, 4)}",
        lambda: f"ISO {int(rng.choice([100, 200, 400, 800, 1600, 3200]))}  f/{rng.choice(['1.8', '2.8', '4', '5.6', '8'])}",
        lambda: f"1/{int(rng.choice([30, 60, 125, 250, 500, 1000]))} s",
        lambda: f"Mag {int(rng.choice([4, 10, 20, 40, 60, 100]))}x",
        lambda: f"CH{int(rng.integers(1, 5))} {rng.choice(['DAPI', 'GFP', 'RFP', 'Cy5', 'BF'])}",
        lambda: f"{rng.uniform(0.1, 99):.1f} {rng.choice(['mm', 'cm', 'um', 'kV', 'ms', '%'])}",
        lambda: f"IMG_{_digits(rng, 4)}.{rng.choice(['JPG', 'TIF', 'dcm'])}",
        lambda: f"#{_digits(rng, 3)}-{_letters(rng, 1)}{_digits(rng, 2)}",
        lambda: random_word(rng).upper(),
        lambda: " ".join(random_word(rng) for _ in range(int(rng.integers(2, 5)))),
        lambda: str(rng.choice(list("RLAPSIHF"))),
    )
    return choices[int(rng.integers(len(choices)))]()


def random_scale_label(rng):
    """The label of a scale bar, e.g. ``'50 µm'``."""
    value = rng.choice([1, 2, 5, 10, 20, 25, 50, 100, 200, 500])
    unit = rng.choice(["µm", "um", "nm", "mm", "cm", "m", "km", "px", "Å"])
    return f"{value} {unit}" if rng.random() < 0.8 else f"{value}{unit}"
