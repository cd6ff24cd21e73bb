"""Teaching by example on the independent validation generator: quality and speed.

For each defect kind a *collection* is built: several images of one clean-scene kind, each
damaged with that defect kind (``napari_mend.evaluation.independent``, which shares no code
with the training synthesiser). At most 20 strokes are simulated on the FIRST image only:
half short brush lines or discs inside the true labels (the defect's class), half short
lines on clean pixels (``CLEAN_LABEL``). Each method is fitted on those strokes and
scored by pixel F1 of that class on the collection's OTHER images:

* ``teach, <variant>``: :func:`napari_mend.teach` (random forest) on the feature set of each
  variant of :data:`VARIANTS` (``--variants``): ``default`` (from the network's decisions;
  filter banks with exact disk top-hats and the base network's 6 calibrated class scores at
  full resolution, exactly as the detector scores a plane), ``default-plain`` (the network's
  scores from one plain pass in tiles of up to 1024 px, the default before),
  ``strokes-only`` (the same features, one forest on the strokes alone),
  ``scores-half`` (the scores computed on the image shrunk by 2), ``all-half`` (also the
  16 channels the network's head reads, shrunk by 2), ``filters`` (filter banks only),
  ``default-square`` (square top-hats), ``default-sequence`` (the approximate disks of
  ``decomposition='sequence'``), ``previous`` (the default before: all 22 network
  features shrunk by 2, approximate disks), and ``trees64``, ``leaf10`` and ``depth8``, the
  default with other forests (64 trees; leaves of at least 10 pixels; at most 8 deep);
* ``skimage``: scikit-image's trainable segmenter (``skimage.future.fit_segmenter`` with
  ``multiscale_basic_features`` and a ``RandomForestClassifier``), the anchor to beat;
* ``zero-shot``: the shipped detector, nothing taught, threshold 0.5;
* with ``--adapt-minutes M``: the detector is first fine-tuned for M minutes on the
  collection's images, unlabelled (:func:`napari_mend.finetune.finetune`: defects synthesised
  on them), then ``teach, adapted`` teaches on it and ``adapted, zero-shot`` is it untaught;
* with ``--corrections``: the way the dock is used: 10 strokes, Teach, then 10 more started
  on what that model got wrong on the first image (clean strokes on its false detections,
  defect strokes on its misses), Teach again: still at most 20 strokes;
* with ``--label-everything``: every pixel of the first image is labelled (its true defects,
  clean elsewhere) instead of the strokes: how well the features tell the defects apart at
  best, on the other images and (``(image taught)`` columns) on the image taught.

Then Teach is timed on two 1-megapixel images (scratches on a grey one, blotches on a
colour one) and prediction speed is measured.

    python benchmarks/bench_teach.py [--images 5] [--size 256] [--seed 0] [--threads 2]
                                     [--variants default filters ...] [--repeat 3] [--one-look]

With ``--one-look`` the defects of a collection share one look (the independent generator's
``style=``): scratches of one polarity, direction and cross-section, dust of one polarity and
defocus, stains of one liquid, overlays of one layout, font and ink, one watermark at one
place, one print screen and scanner; where they lie, how many and how large is drawn per image.
That is the collection the teach target describes (one camera or scanner, one defect kind);
without it each image's look is drawn anew from the generator's whole range.

Collection ``c`` (defect class 1..6) is drawn with seed ``--seed + c``. The default feature set
was chosen on ``--seed 0`` (seeds 1..6); the table reported in ``docs/teach.md`` is on
``--seed 1000`` (seeds 1001..1006), collections that played no part in the choice.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

VARIANTS = {  # name -> teach keyword arguments: FeatureSettings ones, and from_base
    "default": {},  # from the network's decisions; its 6 class scores, exact disk top-hats
    "default-plain": {"network_scoring": "plain"},  # the default before: one pass in large tiles
    "default-sigma16": {"sigmas": (1.0, 2.0, 4.0, 8.0, 16.0)},  # wider context for stains
    "strokes-only": {"from_base": False},  # one forest on the strokes alone
    "scores-half": {"network_factor": 2, "from_base": False},
    "all-half": {"network_features": "all", "network_factor": 2, "from_base": False},
    "filters": {"network": False, "from_base": False},
    "default-square": {"tophat_shape": "square", "from_base": False},
    "default-sequence": {"tophat_shape": "disk-sequence", "from_base": False},
    "previous": {"network_features": "all", "network_factor": 2,
                 "tophat_shape": "disk-sequence", "from_base": False},
    "trees64": {"classifier": {"n_estimators": 64}},  # the default's forests, twice the trees
    "leaf10": {"classifier": {"min_samples_leaf": 10}},  # ... leaves of at least 10 pixels
    "depth8": {"classifier": {"max_depth": 8}},  # ... at most 8 deep
}
"""Ways of teaching compared (``teach, <name>`` columns)."""

SPEED_CLASSES = (1, 3)
"""Collections timed: scratches on a grey image, blotches on a colour one."""

COLLECTIONS = {  # defect class -> (scene kind, grey)
    1: ("relief_landscape", True),
    2: ("micrograph", True),
    3: ("shaded_cells", False),
    4: ("micrograph", False),
    5: ("gabor_patchwork", False),
    6: ("relief_landscape", False),
}


def teach_options(variant):
    """``features=`` and ``from_base=`` of :func:`napari_mend.teach` for a variant."""
    import napari_mend as nm

    options = dict(VARIANTS[variant])
    from_base = options.pop("from_base", True)
    classifier = options.pop("classifier", None)
    return {"features": nm.FeatureSettings(**options), "from_base": from_base,
            "classifier": classifier}


def collection(cls, n, size, rng, one_look=False):
    """``n`` (damaged, truth) pairs of one scene kind and defect kind; with ``one_look`` the
    defects of all of them share one look (``style=`` of ``damaged_sample``: one scanner, film,
    liquid or overlay layout), else each image's look is drawn anew."""
    from napari_mend.evaluation.independent import damaged_sample
    from napari_mend.evaluation.independent.clean_scenes import clean_image

    kind, grey = COLLECTIONS[cls]
    style = int(rng.integers(2**31)) if one_look else None
    out = []
    for _ in range(n):
        clean = clean_image(rng, size, kind=kind, grey=grey)
        damaged, labels = damaged_sample(clean, cls, rng, style=style)[:2]
        truth = labels == cls
        if truth.mean() > 0.6:  # moire over the whole frame: keep it on the right half only
            half = damaged.shape[1] // 2
            damaged[:, :half], truth[:, :half] = clean[:, :half], False
        out.append((damaged.astype(np.float32), truth))
    return out


