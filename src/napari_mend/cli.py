"""``napari-mend`` command line: detect, inpaint and restore image files; demo; train; evaluate."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from pathlib import Path

import numpy as np

from .detection.api import METHODS as DETECT_METHODS
from .image_files import CLIError, check_output, read_image
from .inpainting.api import METHODS as FILL_METHODS
from .inpainting.api import method_model as fill_model
from .io.formats import (IMAGE_FORMATS, LABELS_FORMATS, LOSSY_FORMATS, FormatError,
                         check_storable, output_format)
from .models.registry import ModelError, card_or_none
from .threads import ENV_VAR, configure_threads

IMAGE_OUTPUT_HELP = ("output image: NAME.tif (lossless, any image, with provenance), NAME.png "
                     "(lossless; 8-bit, or 16-bit gray) or NAME.jpg (8-bit, lossy)")
EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

COMMAND_MODULES: tuple[str, ...] = ("napari_mend.batch_cli", "napari_mend.special_cli",
                                     "napari_mend.finetune_cli", "napari_mend.teach_cli")
"""Modules that add subcommands: each has ``register(subparsers)``, which adds its
parsers with ``set_defaults(func=...)``; ``func(args)`` returns the exit code."""


def _input(args):
    if getattr(args, "sample", None):
        from ._sample_data import sample_image

        data, _, axis = sample_image(args.sample)
        return data, axis, f"sample:{args.sample}"
    if not args.input:
        raise CLIError("give an input image file (or --sample NAME)")
    data, axis, _ = read_image(Path(args.input), args.channel_axis)
    return data, axis, str(args.input)


def input_for_restore(args):
    """``(data, axis, source, in_blocks)``: a large TIFF or a zarr array is opened lazily, to
    be restored block by block (:func:`~napari_mend.image_files.open_for_restore`); a sample
    or a smaller image is read into memory."""
    from .image_files import open_for_restore

    if args.input and not args.sample:
        return open_for_restore(Path(args.input), args.channel_axis)
    return (*_input(args), False)


def _lazy_input(args):
    """The input as a dask array: TIFF files and zarr arrays are read block by block."""
    from .image_files import open_lazily
    from .scale.lazy import as_dask

    if args.input and not args.sample:
        return open_lazily(Path(args.input), args.channel_axis)
    data, axis, source = _input(args)
    return as_dask(data), axis, source


def terminal_progress(label: str):
    """A progress callback drawing a bar on the terminal (tqdm); ``None`` when stderr is not
    a terminal (logs and pipes get the final line only)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = None

    def show(done, total):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, file=sys.stderr, leave=True, dynamic_ncols=True,
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return show


def image_output(args, *, formats=IMAGE_FORMATS, what="image", extra=()) -> str:
    """The format of ``args.output`` from its suffix, refused before any work if unknown;
    a note on stderr when it is lossy."""
    try:
        fmt = output_format(args.output, formats, what=what, extra=extra)
    except FormatError as err:
        raise CLIError(str(err)) from None
    if fmt in LOSSY_FORMATS:
        print(f"napari-mend: note: {args.output} is lossy (JPEG): pixels outside the mended ones "
              "are not kept bit-identical; write .png or .tif to keep them", file=sys.stderr)
    return fmt


def check_image_fits(fmt, data, axis, args, *, lazy=False) -> None:
    """Refuse, before any work, an output format that cannot hold ``data``."""
    try:
        check_storable(fmt, data.dtype, data.shape, axis, lazy=lazy, path=args.output)
    except FormatError as err:
        raise CLIError(str(err)) from None


