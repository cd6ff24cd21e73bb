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

from ..batch.one_file import restored_in_blocks
from ..classes import DEFECT_CLASSES
from ..detection.api import METHODS as DETECT_METHODS
from ..inpainting import fill_names
from ..io.formats import write_image
from ..io.images import IMAGE_SUFFIXES, read_image
from ..io.provenance import make_provenance
from ..io.tiff import write_image_tiff
from ..moire.api import demoire
from ..progress import report
from ..regions import regions_report, report_path, write_regions_report
from ..restore import restore
from ..watermark.api import (
    MIN_COLLECTION,
    collection_watermark,
    remove_collection_watermark,
    remove_watermark,
    resolved_method,
    watermark_mask,
)
from .files import (
    CLIError,
    check_image_fits,
    check_output,
    image_output,
    input_for_restore,
    make_folder,
    read_input,
)
from .options import (
    IMAGE_OUTPUT_HELP,
    input_arguments,
    terminal_progress,
    text_completion_arg,
)

CHANNEL_AXIS_HELP = "colour axis: 'auto' (last axis of length 3/4), 'none', or an integer"
"""``--channel-axis`` help of these subcommands."""


def _folder_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise CLIError(f"{folder}: not a folder; give a folder of images sharing one watermark")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise CLIError(f"{folder}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _read_collection(files: list[Path], channel_axis: str):
    """``(stack, channel_axis)`` of images that must share one size and dtype."""
    images = [read_image(p, channel_axis) for p in files]
    shapes = {image.data.shape for image in images}
    if len(shapes) > 1:
        sizes = ", ".join(f"{p.name} {image.data.shape}" for p, image in zip(files, images))
        raise CLIError(f"the images differ in size ({sizes}); a collection must share one size "
                       "so its watermark lines up: crop them to a common size first")
    dtypes = {image.data.dtype for image in images}
    if len(dtypes) > 1:
        raise CLIError(f"the images differ in dtype ({', '.join(map(str, dtypes))}); convert "
                       "them to one dtype first")
    return np.stack([image.data for image in images]), images[0].channel_axis


def _sample(files: list[Path], size: int) -> list[Path]:
    """``size`` files spread evenly over ``files`` (all of them if there are no more)."""
    picks = np.unique(np.linspace(0, len(files) - 1, min(size, len(files))).round().astype(int))
    return [files[i] for i in picks]


def _targets(files: list[Path], out_dir: Path) -> list[Path]:
    """``OUT/<name>.tif`` for each input; refused when two inputs share a name (``a.png`` and
    ``a.tif``), since one would be lost."""
    targets = [out_dir / f"{p.stem}.tif" for p in files]
    seen = {}
    for source, target in zip(files, targets):
        if target in seen:
            raise CLIError(f"{seen[target].name} and {source.name} would both be written as "
                           f"{target}; rename or move one of them")
        seen[target] = source
    return targets


def cmd_unwatermark(args) -> int:
    if args.sample < 2:
        raise CLIError(f"--sample must be at least 2 (got {args.sample})")
    if args.find_copies and not args.mask:
        raise CLIError("--find-copies needs --mask: a mask file that paints one copy of the "
                       "mark (a rough region round it will do)")
    if args.find_copies and args.method == "collection":
        raise CLIError("--find-copies finds a mark's copies within each image: use it with "
                       "--method single (or auto), not collection")
    method = "single" if args.find_copies else args.method
    files = _folder_files(Path(args.folder))
    out_dir = make_folder(Path(args.output))
    targets = _targets(files, out_dir)
    if not args.mask and resolved_method(method, len(files)) == "single":
        raise CLIError(
            f"{'--method single' if method == 'single' else f'{len(files)} image(s)'} and no "
            "--mask: on one image the detector alone finds too little of a mark, and too much "
            "that is not one, to remove it unchecked. Give --mask: a mark painted in napari "
            "(a broad brush round it will do), or `napari-mend detect IMAGE -o defects.tif` "
            "checked and corrected (its watermark class is the mark); or a folder of "
            f"{MIN_COLLECTION} or more images sharing the mark, which reveal it without one")
    for target in targets:
        check_output(str(target), args.overwrite, inputs=[*files, args.mask])
    mask = None
    if args.mask:
        mask = watermark_mask(read_image(Path(args.mask), "none").data)
    streamed = method != "single" and len(files) > args.sample
    sample = _sample(files, args.sample) if streamed else files
    stack, axis = _read_collection(sample, args.channel_axis)
    stack_axis = None if axis is None else axis % (stack.ndim - 1) + 1
    parameters = {"collection": len(files), "fill": args.fill, "max_shift": args.max_shift,
                  "mask_file": args.mask, "find_copies": args.find_copies}
    progress = terminal_progress("unwatermark")
    total = 0
    if streamed:  # the mark from a sample, then one image at a time: any number of images
        mark = collection_watermark(stack, mask=mask, channel_axis=stack_axis,
                                    max_shift=args.max_shift)
        parameters["estimated_from"] = [p.name for p in sample]
        del stack
        for i, (source, target) in enumerate(zip(files, targets)):
            image = read_image(source, args.channel_axis)
            data, image_axis = image.data, image.channel_axis
            try:
                clean, changed = remove_collection_watermark(
                    data, mark, channel_axis=image_axis, fill=args.fill, return_mask=True)
            except ValueError as err:
                raise CLIError(f"{source.name}: {err}") from None
            prov = make_provenance(operation="remove_watermark", method="collection",
                                   parameters={**parameters, "source": str(source)},
                                   image=data, mask=changed)
            write_image_tiff(target, clean, provenance=prov, channel_axis=image_axis,
                             overwrite=args.overwrite)
            total += int(changed.sum())
            report(progress, i + 1, len(files))
    else:
        clean, changed, record = remove_watermark(
            stack, mask=mask, channel_axis=stack_axis, method=method, fill=args.fill,
            max_shift=args.max_shift, find_copies=args.find_copies, progress=progress,
            return_mask=True, return_provenance=True)
        method = record["method"]
        copies = record["parameters"].get("copies", [])
        for i, (source, target) in enumerate(zip(files, targets)):
            if args.find_copies:  # this image's copies: shifts from the painted one, scores
                parameters["copies"] = [{k: c[k] for k in ("shift", "score")}
                                        for c in copies if c["plane"] == i]
            prov = make_provenance(operation="remove_watermark", method=method,
                                   parameters={**parameters, "source": str(source)},
                                   image=stack[i], mask=changed[i])
            write_image_tiff(target, clean[i], provenance=prov, channel_axis=axis,
                             overwrite=args.overwrite)
        total = int(changed.sum())
    print(f"wrote {len(targets)} images to {out_dir}: changed {total} px in all"
          + (f" (mark estimated on {len(sample)} of them)" if streamed else ""))
    return 0


def cmd_demoire(args) -> int:
    fmt = image_output(args)
    out = check_output(args.output, args.overwrite, inputs=[args.input])
    data, axis, source = read_input(args)
    check_image_fits(fmt, data, axis, args)
    clean, reports, prov = demoire(data, channel_axis=axis, method=args.method, model=args.model,
                                   progress=terminal_progress("demoire"), return_report=True,
                                   return_provenance=True)
    prov["parameters"]["source"] = source
    method = prov["method"]
    changed = np.any(clean != data, axis=axis) if axis is not None else clean != data
    write_image(out, clean, provenance=prov, channel_axis=axis, overwrite=args.overwrite)
    peaks = sum(len(r["peaks"]) for r in reports)
    print(f"wrote {out}: {method}, {peaks} moire peak(s) found, {int(changed.sum())} px changed")
    return 0


def cmd_deidentify(args) -> int:
    fmt = image_output(args)
    out = check_output(args.output, args.overwrite, inputs=[args.input])
    report_file = report_path(out)
    check_output(str(report_file), args.overwrite, inputs=[args.input])
    data, axis, source, in_blocks = input_for_restore(args)
    check_image_fits(fmt, data, axis, args, lazy=in_blocks)
    progress = terminal_progress("deidentify")
    options = {"detector": args.detector, "fill": args.fill, "threshold": args.threshold,
               "classes": args.classes, "complete_text": args.complete_text}

    def write(mended, prov, report):
        prov["parameters"]["report"] = report_file.name
        write_image(out, mended, provenance=prov, channel_axis=axis, overwrite=args.overwrite)
        write_regions_report(report_file, report, provenance=prov, overwrite=args.overwrite)
        counts = ", ".join(f"{n} {name}" for name, n in report["counts"].items() if n)
        print(f"wrote {out} and {report_file}{' (block by block)' if in_blocks else ''}: "
              f"removed {counts or 'no'} region(s)")

    if in_blocks:  # large TIFFs and zarr arrays: bounded memory; no detector scores kept
        with restored_in_blocks(out, data, axis, source=source, progress=progress,
                                **options) as (mended, labels):
            write(mended, dict(labels.attrs["provenance"]),
                  regions_report(labels, classes=args.classes))
        return 0
    # its provenance names both models: the detector found the regions, the fill replaced them
    mended, _, report, provenance = restore(data, channel_axis=axis, progress=progress,
                                            source=source, return_report=True,
                                            return_provenance=True, **options)
    write(mended, provenance, report)
    return 0


def register(subparsers) -> None:
    """Add the ``unwatermark``, ``demoire`` and ``deidentify`` subcommands."""
    fills = list(fill_names())
    p = subparsers.add_parser(
        "unwatermark", help="remove the watermark shared by a folder of images",
        description="Remove a semi-transparent watermark shared by the images of FOLDER "
                    "(after Dekel et al., CVPR 2017: the more images, the better). The "
                    "images must share one size; the mark may move by a few pixels. Fewer "
                    f"than {MIN_COLLECTION} images (or --method single) need --mask. Writes "
                    "OUT/<name>.tif per image, with provenance.")
    p.add_argument("folder", help="folder of images (TIFF, PNG, JPEG, BMP)")
    p.add_argument("-o", "--output", required=True,
                   help="output folder (created if missing; never an input)")
    p.add_argument("--mask", default=None,
                   help="mask file of the mark: a Labels file's watermark class (e.g. a checked "
                        "defects file of `napari-mend detect`), else its non-zero pixels; "
                        "default: found from the images (a collection only)")
    p.add_argument("--method", choices=["auto", "single", "collection"], default="auto")
    p.add_argument("--fill", choices=fills, default="auto",
                   help="fill for pixels too opaque to invert")
    p.add_argument("--max-shift", type=int, default=4,
                   help="largest shift (px) of the mark between images")
    p.add_argument("--find-copies", action="store_true",
                   help="the mark is stamped or tiled over each image and --mask paints one "
                        "copy: find the others and remove the mark from every one")
    p.add_argument("--sample", type=int, default=32,
                   help="with more images than this, the mark is estimated on this many "
                        "(spread over the folder) and removed from one image at a time, so "
                        "any number of images fits in memory")
    p.add_argument("--channel-axis", default="auto", help=CHANNEL_AXIS_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=cmd_unwatermark)

    p = subparsers.add_parser(
        "demoire", help="remove moire patterns; write the cleaned image",
        description="Remove moire (a screen's grid or a halftone seen by a camera). 'notch' "
                    "filters the periodic peaks of the spectrum where they occur; 'learned' "
                    "runs the shipped network; 'auto' uses the one the model card recommends. "
                    "The peaks found are recorded in the output's provenance.")
    input_arguments(p, output_help=IMAGE_OUTPUT_HELP, channel_axis_help=CHANNEL_AXIS_HELP)
    p.add_argument("--method", choices=["auto", "notch", "learned"], default="auto")
    p.add_argument("--model", default=None, help="demoire model name or file (learned)")
    p.set_defaults(func=cmd_demoire)

    p = subparsers.add_parser(
        "deidentify", help="remove burned-in text; write the image and a report of every region",
        description="Detect burned-in annotations (patient-style text, IDs, dates, scale bars) "
                    "and fill them, as a de-identification aid. Writes OUTPUT and "
                    "OUTPUT.regions.json listing every removed region (class, bounding box, "
                    "pixels, detector score). TIFFs of more than 8192 x 8192 pixels and zarr "
                    "arrays are processed block by block in bounded memory (their report "
                    "has no scores). Check the result: detection can miss text.")
    input_arguments(p, output_help=IMAGE_OUTPUT_HELP, channel_axis_help=CHANNEL_AXIS_HELP)
    p.add_argument("--classes", nargs="+", choices=list(DEFECT_CLASSES.values()),
                   default=["text"], help="classes to remove (default: text)")
    p.add_argument("--detector", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--fill", choices=fills, default="auto")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="0..1; lower finds more (and removes more)")
    text_completion_arg(p)
    p.set_defaults(func=cmd_deidentify)