def simulate_strokes(truth, cls, rng, n_strokes=20):
    """At most ``n_strokes`` strokes: half inside ``truth`` (value ``cls``), half clean."""
    from napari_mend import CLEAN_LABEL

    strokes = np.zeros(truth.shape, np.uint8)
    far = _far_from(truth)
    for value, allowed in ((cls, truth), (CLEAN_LABEL, far)):
        _paint(strokes, value, allowed, allowed, n_strokes // 2, rng)
    return strokes


def correct_strokes(strokes, truth, found, cls, rng, n_strokes=10):
    """``strokes`` and at most ``n_strokes`` more where a taught model erred on their image, as a
    curator adds them: half clean strokes started on its false detections ``found & ~truth``
    (on pixels at least 3 px from a defect), half defect strokes started on what it missed;
    all of one kind when there is none of the other."""
    from napari_mend import CLEAN_LABEL

    out = strokes.copy()
    far = _far_from(truth)
    wrong, missed = found & far, truth & ~found
    n_clean = n_strokes if not missed.any() else 0 if not wrong.any() else n_strokes // 2
    _paint(out, CLEAN_LABEL, far, wrong, n_clean, rng)
    _paint(out, cls, truth, missed, n_strokes - n_clean, rng)
    return out


def _far_from(truth):
    """Pixels at least 3 px from ``truth`` (or, where it covers almost everything, outside it)."""
    from scipy import ndimage as ndi

    far = ~ndi.binary_dilation(truth, iterations=3)
    return far if far.any() else ~truth


def _paint(strokes, value, allowed, starts, n, rng):
    """``n`` strokes of ``value`` into ``strokes``, each started on a random pixel of
    ``starts`` and kept to ``allowed``: a disc of radius 2..4 or a short brush line."""
    from scipy import ndimage as ndi
    from skimage.draw import disk, line

    from napari_mend import CLEAN_LABEL

    ys, xs = np.nonzero(starts)
    if ys.size == 0:
        return
    h, w = strokes.shape
    for _ in range(n):
        i = rng.integers(ys.size)
        mark = np.zeros(strokes.shape, bool)
        if rng.random() < 0.5:  # a disc of radius 2..4
            rr, cc = disk((ys[i], xs[i]), rng.integers(2, 5), shape=strokes.shape)
        else:  # a short brush line of 8..24 px, 3 px wide
            length, angle = rng.integers(8, 25), rng.uniform(0, np.pi)
            r1 = int(np.clip(ys[i] + length * np.sin(angle), 0, h - 1))
            c1 = int(np.clip(xs[i] + length * np.cos(angle), 0, w - 1))
            rr, cc = line(ys[i], xs[i], r1, c1)
        mark[rr, cc] = True
        mark = ndi.binary_dilation(mark) if value == CLEAN_LABEL else mark
        strokes[mark & allowed] = value


def f1(pred, truth):
    tp = np.count_nonzero(pred & truth)
    denominator = np.count_nonzero(pred) + np.count_nonzero(truth)
    return 2 * tp / denominator if denominator else 1.0


def adapt(images, cls, args) -> str:
    """Fine-tune the detector on the collection's images, unlabelled (defects synthesised on
    them, :func:`napari_mend.finetune.finetune`), for ``--adapt-minutes``; its model name."""
    from napari_mend.finetune import finetune

    name = f"bench-teach-adapted-{cls}"
    finetune("detector", [im for im, _ in images], name=name, minutes=args.adapt_minutes,
             crop=96, seed=args.seed, overwrite=True)
    return name


def skimage_segmenter(image, strokes, cls):
    from skimage.feature import multiscale_basic_features
    from skimage.future import fit_segmenter, predict_segmenter
    from sklearn.ensemble import RandomForestClassifier

    from napari_mend import CLEAN_LABEL

    axis = -1 if image.ndim == 3 else None
    features = partial(multiscale_basic_features, intensity=True, edges=True, texture=True,
                       sigma_min=1, sigma_max=16, channel_axis=axis)
    training = np.zeros(strokes.shape, np.uint8)  # skimage: 0 unlabelled, 1 clean, 2 defect
    training[strokes == CLEAN_LABEL] = 1
    training[strokes == cls] = 2
    clf = RandomForestClassifier(n_estimators=50, n_jobs=-1, max_depth=10, max_samples=0.05,
                                 random_state=0)
    clf = fit_segmenter(training, features(image), clf)
    return lambda other: predict_segmenter(features(other), clf) == 2


def quality(args):
    import napari_mend as nm

    rows = []
    for cls, name in nm.DEFECT_CLASSES.items():
        rng = np.random.default_rng(args.seed + cls)
        images = collection(cls, args.images, args.size, rng, args.one_look)
        first, truth = images[0]
        strokes = simulate_strokes(truth, cls, rng)
        if args.label_everything:  # every pixel of the first image: the features' ceiling
            strokes = np.where(truth, cls, nm.CLEAN_LABEL).astype(np.uint8)
        axis = -1 if first.ndim == 3 else None
        scores = {}
        for variant in args.variants:
            label = f"teach, {variant}"
            model = nm.teach(first, strokes, channel_axis=axis, **teach_options(variant))
            scores[label] = [f1(nm.detect(im, channel_axis=axis, model=model) == cls, t)
                             for im, t in images[1:]]
            if args.label_everything:
                scores[f"{label} (image taught)"] = [
                    f1(nm.detect(first, channel_axis=axis, model=model) == cls, truth)]
            if args.corrections:  # half the strokes, then the rest where that model erred
                draw = np.random.default_rng([args.seed, cls, 2])
                half = simulate_strokes(truth, cls, draw, n_strokes=10)
                first_try = nm.teach(first, half, channel_axis=axis, **teach_options(variant))
                found = nm.detect(first, channel_axis=axis, model=first_try) == cls
                corrected = correct_strokes(half, truth, found, cls, draw, n_strokes=10)
                model = nm.teach(first, corrected, channel_axis=axis, **teach_options(variant))
                scores[f"{label}, 10 + 10 corrections"] = [
                    f1(nm.detect(im, channel_axis=axis, model=model) == cls, t)
                    for im, t in images[1:]]
        predict = skimage_segmenter(first, strokes, cls)
        scores["skimage"] = [f1(predict(im), t) for im, t in images[1:]]
        scores["zero-shot"] = [f1(nm.detect(im, channel_axis=axis) == cls, t)
                               for im, t in images[1:]]
        if args.adapt_minutes:
            adapted = adapt(images, cls, args)
            model = nm.teach(first, strokes, channel_axis=axis, base_model=adapted)
            scores["teach, adapted"] = [f1(nm.detect(im, channel_axis=axis, model=model) == cls, t)
                                        for im, t in images[1:]]
            scores["adapted, zero-shot"] = [
                f1(nm.detect(im, channel_axis=axis, model=adapted) == cls, t)
                for im, t in images[1:]]
        kind, grey = COLLECTIONS[cls]
        rows.append((name, f"{kind}{' (grey)' if grey else ''}",
                     int((strokes == cls).sum()), int((strokes == nm.CLEAN_LABEL).sum()),
                     {k: float(np.mean(v)) for k, v in scores.items()}))
    methods = list(rows[0][4])
    look = "one look per collection" if args.one_look else "each image's look drawn anew"
    print(f"\nPixel F1 on the {args.images - 1} other images of each collection "
          f"({args.size} x {args.size}, {look}), strokes on one image:\n")
    print("| defect | scene | defect px | clean px | " + " | ".join(methods) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(methods))
    for name, scene, n_defect, n_clean, s in rows:
        print(f"| {name} | {scene} | {n_defect} | {n_clean} | "
              + " | ".join(f"{s[m]:.3f}" for m in methods) + " |")
    means = {m: np.mean([r[4][m] for r in rows]) for m in methods}
    print("| **mean** | | | | " + " | ".join(f"**{means[m]:.3f}**" for m in methods) + " |")


def speed(args):
    import napari_mend as nm
    from napari_mend.teaching.model import NETWORK_SUPPORT

    print("\nSpeed on 1024 x 1024 images (1.05 MP), "
          f"{nm.configure_threads(args.threads)} threads, best of {args.repeat}; strokes on "
          "scratches of a grey image and on blotches of a colour one (*supported*: the class "
          "the network supports on its strokes, so the forests run only where it scores it "
          f"at least {NETWORK_SUPPORT}):\n")
    print("| features | defect | supported | teach (s) | predict (s) | predict (MP/s) |")
    print("|---|---|---|---:|---:|---:|")
    for cls in SPEED_CLASSES:
        rng = np.random.default_rng(args.seed)
        (image, truth), = collection(cls, 1, 1024, rng)
        strokes = simulate_strokes(truth, cls, rng)
        axis = -1 if image.ndim == 3 else None
        megapixels = truth.size / 1e6
        for label in args.speed_variants:
            options = teach_options(label)
            nm.teach(image[:256, :256], strokes[:256, :256], channel_axis=axis, **options) \
                if (strokes[:256, :256] == cls).any() else None  # warm-up: load the network
            taught, predicted = [], []
            for _ in range(args.repeat):
                start = time.perf_counter()
                model = nm.teach(image, strokes, channel_axis=axis, **options)
                taught.append(time.perf_counter() - start)
                start = time.perf_counter()
                model.detect_scores(image, channel_axis=axis)
                predicted.append(time.perf_counter() - start)
            supported = "yes" if model.support[model.labels.index(cls)] else "no"
            print(f"| {label} | {nm.DEFECT_CLASSES[cls]} | {supported} | {min(taught):.2f} | "
                  f"{min(predicted):.2f} | {megapixels / min(predicted):.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5, help="images per collection")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="ways of teaching to compare (default all)")
    parser.add_argument("--speed-variants", nargs="+", choices=list(VARIANTS),
                        default=["default", "strokes-only", "filters"],
                        help="ways timed (default: default strokes-only filters)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timings per way; the best is reported (default 3)")
    parser.add_argument("--adapt-minutes", type=float, default=0.0,
                        help="also fine-tune the detector on each collection's images, "
                             "unlabelled, for this long, then teach on it ('teach, adapted' "
                             "and 'adapted, zero-shot' columns; 0: not)")
    parser.add_argument("--label-everything", action="store_true",
                        help="teach on every pixel of the first image (its true labels, clean "
                             "elsewhere) instead of the strokes: what the features can tell "
                             "apart at best")
    parser.add_argument("--corrections", action="store_true",
                        help="also teach as a curator does in the dock: 10 strokes, Teach, then "
                             "10 more where that model erred on the image, Teach again "
                             "('<variant>, 10 + 10 corrections' columns)")
    parser.add_argument("--one-look", action="store_true",
                        help="the defects of a collection share one look, as from one scanner, "
                             "film, liquid or overlay layout (where they lie stays random); "
                             "default: each image's look drawn anew")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    if args.adapt_minutes:  # the adapted detectors go to a throw-away model folder
        import os
        import tempfile

        os.environ.setdefault("NAPARI_MEND_MODEL_DIR", tempfile.mkdtemp(prefix="bench-teach-"))
    import napari_mend as nm

    nm.configure_threads(args.threads)
    if not args.skip_quality:
        quality(args)
    if not args.skip_speed:
        speed(args)


if __name__ == "__main__":
    main()
