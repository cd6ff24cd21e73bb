"""``napari-mend batch INPUTS... -o OUT_DIR``: detect and mend many files on a dask cluster."""

from __future__ import annotations

import sys

from ..batch.plan import BatchError
from ..batch.run import run_batch
from ..classes import DEFECT_CLASSES
from ..detection.api import METHODS as DETECT_METHODS
from ..inpainting import fill_names
from .files import CLIError

EXIT_FAILED = 1
"""Exit code when the batch ran but at least one file failed (2: nothing ran)."""


def cmd_batch(args) -> int:
    def show(line):
        print(line, file=sys.stderr, flush=True)

    try:
        result = run_batch(args.inputs, args.output,
                           detector=args.detector_model or args.detector, fill=args.fill,
                           threshold=args.threshold, classes=args.classes,
                           channel_axis=args.channel_axis, workers=args.workers,
                           scheduler=args.scheduler, in_process=args.in_process, log=show)
    except BatchError as err:
        raise CLIError(str(err)) from None
    for path in result.ignored:
        show(f"ignored {path} (not an image file, or inside the output folder)")
    counts = result.counts
    print(f"{counts['done']} mended, {counts['skipped']} already done, {counts['failed']} failed; "
          f"manifest: {result.manifest_path}")
    return 0 if result.ok else EXIT_FAILED


def register(subparsers) -> None:
    """Add the ``batch`` subcommand to the ``napari-mend`` parser."""
    fills = list(fill_names())
    p = subparsers.add_parser(
        "batch", help="detect and mend many files (folders, globs) on a dask cluster",
        description="Detect and mend every input file into OUT_DIR: one NAME.mend bundle "
                    "per file (original, defects, mended, provenance), a manifest.json "
                    "listing each file's status and provenance, and batch.log. Work runs "
                    "on a local dask cluster (--workers), an existing one (--scheduler) or, "
                    "with --in-process, in this process, one file after the other. "
                    "Re-running the same command resumes: files whose bundle exists are "
                    "skipped. Exit code 0: all files mended; 1: some failed (see the "
                    "manifest); 2: nothing ran.")
    p.add_argument("inputs", nargs="+", metavar="INPUTS",
                   help="image files, folders (searched recursively) or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR",
                   help="output folder (created if missing; never an input)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: one per CPU this "
                        "process may use, or per --threads); they share the threads equally")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--in-process", action="store_true",
                   help="no dask: mend the files one after the other in this process (needs "
                        "no 'distributed'; not with --workers or --scheduler)")
    p.add_argument("--detector", choices=list(DETECT_METHODS), default="learned")
    p.add_argument("--detector-model", default=None, metavar="FILE_OR_NAME",
                   help="a taught model (a NAME.mendmodel file from 'napari-mend teach', or "
                        "the name of one installed with 'napari-mend models import') to "
                        "detect with instead of --detector (images restored in memory)")
    p.add_argument("--fill", choices=fills, default="auto")
    p.add_argument("--threshold", type=float, default=None,
                   help="0..1; lower finds more (default: the detector card's threshold for "
                        "unattended mending)")
    p.add_argument("--classes", nargs="+", choices=list(DEFECT_CLASSES.values()), default=None,
                   help="classes to detect and mend (default: those the detector card lists "
                        "for unattended mending)")
    p.add_argument("--channel-axis", default="auto",
                   help="colour axis of every file: 'auto' (last axis of length 3/4), "
                        "'none' (gray), or an integer")
    p.set_defaults(func=cmd_batch)
