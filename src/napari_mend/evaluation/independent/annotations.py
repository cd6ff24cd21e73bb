"""Burned-in annotations: ID blocks, time stamps, scale bars and arrows.

Medical, microscope and camera software write their overlays into the pixel
data: a block of acquisition lines in a corner, a date/time stamp, a scale
bar with its length, and arrows pointing at findings.  They are opaque
(white, yellow, orange or black), drawn with or without a filled box behind
them, with anti-aliased or aliased (bitmap-like) glyphs.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .compositing import confine, over
from .fonts import PILLOW_DEFAULT, ascii_fallback, pick_font

INKS = {
    "white": (1.0, 1.0, 1.0),
    "yellow": (1.0, 0.92, 0.15),
    "orange": (1.0, 0.58, 0.1),
    "black": (0.0, 0.0, 0.0),
    "green": (0.3, 1.0, 0.3),
}
"""dict of str to tuple: overlay ink colours."""


def _resize(font, path, size):
    if path == PILLOW_DEFAULT:
        try:
            return ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1: fixed-size bitmap font
            return font
    return ImageFont.truetype(path, size)


class _Canvas:
    """Collects overlay layers (alpha mask + colour) and composites them."""

    def __init__(self, image, rng, fonts_used, style):
        self.image = image
        self.out = image
        self.h, self.w = image.shape[:2]
        self.rng = rng  # what the overlays say and where arrows point
        self.style = style  # how they look and where they sit
        self.aliased = style.random() < 0.3
        self.footprint = np.zeros((self.h, self.w), bool)
        self.fonts_used = fonts_used
        self.layouts = ()  # names of the layouts drawn together, to avoid collisions

    def layer(self):
        im = Image.new("L", (self.w, self.h), 0)
        draw = ImageDraw.Draw(im)
        if self.aliased:
            draw.fontmode = "1"
        return im, draw

    def paint(self, layer, colour, opacity=1.0):
        alpha = np.asarray(layer, dtype=np.float32) / 255.0 * opacity
        self.out = over(self.out, alpha, colour)
        self.footprint |= alpha > 0

    def font(self, size, text, max_width=None, measure=None, source=None):
        """A font for ``text``, picked by ``source`` (the style's stream by default)."""
        font, path = pick_font(self.style if source is None else source, size, text)
        if path == PILLOW_DEFAULT:
            text = ascii_fallback(text)
        if max_width is not None:
            # Overlays are sized to fit the frame: shrink the font until they do.
            probe = text if measure is None else measure
            while size > 6 and font.getlength(probe) > max_width:
                size -= 1
                font = _resize(font, path, size)
        if self.fonts_used is not None:
            self.fonts_used.append(path)
        return font, text


def _ink_pair(rng, bright_only=False):
    """Text colour and a contrasting box colour (or ``None`` for no box)."""
    names = ["white", "yellow", "white", "green"] if bright_only else ["white", "yellow", "black", "white"]
    ink = INKS[names[int(rng.integers(len(names)))]]
    box = None
    if rng.random() < 0.45:
        box = (0.0, 0.0, 0.0) if sum(ink) > 1.5 else (1.0, 1.0, 1.0)
    return ink, box


def _id_lines(rng):
    year = int(rng.integers(1940, 2012))
    family = "".join(rng.choice(list("ABCDEFGHKLMNPRSTVW"), int(rng.integers(3, 8))))
    given = "".join(rng.choice(list("ABDEJKLMNORST"), int(rng.integers(2, 6))))
    lines = [
        f"ID {rng.integers(10**5, 10**7):07d}",
        f"{family}^{given}",
        f"DOB {year}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
        f"ACC {rng.integers(10**6, 10**8)}",
        f"SER {rng.integers(1, 20)} IMG {rng.integers(1, 400)}",
        f"KV {rng.integers(60, 140)} MA {rng.integers(10, 400)}",
        f"SL {rng.uniform(0.5, 10):.1f} MM",
        f"W {rng.integers(100, 2000)} L {rng.integers(-500, 500)}",
    ]
    k = int(rng.integers(2, 6))
    return [lines[i] for i in np.sort(rng.choice(len(lines), k, replace=False))]


def corner_block(canvas):
    """Patient-ID style block of 2-5 lines in a random corner."""
    style = canvas.style
    size = int(style.integers(9, 17))
    ink, box = _ink_pair(style)
    lines = _id_lines(canvas.rng)
    longest = max(lines, key=len)  # a proxy; widths are measured below
    font, _ = canvas.font(size, "".join(lines), max_width=canvas.w - 24, measure=longest)
    spacing = int(getattr(font, "size", size) * style.uniform(1.05, 1.35))
    widths = [int(np.ceil(font.getlength(t))) for t in lines]
    glyph_bottom = max(font.getbbox(t)[3] for t in lines)
    block_w, block_h = max(widths), spacing * (len(lines) - 1) + glyph_bottom + 1
    margin = int(style.integers(2, 10))
    top = style.random() < 0.6 or bool({"time_stamp", "scale_bar"} & set(canvas.layouts))
    left = style.random() < 0.6
    x0 = margin if left else canvas.w - margin - block_w
    y0 = margin if top else canvas.h - margin - block_h
    if box is not None:
        layer, draw = canvas.layer()
        draw.rectangle([x0 - 2, y0 - 2, x0 + block_w + 2, y0 + block_h + 1], fill=255)
        canvas.paint(layer, box, style.uniform(0.7, 1.0))
    layer, draw = canvas.layer()
    for i, (text, tw) in enumerate(zip(lines, widths)):
        x = x0 if left else x0 + block_w - tw
        draw.text((x, y0 + i * spacing), text, font=font, fill=255)
    canvas.paint(layer, ink)


def time_stamp(canvas):
    """Date/time stamp, e.g. a camera's orange date or a DICOM-like time line."""
    rng, style = canvas.rng, canvas.style
    y, mo, d = int(rng.integers(1988, 2030)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    hh, mm, ss = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
    formats = [
        f"{y}-{mo:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}",
        f"{d:02d}/{mo:02d}/{y} {hh:02d}:{mm:02d}",
        f"'{y % 100:02d} {mo} {d}",
        f"{hh:02d}:{mm:02d}:{ss:02d}.{rng.integers(0, 1000):03d}",
        f"T+{rng.integers(0, 999)}.{rng.integers(0, 10)} s",
    ]
    text = formats[int(style.integers(len(formats)))]
    camera = text.startswith("'") or style.random() < 0.3
    ink = INKS["orange"] if camera else _ink_pair(style)[0]
    font, text = canvas.font(int(style.integers(10, 22)), text, max_width=canvas.w - 30)
    tw = int(np.ceil(font.getlength(text)))
    box = font.getbbox(text)
    th = box[3]
    margin = int(style.integers(3, 14))
    x = canvas.w - margin - tw if style.random() < 0.7 else margin
    bottom = style.random() < 0.75
    if "scale_bar" in canvas.layouts or "corner_block" in canvas.layouts:
        bottom = "scale_bar" not in canvas.layouts
    yy = canvas.h - margin - th if bottom else margin
    layer, draw = canvas.layer()
    draw.text((x, yy), text, font=font, fill=255)
    canvas.paint(layer, ink)


def scale_bar(canvas):
    """Microscope scale bar with its length label, e.g. ``50 µm``."""
    style = canvas.style  # one microscope at one magnification: all of it is style
    length = int(style.integers(25, max(26, canvas.w // 3)))
    thick = int(style.integers(2, 7))
    value = int(style.choice([1, 2, 5, 10, 20, 25, 50, 100, 200, 500]))
    unit = str(style.choice(["\u00b5m", "nm", "mm", "\u00b5m"]))
    label = f"{value} {unit}"
    ink, box = _ink_pair(style)
    font, label = canvas.font(int(style.integers(9, 18)), label, max_width=canvas.w // 2)
    tw = int(np.ceil(font.getlength(label)))
    th = font.getbbox(label)[3]
    width = max(length, tw)
    margin = int(style.integers(6, 20))
    x0 = canvas.w - margin - width if style.random() < 0.7 else margin
    y0 = canvas.h - margin - th - thick - 4
    label_above = style.random() < 0.7
    if box is not None:
        layer, draw = canvas.layer()
        draw.rectangle([x0 - 4, y0 - 4, x0 + width + 4, y0 + th + thick + 7], fill=255)
        canvas.paint(layer, box, style.uniform(0.6, 1.0))
    layer, draw = canvas.layer()
    bar_x = x0 + (width - length) // 2
    text_x = x0 + (width - tw) // 2
    if label_above:
        draw.text((text_x, y0), label, font=font, fill=255)
        draw.rectangle([bar_x, y0 + th + 3, bar_x + length - 1, y0 + th + 2 + thick], fill=255)
    else:
        draw.rectangle([bar_x, y0, bar_x + length - 1, y0 + thick - 1], fill=255)
        draw.text((text_x, y0 + thick + 2), label, font=font, fill=255)
    canvas.paint(layer, ink)


def arrows(canvas):
    """One to three arrows pointing at something, sometimes with a letter."""
    rng, style = canvas.rng, canvas.style
    ink, _ = _ink_pair(style, bright_only=style.random() < 0.7)
    layer, draw = canvas.layer()
    for _ in range(int(rng.integers(1, 4))):
        tip = np.array([rng.uniform(0.15, 0.85) * canvas.w, rng.uniform(0.15, 0.85) * canvas.h])
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(18, 60)
        width = int(rng.integers(1, 4))
        head = rng.uniform(6, 12)
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        tail = tip - direction * length
        base = tip - direction * head
        draw.line([tuple(tail), tuple(base)], fill=255, width=width)
        spread = head * rng.uniform(0.35, 0.6)
        draw.polygon([tuple(tip), tuple(base + normal * spread), tuple(base - normal * spread)], fill=255)
        if rng.random() < 0.5:
            letter = str(rng.choice(list("ABCDE*123")))
            # Picked by rng: a style stream drawn from a varying number of times
            # would not be shared by the overlays drawn after the arrows.
            font, letter = canvas.font(int(rng.integers(10, 18)), letter, source=rng)
            pos = tail - direction * 4 - np.array([font.getlength(letter) / 2, 6])
            draw.text(tuple(pos), letter, font=font, fill=255)
    canvas.paint(layer, ink)


LAYOUTS = {
    "corner_block": corner_block,
    "time_stamp": time_stamp,
    "scale_bar": scale_bar,
    "arrows": arrows,
}
"""dict of str to callable: annotation layouts."""


def add_text(image, rng, fonts_used=None, style=None):
    """Burn one or two annotation layouts into an image.

    Parameters
    ----------
    image : ndarray of float32, shape (H, W) or (H, W, 3)
        Clean image in [0, 1].
    rng : numpy.random.Generator
        Source of what the overlays say and where arrows point.
    fonts_used : list, optional
        If given, the path of every font used is appended to it.
    style : numpy.random.Generator, optional
        Source of the layouts, fonts, sizes, inks and places (what the
        overlays of one device share, see :func:`.generator.damaged_sample`);
        ``rng`` by default.

    Returns
    -------
    damaged : ndarray of float32
        Same shape as ``image``.
    footprint : ndarray of bool, shape (H, W)
        Pixels covered by the overlay.
    """
    style = rng if style is None else style
    canvas = _Canvas(image, rng, fonts_used, style)
    names = list(LAYOUTS)
    k = int(style.choice([1, 1, 2]))
    chosen = [names[int(i)] for i in style.choice(len(names), k, replace=False)]
    canvas.layouts = tuple(chosen)
    for name in chosen:
        LAYOUTS[name](canvas)
    return confine(image, canvas.out, canvas.footprint), canvas.footprint
