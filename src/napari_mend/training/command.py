"""``python -m napari_mend.training`` and ``napari-mend train``: train from a config, or fine-tune."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from ..cli.finetune import add_finetune_arguments, run_finetune
from . import CONFIG_DIR, TRAINERS
from .common import load_config


def main(argv=None, prog=None) -> int:
    """Command line entry: ``<kind> --config FILE [--resume] [--out DIR]`` trains from a config;
    ``<kind> --images ... [--from-model NAME] [--minutes N]`` fine-tunes (see
    :mod:`napari_mend.cli.finetune`)."""
    parser = argparse.ArgumentParser(prog=prog or "python -m napari_mend.training",
                                     description="Train a napari-mend network.")
    parser.add_argument("kind", choices=sorted(TRAINERS))
    parser.add_argument("--config", default=None,
                        help="JSON config (a path, or a file name in napari_mend/training/configs)")
    parser.add_argument("--out", default=None,
                        help="output folder for checkpoint, log and exported model "
                             "(default: runs/<config name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in the output folder")
    add_finetune_arguments(parser)
    args = parser.parse_args(argv)
    if args.from_model or args.images:
        return run_finetune(args)
    if args.config is None:
        parser.error("give --config FILE (train from scratch) or --images (fine-tune)")
    config_path = Path(args.config)
    if not config_path.is_file() and (CONFIG_DIR / args.config).is_file():
        config_path = CONFIG_DIR / args.config
    config = load_config(config_path)
    out_dir = Path(args.out) if args.out else Path("runs") / config_path.stem
    module = importlib.import_module(TRAINERS[args.kind])
    module.train(config, out_dir, resume=args.resume, log=print)
    return 0
