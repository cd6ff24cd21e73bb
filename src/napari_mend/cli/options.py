"""What several subcommands share: input and output arguments, and progress on the terminal."""

from __future__ import annotations

import sys

from tqdm import tqdm

from .._sample_data import SAMPLES

IMAGE_OUTPUT_HELP = ("output image: NAME.tif (lossless, any image, with provenance), NAME.png "
                     "(lossless; 8-bit, or 16-bit gray) or NAME.jpg (8-bit, lossy)")
CHANNEL_AXIS_HELP = ("colour axis: 'auto' (last axis of length 3/4), 'none' (gray), "
                     "or an integer")


def input_arguments(parser, *, output_help: str, channel_axis_help: str = CHANNEL_AXIS_HELP):
    """Add INPUT, ``-o/--output``, ``--sample``, ``--channel-axis`` and ``--overwrite``."""
    parser.add_argument("input", nargs="?", help="image file (TIFF, PNG, JPEG, ...)")
    parser.add_argument("-o", "--output", required=True, help=output_help)
    parser.add_argument("--sample", choices=sorted(SAMPLES),
                        help="use a bundled sample image instead of INPUT")
    parser.add_argument("--channel-axis", default="auto", help=channel_axis_help)
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")


def text_completion_arg(parser) -> None:
    """The ``--no-complete-text`` option of the commands that remove detected text."""
    parser.add_argument("--no-complete-text", dest="complete_text", action="store_false",
                        help="mend detected text as found, without growing it to whole "
                             "annotations by colour (missed glyphs, rims, label backgrounds)")


def terminal_progress(label: str):
    """A progress callback drawing a bar on the terminal (tqdm); ``None`` when stderr is not
    a terminal (logs and pipes get the final line only)."""
    if not sys.stderr.isatty():
        return None
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
