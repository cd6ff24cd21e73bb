"""Subcommands for watermarks, moire and burned-in annotations.

* ``napari-mend unwatermark FOLDER -o OUT``: remove the watermark shared by
  the images of a folder (one image: the detector finds the mark).
* ``napari-mend demoire INPUT -o OUT``: remove moire from an image.
* ``napari-mend deidentify INPUT -o OUT``: detect and fill burned-in text
  (and any other classes asked for) and write, next to ``OUT``, a JSON
  report of every removed region (``OUT.regions.json``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cli import CLIError, _input, _output, _progress, read_image, text_completion_arg
from .detection.api import METHODS as DETECT_METHODS
from .inpainting.api import METHODS as FILL_METHODS

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


def _folder_images(folder: Path, channel_axis: str):
    if not folder.is_dir():
        raise CLIError(f"{folder}: not a folder; give a folder of images sharing one watermark")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise CLIError(f"{folder}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
    images = [read_image(p, channel_axis) for p in files]
    shapes = {data.shape for data, _, _ in images}
    if len(shapes) > 1:
        sizes = ", ".join(f"{p.name} {data.shape}" for p, (data, _, _) in zip(files, images))
        raise CLIError(f"the images differ in size ({sizes}); a collection must share one size "
                       "so its watermark lines up: crop them to a common size first")
    dtypes = {data.dtype for data, _, _ in images}
    if len(dtypes) > 1:
        raise CLIError(f"the images differ in dtype ({', '.join(map(str, dtypes))}); convert "
                       "them to one dtype first")
    return files, np.stack([data for data, _, _ in images]), images[0][1]


def cmd_unwatermark(args) -> int:
    from .io.provenance import make_provenance
    from .io.tiff import write_image_tiff
    from .special import remove_watermark

    out_dir = Path(args.output)
    if not out_dir.is_dir():
        raise CLIError(f"{out_dir} is not a folder; create the output folder first")
    files, stack, axis = _folder_images(Path(args.folder), args.channel_axis)
    targets = [out_dir / f"{p.stem}.tif" for p in files]
    for target in targets:
        _output(str(target), args.overwrite)
    mask = None
    if args.mask:
        mask = read_image(Path(args.mask), "none")[0]
    stack_axis = None if axis is None else axis % (stack.ndim - 1) + 1
    clean, changed = remove_watermark(stack, mask=mask, channel_axis=stack_axis,
                                      method=args.method, fill=args.fill,
                                      max_shift=args.max_shift, progress=_progress("unwatermark"),
                                      return_mask=True)
    for i, (source, target) in enumerate(zip(files, targets)):
        prov = make_provenance(operation="remove_watermark", method=args.method,
                               parameters={"collection": len(files), "fill": args.fill,
                                           "max_shift": args.max_shift, "source": str(source),
                                           "mask_file": args.mask},
                               image=stack[i], mask=changed[i])
        write_image_tiff(target, clean[i], provenance=prov, channel_axis=axis,
                         overwrite=args.overwrite)
    print(f"wrote {len(targets)} images to {out_dir}: changed "
          f"{int(changed.sum())} px in all ({int(changed[0].sum())} px per image)")
    return 0


def cmd_demoire(args) -> int:
    from .io.provenance import make_provenance
    from .io.tiff import write_image_tiff
    from .models.registry import card_or_none
    from .special import auto_demoire_method, demoire

    out = _output(args.output, args.overwrite)
    data, axis, source = _input(args)
    method = auto_demoire_method(args.model) if args.method == "auto" else args.method
    clean, reports = demoire(data, channel_axis=axis, method=method, model=args.model,
                             progress=_progress("demoire"), return_report=True)
    changed = np.any(clean != data, axis=axis) if axis is not None else clean != data
    prov = make_provenance(operation="demoire", method=method,
                           parameters={"requested": args.method, "source": source,
                                       "found": reports},
                           image=data, mask=changed,
                           model=(card_or_none(args.model or "demoire") if method == "learned"
                                  else None))
    write_image_tiff(out, clean, provenance=prov, channel_axis=axis, overwrite=args.overwrite)
    peaks = sum(len(r["peaks"]) for r in reports)
    print(f"wrote {out}: {method}, {peaks} moire peak(s) found, {int(changed.sum())} px changed")
    return 0


def cmd_deidentify(args) -> int:
    from .io.provenance import make_provenance
    from .io.tiff import write_image_tiff
    from .models.registry import card_or_none
    from .restore import report_path, restore, write_regions_report

    out = _output(args.output, args.overwrite)
    report_file = report_path(out)
    _output(str(report_file), args.overwrite)
    data, axis, source = _input(args)
    mended, labels, report = restore(data, channel_axis=axis, detector=args.detector,
                                     fill=args.fill, threshold=args.threshold,
                                     classes=args.classes, complete_text=args.complete_text,
                                     progress=_progress("deidentify"), return_report=True)
    detector_model = "detector" if args.detector == "learned" else None
    prov = make_provenance(operation="restore", method=f"{args.detector}+{args.fill}",
                           parameters={"threshold": args.threshold, "classes": args.classes,
                                       "complete_text": args.complete_text, "source": source,
                                       "report": report_file.name},
                           image=data, mask=labels, model=card_or_none(detector_model))
    write_image_tiff(out, mended, provenance=prov, channel_axis=axis, overwrite=args.overwrite)
    write_regions_report(report_file, report, provenance=prov, overwrite=args.overwrite)
    counts = ", ".join(f"{n} {name}" for name, n in report["counts"].items() if n)
    print(f"wrote {out} and {report_file}: removed {counts or 'no'} region(s)")
    return 0


def register(subparsers) -> None:
    """Add the ``unwatermark``, ``demoire`` and ``deidentify`` subcommands."""
    from ._sample_data import SAMPLES
    from .classes import DEFECT_CLASSES

    fills = list(FILL_METHODS)
    p = subparsers.add_parser(
        "unwatermark", help="remove the watermark shared by a folder of images",
        description="Remove a semi-transparent watermark shared by the images of FOLDER "
                    "(after Dekel et al., CVPR 2017: the more images, the better). The "
                    "images must share one size; the mark may move by a few pixels. One "
                    "image alone is handled with the detector's watermark class (or --mask). "
                    "Writes OUT/<name>.tif per image, with provenance.")
    p.add_argument("folder", help="folder of images (TIFF, PNG, JPEG, BMP)")
    p.add_argument("-o", "--output", required=True, help="output folder (must exist)")
    p.add_argument("--mask", default=None, help="mask file of the mark (non-zero = mark); "
                                                "default: found from the images")
    p.add_argument("--method", choices=["auto", "single", "collection"], default="auto")
    p.add_argument("--fill", choices=fills, default="auto",
                   help="fill for pixels too opaque to invert")
    p.add_argument("--max-shift", type=int, default=4,
                   help="largest shift (px) of the mark between images")
    p.add_argument("--channel-axis", default="auto",
                   help="colour axis: 'auto' (last axis of length 3/4), 'none', or an integer")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_unwatermark)

    def io_args(p, output_help):
        p.add_argument("input", nargs="?", help="image file (TIFF, PNG, JPEG, ...)")
        p.add_argument("-o", "--output", required=True, help=output_help)
        p.add_argument("--sample", choices=sorted(SAMPLES),
                       help="use a bundled sample image instead of INPUT")
        p.add_argument("--channel-axis", default="auto",
                       help="colour axis: 'auto' (last axis of length 3/4), 'none', or an integer")
        p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")

    p = subparsers.add_parser(
        "demoire", help="remove moire patterns; write an image TIFF",
        description="Remove moire (a screen's grid or a halftone seen by a camera). 'notch' "
                    "filters the periodic peaks of the spectrum where they occur; 'learned' "
                    "runs the shipped network; 'auto' uses the one the model card recommends. "
                    "The peaks found are recorded in the output's provenance.")
    io_args(p, "output image TIFF")
    p.add_argument("--method", choices=["auto", "notch", "learned"], default="auto")
    p.add_argument("--model", default=None, help="demoire model name or file (learned)")
    p.set_defaults(func=cmd_demoire)

    p = subparsers.add_parser(
        "deidentify", help="remove burned-in text; write the image and a report of every region",
        description="Detect burned-in annotations (patient-style text, IDs, dates, scale bars) "
                    "and fill them, as a de-identification aid. Writes OUTPUT (TIFF) and "
                    "OUTPUT.regions.json listing every removed region (class, bounding box, "
                    "pixels, detector score). Check the result: detection can miss text.")
    io_args(p, "output image TIFF")
    p.add_argument("--classes", nargs="+", choices=list(DEFECT_CLASSES.values()),
                   default=["text"], help="classes to remove (default: text)")
    p.add_argument("--detector", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--fill", choices=fills, default="auto")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="0..1; lower finds more (and removes more)")
    text_completion_arg(p)
    p.set_defaults(func=cmd_deidentify)