def cmd_detect(args) -> int:
    from .classes import DEFECT_CLASSES
    from .detection.api import detect_scores
    from .io.provenance import make_provenance
    from .io.formats import write_labels

    image_output(args, formats=LABELS_FORMATS, what="Labels")
    out = check_output(args.output, args.overwrite, inputs=[args.input])
    data, axis, source = _input(args)
    scores = detect_scores(data, channel_axis=axis, method=args.method, model=args.model,
                           progress=terminal_progress("detect"))
    labels = scores.labels(threshold=args.threshold, classes=args.classes)
    prov = make_provenance(operation="detect", method=args.method,
                           parameters={"threshold": args.threshold, "classes": args.classes,
                                       "source": source},
                           image=data, mask=labels, model=scores.model)
    write_labels(out, labels, class_names=DEFECT_CLASSES, provenance=prov,
                 overwrite=args.overwrite)
    counts = {DEFECT_CLASSES[v]: int((labels == v).sum()) for v in DEFECT_CLASSES}
    print(f"wrote {out}: " + ", ".join(f"{k} {n} px" for k, n in counts.items() if n) or "no defects")
    return 0


def cmd_inpaint(args) -> int:
    from .inpainting.api import inpaint
    from .io.provenance import make_provenance
    from .io.formats import write_image
    from .io.tiff import read_labels_tiff

    fmt = image_output(args)
    out = check_output(args.output, args.overwrite, inputs=[args.input, args.mask])
    data, axis, source = _input(args)
    check_image_fits(fmt, data, axis, args)
    mask_path = Path(args.mask)
    try:
        if mask_path.suffix.lower() in (".tif", ".tiff"):
            from .io.tiff import read_tiff_metadata

            meta = read_tiff_metadata(mask_path) or {}
            mask = (read_labels_tiff(mask_path)[0] if meta.get("kind") == "labels"
                    else read_image(mask_path, "none")[0])
        else:
            mask = read_image(mask_path, "none")[0]
    except CLIError:
        raise
    except Exception as err:  # corrupt or truncated mask file
        raise CLIError(f"{mask_path}: cannot read it as a mask ({err})") from None
    mended = inpaint(data, mask, channel_axis=axis, method=args.method, model=args.model,
                     progress=terminal_progress("inpaint"))
    prov = make_provenance(operation="inpaint", method=args.method,
                           parameters={"mask_file": str(mask_path), "source": source},
                           image=data, mask=mask,
                           model=card_or_none(fill_model(args.method, args.model)))
    write_image(out, mended, provenance=prov, channel_axis=axis, overwrite=args.overwrite)
    print(f"wrote {out}: filled {int(np.count_nonzero(mask))} px with {args.method}")
    return 0


def text_completion_arg(parser) -> None:
    """The ``--no-complete-text`` option of the commands that remove detected text."""
    parser.add_argument("--no-complete-text", dest="complete_text", action="store_false",
                        help="mend detected text as found, without growing it to whole "
                             "annotations by colour (missed glyphs, rims, label backgrounds)")


def cmd_restore(args) -> int:
    from .image_files import restore_file, zarr_labels_path

    fmt = image_output(args, extra=(".mend", ".zarr"))
    inputs = [args.input]
    out = check_output(args.output, args.overwrite, inputs=inputs)
    if fmt == ".zarr":
        written = f"{out} and " + str(check_output(zarr_labels_path(out), args.overwrite,
                                                    inputs=inputs))
        data, axis, source = _lazy_input(args)
        in_blocks = True
    else:
        written = str(out)
        data, axis, source, in_blocks = input_for_restore(args)
    check_image_fits(fmt, data, axis, args, lazy=in_blocks)
    detector = args.detector
    if args.detector_model:
        if in_blocks:
            raise CLIError("a taught --detector-model scores images in memory; this image is "
                           "restored block by block (too large, or a .zarr output)")
        detector = args.detector_model
    provenance = restore_file(out, data, axis, source, in_blocks=in_blocks,
                              detector=detector, fill=args.fill, threshold=args.threshold,
                              classes=args.classes, complete_text=args.complete_text,
                              overwrite=args.overwrite, progress=terminal_progress("restore"))
    found = provenance["mask"]["label_counts"]
    summary = ", ".join(f"{k} {n} px" for k, n in found.items()) or "no defects found"
    print(f"wrote {written}{' (block by block)' if in_blocks else ''}: {summary}")
    return 0


