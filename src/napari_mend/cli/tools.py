"""``napari-mend demo``, ``samples``, ``train`` and ``evaluate``."""

from __future__ import annotations

import argparse
import importlib

from .._sample_data import SAMPLES, sample_image
from ..display_check import display_problem
from ..training.command import main as train_main
from .files import CLIError

EVALUATIONS = ("detector", "inpainter", "watermark", "moire")
"""The ``napari-mend evaluate KIND`` kinds: modules of :mod:`napari_mend.evaluation`."""


def cmd_demo(args) -> int:
    problem = display_problem()
    if problem:
        raise CLIError(f"demo: {problem}")
    import napari  # deferred: napari (Qt) only when a window is opened

    viewer = napari.Viewer(title="napari-mend demo")
    data, _, axis = sample_image(args.sample)
    viewer.add_image(data, name=args.sample, rgb=axis is not None)
    viewer.window.add_plugin_dock_widget("napari-mend", "Mend defects")
    if args.screenshot:
        from qtpy.QtWidgets import QApplication  # deferred: Qt only when a window is opened

        QApplication.processEvents()  # lay the docked widget out before the picture
        viewer.window.screenshot(path=args.screenshot, canvas_only=False)
        viewer.close()
        return 0
    napari.run()
    return 0


def cmd_train(args) -> int:
    return train_main(args.rest, prog="napari-mend train")


def cmd_evaluate(args) -> int:
    module = importlib.import_module(f"napari_mend.evaluation.{args.kind}")
    return module.main(args.rest, prog=f"napari-mend evaluate {args.kind}")


def cmd_samples(args) -> int:
    for key, (title, source, classes, _, _) in SAMPLES.items():
        print(f"{key:20s} {title} (skimage.data.{source}; {', '.join(classes)})")
    return 0


def register(subparsers) -> None:
    """Add the ``demo``, ``samples``, ``train`` and ``evaluate`` subcommands."""
    p = subparsers.add_parser(
        "demo", help="open napari with a sample image and the widget docked",
        description="Open napari with a sample image and the Mend defects widget docked. "
                    "Needs a display (or a virtual one: xvfb-run -a napari-mend demo) and "
                    "Qt's system libraries; if either is missing it says what to install and "
                    "exits.")
    p.add_argument("--sample", choices=sorted(SAMPLES), default="scratched_photo")
    p.add_argument("--screenshot", default=None, help="save a window screenshot and exit")
    p.set_defaults(func=cmd_demo)

    p = subparsers.add_parser(
        "samples", help="list the bundled sample images",
        description="List the sample images that --sample NAME accepts: scikit-image images "
                    "with synthesized defects, made on the fly (nothing is downloaded).")
    p.set_defaults(func=cmd_samples)

    p = subparsers.add_parser("train", help="train or fine-tune a model (napari-mend train "
                                            "--help)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser(
        "evaluate", help="evaluate detectors or fills on the validation images",
        description="Print per-class (detector) or per-mask-family (inpainter) quality tables "
                    "on the held-out validation images; 'napari-mend evaluate KIND --help' "
                    "lists the options.")
    p.add_argument("kind", choices=EVALUATIONS)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_evaluate)
