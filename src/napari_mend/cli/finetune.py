"""Command line of fine-tuning and model sharing.

* ``napari-mend train detector|inpainter --from-model NAME --images FOLDER_OR_FILES --minutes N``:
  fine-tune a registered model on your own images (options added to the
  ``train`` parser of :mod:`napari_mend.training` by :func:`add_finetune_arguments`).
* ``napari-mend models list [--kind KIND]``: shipped and user models, taught detectors too.
* ``napari-mend models export NAME FILE``: one file holding weights and card (or a taught
  model's file, checked).
* ``napari-mend models import FILE [--name NAME] [--overwrite]``: check a model file (a
  network or a taught detector) completely, then install it.
"""

from __future__ import annotations

import argparse
import sys

from ..finetune import finetune, run_dir
from ..models.package import export_model, import_model
from ..models.registry import TAUGHT_KIND, list_models

EXIT_STOPPED = 130


def add_finetune_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the fine-tuning options to the ``train`` parser."""
    group = parser.add_argument_group(
        "fine-tuning on your own images",
        "napari-mend train detector|inpainter --from-model NAME --images FOLDER_OR_FILES "
        "--minutes N: defects are synthesized on the images; the last quarter of each image "
        "(by region) is held out to measure the model before and after; the new model is "
        "saved in the user model folder ('napari-mend models list').")
    group.add_argument("--from-model", default=None, metavar="NAME",
                       help="model to start from: a name from 'napari-mend models list' or a "
                            "model file (default: the shipped model of KIND)")
    group.add_argument("--images", nargs="+", default=None, metavar="FOLDER_OR_FILES",
                       help="a folder of images, or image files (gray and colour may be mixed)")
    group.add_argument("--minutes", type=float, default=5.0, help="training time (default 5)")
    group.add_argument("--name", default=None,
                       help="name of the new model (default: <from-model>-finetuned)")
    group.add_argument("--holdout", type=float, default=0.25,
                       help="share of each image's longer side held out (default 0.25)")
    group.add_argument("--crop", type=int, default=128, help="crop side in px (default 128)")
    group.add_argument("--batch", type=int, default=8, help="crops per step (default 8)")
    group.add_argument("--eval-crops", type=int, default=24,
                       help="held-out crops measured before and after (default 24)")
    group.add_argument("--seed", type=int, default=0)
    group.add_argument("--overwrite", action="store_true",
                       help="replace a user model of that name, or start a stopped run over "
                            "(--resume continues it)")


def run_finetune(args) -> int:
    """Fine-tune from parsed ``train`` arguments; print the before/after metric."""
    if args.kind not in ("detector", "inpainter"):
        raise ValueError(f"fine-tuning supports detector and inpainter, not {args.kind}")
    if not args.images:
        raise ValueError("give the images to fine-tune on: --images FOLDER_OR_FILES")

    def show(event):
        if event["event"] == "train" and (event["step"] % 10 == 0 or event["step"] == 1):
            print(f"step {event['step']}: loss {event['loss']:.4f} ({event['elapsed']:.0f} s)",
                  flush=True)
        elif event["event"] in ("before", "after"):
            key = "f1_mean" if args.kind == "detector" else "psnr_hole_mean"
            print(f"{event['event']}: held-out {key} = {event[key]} (synthesised defects), "
                  f"{event['independent'][key]} (independent generator's)", flush=True)

    try:
        result = finetune(args.kind, args.images, from_model=args.from_model, name=args.name,
                          minutes=args.minutes, holdout=args.holdout, crop=args.crop,
                          batch=args.batch, seed=args.seed, eval_crops=args.eval_crops,
                          resume=args.resume,
                          overwrite=args.overwrite, on_event=show)
    except KeyboardInterrupt:
        name = args.name or f"{args.from_model or args.kind}-finetuned"
        print(f"stopped; no model was written; the checkpoint is kept in {run_dir(name)}: "
              "run the same command with --resume to continue", file=sys.stderr)
        return EXIT_STOPPED
    print(f"saved model {result.name!r} ({result.card['finetune']['steps']} steps); use it with "
          f"--model {result.name} or pick it in napari")
    return 0


def cmd_models(args) -> int:
    if args.action == "list":
        for card in list_models(args.kind):
            origin = "shipped" if card["shipped"] else "user"
            base = card.get("base_model")
            base = base.get("name") if isinstance(base, dict) else None
            if card["kind"] == TAUGHT_KIND:
                classes = "+".join(map(str, card.get("classes", {}).values()))
                extra = f", taught ({classes}) on {base} features" if base else \
                    f", taught ({classes}) on filter features"
            else:
                extra = f", fine-tuned from {base}" if base else ""
            print(f"{card['name']:28s} {card['kind']:16s} {origin}{extra}  {card['path']}")
        return 0
    if args.action == "export":
        path = export_model(args.name, args.file)
        print(f"wrote {path}")
        return 0
    card = import_model(args.file, name=args.name, overwrite=args.overwrite)
    print(f"installed model {card['name']!r} ({card['kind']})")
    return 0


def register(subparsers) -> None:
    """Add ``models list|export|import`` to the ``napari-mend`` command."""
    p = subparsers.add_parser("models", help="list, export and import models",
                              description="List shipped and user models; export a model as one "
                                          "file (weights + card); import such a file.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("list", help="list the models")
    a.add_argument("--kind", choices=["detector", "inpainter", "demoire", "taught-detector"],
                   default=None, help="only models of this kind ('detector': networks; "
                                      "'taught-detector': detectors taught by example)")
    a = actions.add_parser("export", help="write a model as one file")
    a.add_argument("name", help="model name (see 'napari-mend models list')")
    a.add_argument("file", help="output file (.mendmodel)")
    a = actions.add_parser("import", help="install a model file into the user model folder")
    a.add_argument("file", help="a .mendmodel file (a network, or a taught detector)")
    a.add_argument("--name", default=None, help="install under this name")
    a.add_argument("--overwrite", action="store_true", help="replace a user model of that name")
    p.set_defaults(func=cmd_models)