def cmd_demo(args) -> int:
    from .display_check import display_problem

    problem = display_problem()
    if problem:
        raise CLIError(f"demo: {problem}")
    import napari

    from ._sample_data import sample_image

    viewer = napari.Viewer(title="napari-mend demo")
    data, _, axis = sample_image(args.sample)
    viewer.add_image(data, name=args.sample, rgb=axis is not None)
    viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
    if args.screenshot:
        from qtpy.QtWidgets import QApplication

        QApplication.processEvents()  # lay the docked widget out before the picture
        viewer.window.screenshot(path=args.screenshot, canvas_only=False)
        viewer.close()
        return 0
    napari.run()
    return 0


def cmd_train(args) -> int:
    from .training import main as train_main

    return train_main(args.rest, prog="napari-mend train")


EVALUATIONS = ("detector", "inpainter", "watermark", "moire")


def cmd_evaluate(args) -> int:
    import importlib

    module = importlib.import_module(f"napari_mend.evaluation.{args.kind}")
    return module.main(args.rest, prog=f"napari-mend evaluate {args.kind}")


def cmd_samples(args) -> int:
    from ._sample_data import SAMPLES

    for key, (title, source, classes, _, _) in SAMPLES.items():
        print(f"{key:20s} {title} (skimage.data.{source}; {', '.join(classes)})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ._sample_data import SAMPLES
    from .classes import DEFECT_CLASSES

    parser = argparse.ArgumentParser(
        prog="napari-mend",
        description="Find defects in images (scratches, dust, stains, burned-in text, "
                    "watermarks, moire) and mend them. Outputs keep shape and dtype and "
                    "record what changed (provenance). Existing files are never replaced "
                    "unless --overwrite is given.",
    )
    parser.add_argument("--threads", default=None, metavar="N",
                        help="threads to compute with (default: the CPUs this process may "
                             f"use, from its affinity and cgroup quota; or ${ENV_VAR})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def io_args(p, *, output_help):
        p.add_argument("input", nargs="?", help="image file (TIFF, PNG, JPEG, ...)")
        p.add_argument("-o", "--output", required=True, help=output_help)
        p.add_argument("--sample", choices=sorted(SAMPLES),
                       help="use a bundled sample image instead of INPUT")
        p.add_argument("--channel-axis", default="auto",
                       help="colour axis: 'auto' (last axis of length 3/4), 'none' (gray), "
                            "or an integer")
        p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")

    classes = list(DEFECT_CLASSES.values())
    p = sub.add_parser("detect", help="find defects; write Labels (one value per class)",
                       description="Detect defects and write Labels whose values are "
                                   f"the classes {DEFECT_CLASSES}, with class names and "
                                   "provenance in the file's metadata.")
    io_args(p, output_help="output Labels: NAME.tif (class names and provenance in its "
                             "metadata) or NAME.png (provenance in a text chunk)")
    p.add_argument("--method", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--model", default=None, help="detector model name or file")
    p.add_argument("--threshold", type=float, default=0.5, help="0..1; lower finds more")
    p.add_argument("--classes", nargs="+", choices=classes, default=None)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("inpaint", help="fill the pixels of a mask; write the mended image",
                       description="Fill the non-zero pixels of MASK (a Labels TIFF or any "
                                   "image file) and write the mended image in the format "
                                   "OUTPUT's suffix names.")
    io_args(p, output_help=IMAGE_OUTPUT_HELP)
    p.add_argument("--mask", required=True, help="mask or Labels file (non-zero = fill)")
    p.add_argument("--method", choices=list(FILL_METHODS),
                   default="auto")
    p.add_argument("--model", default=None,
                   help="inpainter model name or file for 'learned' and 'auto'")
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser("restore", help="detect and mend in one step",
                       description="Detect defects and mend them. OUTPUT ending in .mend "
                                   "writes a bundle (original, defects, mended, provenance) "
                                   "that napari opens as three layers; ending in .zarr, a zarr "
                                   "array and the defect Labels beside it (NAME.labels.zarr), "
                                   "both with the provenance, computed block by block in "
                                   "bounded memory (TIFF and zarr inputs are read lazily): for "
                                   "images of any size; else the mended image in the format "
                                   "the suffix names.")
    io_args(p, output_help="output bundle (NAME.mend), zarr array (NAME.zarr), or image: "
                           + IMAGE_OUTPUT_HELP)
    p.add_argument("--detector", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--detector-model", default=None, metavar="FILE",
                   help="a taught model file (NAME.mendmodel from 'napari-mend teach') to "
                        "detect with instead of --detector")
    p.add_argument("--fill", choices=list(FILL_METHODS),
                   default="auto")
    p.add_argument("--threshold", type=float, default=None,
                   help="0..1; lower finds more (default: the detector card's threshold for "
                        "unattended mending, 0.7 for the shipped detector)")
    p.add_argument("--classes", nargs="+", choices=classes, default=None,
                   help="classes to detect and mend (default: those the detector card lists "
                        "for unattended mending: all but watermark for the shipped detector)")
    text_completion_arg(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("demo", help="open napari with a sample image and the widget docked",
                       description="Open napari with a sample image and the Mend defects "
                                   "widget docked. Needs a display (or a virtual one: "
                                   "xvfb-run -a napari-mend demo) and Qt's system libraries; "
                                   "if either is missing it says what to install and exits.")
    p.add_argument("--sample", choices=sorted(SAMPLES), default="scratched_photo")
    p.add_argument("--screenshot", default=None, help="save a window screenshot and exit")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("samples", help="list the bundled sample images",
                       description="List the sample images that --sample NAME accepts: "
                                   "scikit-image images with synthesized defects, made on "
                                   "the fly (nothing is downloaded).")
    p.set_defaults(func=cmd_samples)

    p = sub.add_parser("train", help="train or fine-tune a model (napari-mend train --help)",
                       add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate detectors or fills on the validation images",
                       description="Print per-class (detector) or per-mask-family (inpainter) "
                                   "quality tables on the held-out validation images; "
                                   "'napari-mend evaluate KIND --help' lists the options.")
    p.add_argument("kind", choices=EVALUATIONS)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_evaluate)

    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the terminal as one line that says what happened, without source lines."""
    return f"napari-mend: note: {message}\n"


def _command_end(argv: list[str]) -> int:
    """Where the arguments of ``napari-mend [--threads N] train`` end (else ``len(argv)``)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--threads" else 1
    return i + 1 if i < len(argv) and argv[i] == "train" else len(argv)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that partial outputs are removed."""


def _raise_terminated(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    """Entry point of the ``napari-mend`` command.

    A run stopped by Ctrl-C (SIGINT) or by SIGTERM (``kill``, a job
    scheduler's time limit) unwinds like an error: the temporary files and
    folders of unfinished outputs are removed, nothing is left half-written,
    and the exit status is 130 or 143.
    """
    warnings.formatwarning = _format_warning
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    split = _command_end(argv)
    args = parser.parse_args(argv[:split])
    if args.command == "train":  # everything after it goes to the training parser, --help too
        args.rest = argv[split:]
    try:
        configure_threads(args.threads)
    except ValueError as err:
        parser.error(str(err))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return args.func(args)
    except KeyboardInterrupt as err:
        terminated = isinstance(err, Terminated)
        print(f"napari-mend {args.command}: {'terminated' if terminated else 'interrupted'}; "
              "unfinished outputs were removed", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except CLIError as err:
        print(f"napari-mend: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, TypeError, FileExistsError, ImportError, OSError, ModelError) as err:
        print(f"napari-mend {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
