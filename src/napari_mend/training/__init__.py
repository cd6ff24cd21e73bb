"""Training loops for napari-mend's networks (never imported by inference).

Run one with ``python -m napari_mend.training <kind> --config FILE [--resume] [--out DIR]``
(also ``napari-mend train <kind> ...``). Each ``<kind>`` is a module of this
package with a ``train(config, out_dir, resume=False, log=print)`` function;
configs ship in ``configs/``.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

TRAINERS: dict[str, str] = {
    "detector": "napari_mend.training.detector",
    "inpainter": "napari_mend.training.inpainter",
    "demoire": "napari_mend.training.demoire",
}
"""Kind -> module holding its ``train`` function."""

CONFIG_DIR = Path(__file__).parent / "configs"


def main(argv=None) -> int:
    """Command line entry: parse ``<kind> --config FILE [--resume] [--out DIR]`` and train."""
    from .common import load_config

    parser = argparse.ArgumentParser(prog="python -m napari_mend.training",
                                     description="Train a napari-mend network.")
    parser.add_argument("kind", choices=sorted(TRAINERS))
    parser.add_argument("--config", required=True,
                        help="JSON config (a path, or a file name in napari_mend/training/configs)")
    parser.add_argument("--out", default=None,
                        help="output folder for checkpoint, log and exported model "
                             "(default: runs/<config name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in the output folder")
    args = parser.parse_args(argv)
    config_path = Path(args.config)
    if not config_path.is_file() and (CONFIG_DIR / args.config).is_file():
        config_path = CONFIG_DIR / args.config
    config = load_config(config_path)
    out_dir = Path(args.out) if args.out else Path("runs") / config_path.stem
    module = importlib.import_module(TRAINERS[args.kind])
    module.train(config, out_dir, resume=args.resume, log=print)
    return 0
