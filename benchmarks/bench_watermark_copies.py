"""One painted copy of a stamped or tiled mark: the copies found from it, on the OWN marks.

``remove_watermark(..., mask=one copy, find_copies=True)`` (``napari_mend.watermark.copies``)
finds the other copies of the painted one and removes the mark, estimated from them all, at
every copy. Its threshold (``MIN_SCORE``, ``MIN_SPREADS``) was chosen on the project's own
generator only (stamped logos with seeds ``[5, image, k]``, never the independent generator);
this script measures it on other seeds:

* ``own, stamped``: a logo of the own generator (``synthesis.logos.procedural_logo``, softened,
  a named colour, peak opacity in [0.15, 0.5]) stamped at 4 to 7 places that do not overlap,
  seeds ``[79, image, k]``;
* ``own, tiled``: ``synthesis.add_watermark(layout='tiled')`` (a logo on a lattice, maybe
  staggered and rotated), seeds ``[80, image, k]``, as in ``bench_watermark_repeats.py``;

over the own validation images of at least 64 px resized to ``size`` x ``size``; with
``--independent`` also

* ``independent, stamped``: a multi-colour logo of the independent generator
  (``evaluation.independent.watermarks.logo``) stamped the same way on 15 of its scenes
  (seeds ``[81, image]``; reporting only, nothing is chosen on it).
 The painted
copy is one whole copy near the image's centre (for a tiled mark: the mark's pixels in one cell
of its lattice, the cell placed where the fewest mark pixels lie on cell borders), grown by 6 px
(a rough hint). The true copies are the places where the true opacity map repeats the painted
copy's (normalised correlation at least 0.9, wholly inside the image). Prints, per kind and
size: the true copies, the copies found within 1 px of a true one and the others, the mean
PSNR gain (dB) over all the mark's pixels (every copy, those cut by the border too), over the
painted copy alone and over the whole image (copies found in the wrong place harm pixels
outside the mark), with ``find_copies`` off and on, and the time per image.

    python benchmarks/bench_watermark_copies.py [--sizes 256 768] [--per-image 3] [--seed 5]
                                                [--hint grown|box] [--independent]
    python benchmarks/bench_watermark_copies.py --large 2048
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve


def stamped(clean, rng):
    """``(marked, alpha, region, painted)``: the own logo stamped at 4 to 7 places."""
    from napari_mend.synthesis._draw import soften
    from napari_mend.synthesis.layers import named_colour
    from napari_mend.synthesis.logos import procedural_logo
    from napari_mend.synthesis.watermarks import _resize

    side = clean.shape[0]
    logo = procedural_logo(rng, height=rng.uniform(0.08, 0.18) * side)
    if logo.shape[1] > 0.4 * side:
        logo = _resize(logo, 0.4 * side / logo.shape[1])
    logo = soften(logo, rng.uniform(0, 1.0) ** 2)

    def look():  # drawn after the places
        opacity = rng.uniform(0.15, 0.5)
        colour = named_colour(rng, clean.shape[-1])
        return logo * opacity, np.broadcast_to(colour, logo.shape + colour.shape)

    return stamp(clean, rng, logo.shape, look)


def independent_stamped(clean, rng):
    """``(marked, alpha, region, painted)``: a multi-colour logo of the independent generator
    (``evaluation.independent.watermarks.logo``, 10 to 20 % of the side, peak opacity 0.2 to
    0.6, its own range) stamped at 4 to 7 places. Reporting only."""
    from napari_mend.evaluation.independent.watermarks import logo

    side = clean.shape[0]
    rgb, alpha = logo(rng, int(rng.uniform(0.1, 0.2) * side))
    alpha = alpha * rng.uniform(0.2, 0.6)
    return stamp(clean, rng, alpha.shape, lambda: (alpha, rgb))


def stamp(clean, rng, shape, look):
    """``(marked, alpha, region, painted)``: a mark of ``shape`` ``(h, w)`` stamped at 4 to 7
    places that do not overlap, ``look()`` (called once the places are drawn) giving its
    opacity ``(h, w)`` and colour ``(h, w, C)``; the painted copy is the one nearest the
    centre."""
    from napari_mend.synthesis._draw import paste_max

    side = clean.shape[0]
    h, w = shape
    places, count = [], rng.integers(4, 8)
    for _ in range(2000):
        if len(places) == count:
            break
        y, x = int(rng.integers(0, side - h)), int(rng.integers(0, side - w))
        if all(abs(y - q) > h + 4 or abs(x - r) > w + 4 for q, r in places):
            places.append((y, x))
    alpha_patch, colour_patch = look()
    if clean.shape[-1] == 1:
        colour_patch = colour_patch.mean(-1, keepdims=True)
    alpha = np.zeros(clean.shape[:2], np.float32)
    colour = np.zeros(clean.shape, np.float32)
    for y, x in places:
        paste_max(alpha, alpha_patch, (y, x))
        colour[y:y + h, x:x + w] = colour_patch
    marked = (alpha[..., None] * colour + (1 - alpha[..., None]) * clean).astype(np.float32)
    region = np.abs(marked - clean).max(-1) > 1 / 255
    # the painted copy: the stamp nearest the centre
    y, x = min(places, key=lambda p: np.hypot(p[0] + h / 2 - side / 2, p[1] + w / 2 - side / 2))
    one = np.zeros(region.shape, bool)
    one[y:y + h, x:x + w] = True
    return marked, alpha, region, region & one


def tiled(clean, rng):
    """``(marked, alpha, region, painted)`` of an own tiled mark; None when it has no lattice."""
    from napari_mend.synthesis.watermarks import add_watermark
    from napari_mend.watermark.repeats import lattice

    marked, region, info = add_watermark(clean, rng, opacity=rng.uniform(0.15, 0.5),
                                         layout="tiled")
    basis = lattice(region)
    if len(basis) < 2:
        return None
    # cell coordinates (u, v) of every pixel; a copy is the mark within one cell, the cells
    # placed where the fewest mark pixels lie on their borders
    inverse = np.linalg.inv(np.array(basis, float).T)
    ys, xs = np.nonzero(region)
    centre = np.array(region.shape, float)[:, None] / 2
    uv = inverse @ (np.stack([ys, xs]) - centre)
    widths = [1.5 / np.hypot(*b) for b in basis]  # 1.5 px in cell units, per axis
    offsets = [(s / 8, t / 8) for s in range(8) for t in range(8)]

    def on_borders(offset):
        frac = (uv + np.array(offset)[:, None]) % 1
        return sum(((f < w) | (f > 1 - w)).sum() for f, w in zip(frac, widths))

    offset = min(offsets, key=on_borders)
    cell = np.floor(uv + np.array(offset)[:, None])
    centre_cell = np.floor(np.array(offset))
    painted = np.zeros(region.shape, bool)
    inside = (cell == centre_cell[:, None]).all(axis=0)
    painted[ys[inside], xs[inside]] = True
    if painted.sum() < 20:
        return None
    return marked, info["alpha"], region, painted


def true_copies(alpha, painted):
    """Shifts ``(dy, dx)`` at which the opacity map repeats the painted copy's (normalised
    correlation >= 0.9, wholly inside the image, sharing under 10 % of the painted copy)."""
    rows, cols = np.flatnonzero(painted.any(1)), np.flatnonzero(painted.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    template = (alpha * painted)[box]
    dot = fftconvolve(alpha, template[::-1, ::-1], mode="valid")
    energy = fftconvolve(alpha ** 2, (template > 0)[::-1, ::-1].astype(float), mode="valid")
    norm = np.linalg.norm(template)
    score = np.where(energy > 0.25 * norm ** 2,  # not where the map is (about) empty
                     dot / np.maximum(norm * np.sqrt(np.maximum(energy, 0)), 1e-12), 0)
    peaks = (score == ndi.maximum_filter(score, 7)) & (score >= 0.9)
    shifts = [(int(y) - box[0].start, int(x) - box[1].start) for y, x in zip(*np.nonzero(peaks))]
    return [(dy, dx) for dy, dx in shifts  # not the painted copy itself (nor overlapping it)
            if (painted & np.roll(painted, (dy, dx), axis=(0, 1))).sum() < 0.1 * painted.sum()]


INDEPENDENT = "independent, stamped"
INDEPENDENT_IMAGES = 15
"""Independent scenes (one stamped logo each) of the ``independent, stamped`` cases."""


def cases(kind, size, per_image, seed=None):
    """``(clean, marked, alpha, region, painted)`` of the own cases of ``kind``; seeds
    ``[seed, image, k]`` (default 79 stamped, 80 tiled)."""
    from skimage.transform import resize

    from napari_mend.evaluation.cross import validation_planes

    if kind == INDEPENDENT:
        from napari_mend.evaluation.independent import clean_image

        for i in range(INDEPENDENT_IMAGES):
            rng = np.random.default_rng([81 if seed is None else seed, i])
            clean = clean_image(rng, size, grey=False)
            yield (clean, *independent_stamped(clean, rng))
        return
    make, family = (stamped, 79) if kind == "own, stamped" else (tiled, 80)
    family = family if seed is None else seed
    for i, (_, clean) in enumerate(validation_planes(64)):
        clean = resize(clean, (size, size), anti_aliasing=True).astype(np.float32)
        for k in range(per_image):
            case = make(clean, np.random.default_rng([family, i, k]))
            if case is not None:
                yield (clean, *case)


HINTS = {"grown": "one copy grown by 6 px", "box": "one copy's bounding box grown by 4 px"}
"""``--hint``: the mask that paints one copy (a broad brush, or a rectangle of a Shapes layer)."""


def painted_hint(painted, hint):
    from napari_mend.evaluation.cross import grow
    from napari_mend.watermark.matting import around

    if hint == "grown":
        return grow(painted, 6)
    out = np.zeros_like(painted)
    out[around(painted, 4)] = True
    return out


def measure(kind, size, per_image, seed, hint_kind="grown"):
    import napari_mend as nm
    from napari_mend.evaluation.cross import region_psnr

    rows, n_true, hits, misses, seconds = [], 0, 0, 0, []
    for clean, marked, alpha, region, painted in cases(kind, size, per_image, seed):
        hint = painted_hint(painted, hint_kind)
        truth = true_copies(alpha, painted)
        outs = []
        for option in (False, True):
            start = time.perf_counter()
            out, provenance = nm.remove_watermark(marked, mask=hint, channel_axis=-1,
                                                  method="single", fill="telea",
                                                  find_copies=option, return_provenance=True)
            seconds.append((option, time.perf_counter() - start))
            outs.append(out)
        found = [c["shift"] for c in provenance["parameters"]["copies"]]
        good = sum(any(np.hypot(dy - ty, dx - tx) <= 1 for ty, tx in truth) for dy, dx in found)
        n_true, hits, misses = n_true + len(truth), hits + good, misses + len(found) - good
        rows.append([region_psnr(clean, o, where) - region_psnr(clean, marked, where)
                     for where in (region, painted, None) for o in outs])
    times = {o: np.mean([s for opt, s in seconds if opt == o]) for o in (False, True)}
    return len(rows), n_true, hits, misses, np.mean(rows, axis=0), times


def large(side):
    """Time and traced peak memory of ``remove_watermark`` with ``find_copies`` off and on, on
    one stamped ``side``-px RGB plane."""
    import tracemalloc

    from skimage.transform import resize

    import napari_mend as nm
    from napari_mend.evaluation.cross import grow, validation_planes

    _, clean = validation_planes(64, colour=True)[0]
    clean = resize(clean, (side, side), anti_aliasing=True).astype(np.float32)
    marked, _, _, painted = stamped(clean, np.random.default_rng([79, 0, 0]))
    print(f"\n{side} x {side} RGB (the plane {marked.nbytes / 2 ** 20:.0f} MB):")
    for option in (False, True):
        tracemalloc.start()
        start = time.perf_counter()
        _, provenance = nm.remove_watermark(marked, mask=grow(painted, 6), channel_axis=-1,
                                            method="single", fill="telea", find_copies=option,
                                            return_provenance=True)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"find_copies={option}: {len(provenance['parameters'].get('copies', []))} copies "
              f"found, {seconds:.1f} s, traced peak {peak / 2 ** 20:.0f} MB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 768])
    parser.add_argument("--per-image", type=int, default=3, help="marks per validation image")
    parser.add_argument("--seed", type=int, default=None,
                        help="first seed of every case (default 79 stamped, 80 tiled; the "
                             "threshold was chosen on 5)")
    parser.add_argument("--hint", choices=list(HINTS), default="grown",
                        help="the mask painting one copy: grown (by 6 px, default) or box (its "
                             "bounding box + 4 px)")
    parser.add_argument("--independent", action="store_true",
                        help="also the independent generator's multi-colour logos stamped on its "
                             "scenes (seeds [81, image]; reporting only)")
    parser.add_argument("--large", type=int, default=None, metavar="SIDE",
                        help="only time and trace the memory of one stamped SIDE-px RGB plane")
    args = parser.parse_args(argv)
    if args.large:
        large(args.large)
        return
    start = time.perf_counter()
    print(f"\nOwn validation images; mask = {HINTS[args.hint]}; mean PSNR gain (dB):\n")
    print("| cases | size | images | true copies | found at a true copy | found elsewhere "
          "| all copies, painted copy only | all copies, find_copies | painted copy, painted "
          "copy only | painted copy, find_copies | whole image, painted copy only | whole image, "
          "find_copies | s per image, off / on |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind in ("own, stamped", "own, tiled") + ((INDEPENDENT,) if args.independent else ()):
        for size in args.sizes:
            n, n_true, hits, misses, gains, times = measure(kind, size, args.per_image, args.seed,
                                                            args.hint)
            print(f"| {kind} | {size} | {n} | {n_true} | {hits} | {misses} | "
                  + " | ".join(f"{g:+.2f}" for g in gains)
                  + f" | {times[False]:.2f} / {times[True]:.2f} |")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
