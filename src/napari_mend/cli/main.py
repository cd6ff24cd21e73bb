"""``napari-mend`` command line: the parser, the dispatch to each subcommand, exit codes.

Each module of this package adds a group of subcommands (``register(subparsers)``
adds its parsers with ``set_defaults(func=...)``; ``func(args)`` returns the exit
code): :mod:`~napari_mend.cli.mend` (detect, inpaint, restore),
:mod:`~napari_mend.cli.tools` (demo, samples, train, evaluate),
:mod:`~napari_mend.cli.batch`, :mod:`~napari_mend.cli.special` (unwatermark,
demoire, deidentify), :mod:`~napari_mend.cli.finetune` (models) and
:mod:`~napari_mend.cli.teach`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings

from ..io.images import ImageFileError
from ..models.registry import ModelError
from ..threads import ENV_VAR, configure_threads
from . import batch, finetune, mend, special, teach, tools
from .files import CLIError

EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

COMMAND_MODULES = (mend, tools, batch, special, finetune, teach)
"""The modules that add subcommands, in the order ``napari-mend --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
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
    for module in COMMAND_MODULES:
        module.register(sub)
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
    except (CLIError, ImageFileError) as err:  # a problem with the files given
        print(f"napari-mend: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, TypeError, FileExistsError, ImportError, OSError, ModelError) as err:
        print(f"napari-mend {args.command}: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
