"""Training loops for napari-mend's networks (never imported by inference).

Run one with ``python -m napari_mend.training <kind> --config FILE [--resume] [--out DIR]``
(also ``napari-mend train <kind> ...``). Each ``<kind>`` is a module of this
package with a ``train(config, out_dir, resume=False, log=print)`` function
that gives its hooks to the one training loop (:mod:`napari_mend.training.loop`);
configs ship in ``configs/``. The command line is :func:`napari_mend.training.command.main`.
"""

from __future__ import annotations

from pathlib import Path

TRAINERS: dict[str, str] = {
    "detector": "napari_mend.training.detector",
    "inpainter": "napari_mend.training.inpainter",
    "demoire": "napari_mend.training.demoire",
}
"""Kind -> module holding its ``train`` function."""

CONFIG_DIR = Path(__file__).parent / "configs"
