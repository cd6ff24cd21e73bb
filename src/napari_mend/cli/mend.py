"""``napari-mend detect``, ``inpaint`` and ``restore``: find defects and mend them, one image."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..batch.one_file import restore_file, zarr_labels_path
from ..classes import DEFECT_CLASSES
from ..detection.api import METHODS as DETECT_METHODS
from ..detection.api import detect_scores
from ..inpainting import fill_names
from ..inpainting.api import inpaint
from ..io.formats import LABELS_FORMATS, write_image, write_labels
from ..io.images import read_image
from .files import (
    check_image_fits,
    check_output,
    image_output,
    input_for_restore,
    lazy_input,
    read_input,
)
from .options import (
    IMAGE_OUTPUT_HELP,
    input_arguments,
    terminal_progress,
    text_completion_arg,
)


def cmd_detect(args) -> int:
    image_output(args, formats=LABELS_FORMATS, what="Labels")
    out = check_output(args.output, args.overwrite, inputs=[args.input])
    data, axis, source = read_input(args)
    scores = detect_scores(data, channel_axis=axis, method=args.method, model=args.model,
                           progress=terminal_progress("detect"))
    labels = scores.labels(threshold=args.threshold, classes=args.classes)
    prov = scores.provenance(data, labels, threshold=args.threshold, classes=args.classes,
                             source=source)
    write_labels(out, labels, class_names=DEFECT_CLASSES, provenance=prov,
                 overwrite=args.overwrite)
    counts = {DEFECT_CLASSES[v]: int((labels == v).sum()) for v in DEFECT_CLASSES}
    print(f"wrote {out}: " + ", ".join(f"{k} {n} px" for k, n in counts.items() if n) or "no defects")
    return 0


def cmd_inpaint(args) -> int:
    fmt = image_output(args)
    out = check_output(args.output, args.overwrite, inputs=[args.input, args.mask])
    data, axis, source = read_input(args)
    check_image_fits(fmt, data, axis, args)
    mask_path = Path(args.mask)
    mask = read_image(mask_path, "none").data  # a Labels TIFF's values, or any image file
    mended, prov = inpaint(data, mask, channel_axis=axis, method=args.method, model=args.model,
                           progress=terminal_progress("inpaint"), return_provenance=True)
    prov["parameters"].update(mask_file=str(mask_path), source=source)
    write_image(out, mended, provenance=prov, channel_axis=axis, overwrite=args.overwrite)
    print(f"wrote {out}: filled {int(np.count_nonzero(mask))} px with {args.method}")
    return 0


def cmd_restore(args) -> int:
    fmt = image_output(args, extra=(".mend", ".zarr"))
    inputs = [args.input]
    out = check_output(args.output, args.overwrite, inputs=inputs)
    if fmt == ".zarr":
        written = f"{out} and " + str(check_output(zarr_labels_path(out), args.overwrite,
                                                    inputs=inputs))
        data, axis, source = lazy_input(args)
        in_blocks = True
    else:
        written = str(out)
        data, axis, source, in_blocks = input_for_restore(args)
    check_image_fits(fmt, data, axis, args, lazy=in_blocks)
    detector = args.detector
    if args.detector_model:
        detector = args.detector_model
    provenance = restore_file(out, data, axis, source, in_blocks=in_blocks,
                              detector=detector, fill=args.fill, threshold=args.threshold,
                              classes=args.classes, complete_text=args.complete_text,
                              overwrite=args.overwrite, progress=terminal_progress("restore"))
    found = provenance["mask"]["label_counts"]
    summary = ", ".join(f"{k} {n} px" for k, n in found.items()) or "no defects found"
    print(f"wrote {written}{' (block by block)' if in_blocks else ''}: {summary}")
    _note_unattended(args.classes, provenance["parameters"].get("classes"))
    return 0


def _note_unattended(asked, used) -> None:
    """Say which classes an unattended restore left alone (the detector card's choice)."""
    if asked is not None or used is None:
        return
    left = [c for c in DEFECT_CLASSES.values() if c not in used]
    if left:
        print(f"napari-mend: note: not looked for unattended: {', '.join(left)} (their precision "
              "on unseen images is too low to mend them unchecked; pass --classes to include "
              "them, or review with 'napari-mend detect')", file=sys.stderr)


def register(subparsers) -> None:
    """Add the ``detect``, ``inpaint`` and ``restore`` subcommands."""
    classes = list(DEFECT_CLASSES.values())
    p = subparsers.add_parser("detect", help="find defects; write Labels (one value per class)",
                              description="Detect defects and write Labels whose values are "
                                          f"the classes {DEFECT_CLASSES}, with class names and "
                                          "provenance in the file's metadata.")
    input_arguments(p, output_help="output Labels: NAME.tif (class names and provenance in its "
                                   "metadata) or NAME.png (provenance in a text chunk)")
    p.add_argument("--method", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--model", default=None, help="detector model name or file")
    p.add_argument("--threshold", type=float, default=0.5, help="0..1; lower finds more")
    p.add_argument("--classes", nargs="+", choices=classes, default=None)
    p.set_defaults(func=cmd_detect)

    p = subparsers.add_parser("inpaint", help="fill the pixels of a mask; write the mended image",
                              description="Fill the non-zero pixels of MASK (a Labels TIFF or "
                                          "any image file) and write the mended image in the "
                                          "format OUTPUT's suffix names.")
    input_arguments(p, output_help=IMAGE_OUTPUT_HELP)
    p.add_argument("--mask", required=True, help="mask or Labels file (non-zero = fill)")
    p.add_argument("--method", choices=list(fill_names()), default="auto")
    p.add_argument("--model", default=None,
                   help="inpainter model name or file for 'learned' and 'auto'")
    p.set_defaults(func=cmd_inpaint)

    p = subparsers.add_parser(
        "restore", help="detect and mend in one step",
        description="Detect defects and mend them. OUTPUT ending in .mend writes a bundle "
                    "(original, defects, mended, provenance) that napari opens as three "
                    "layers; ending in .zarr, a zarr array and the defect Labels beside it "
                    "(NAME.labels.zarr), both with the provenance, computed block by block in "
                    "bounded memory (TIFF and zarr inputs are read lazily): for images of any "
                    "size; else the mended image in the format the suffix names.")
    input_arguments(p, output_help="output bundle (NAME.mend), zarr array (NAME.zarr), or "
                                   "image: " + IMAGE_OUTPUT_HELP)
    p.add_argument("--detector", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--detector-model", default=None, metavar="FILE",
                   help="a taught model file (NAME.mendmodel from 'napari-mend teach') to "
                        "detect with instead of --detector")
    p.add_argument("--fill", choices=list(fill_names()), default="auto")
    p.add_argument("--threshold", type=float, default=None,
                   help="0..1; lower finds more (default: the detector card's threshold for "
                        "unattended mending, 0.7 for the shipped detector)")
    p.add_argument("--classes", nargs="+", choices=classes, default=None,
                   help="classes to detect and mend (default: those the detector card lists "
                        "for unattended mending: all but watermark for the shipped detector)")
    text_completion_arg(p)
    p.set_defaults(func=cmd_restore)
