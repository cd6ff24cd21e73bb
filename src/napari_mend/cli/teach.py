"""``napari-mend teach IMAGES... --strokes STROKES... -o NAME.mendmodel``: teach a detector by example."""

from __future__ import annotations

import sys
from pathlib import Path

from ..classes import CLEAN_LABEL, SCORED_CLASS_LIST
from ..io.images import read_image
from ..teaching.api import teach
from ..teaching.features import FeatureSettings
from ..teaching.storage import SUFFIX
from .files import CLIError
from .options import terminal_progress


def cmd_teach(args) -> int:
    if len(args.images) != len(args.strokes):
        raise CLIError(f"give one --strokes file per image: {len(args.images)} images, "
                       f"{len(args.strokes)} strokes files")
    out = Path(args.output)
    if out.suffix != SUFFIX:
        raise CLIError(f"the output must end in {SUFFIX}: {out}")
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; pass --overwrite to replace it")
    images, strokes, axes = [], [], set()
    for image_path, strokes_path in zip(args.images, args.strokes):
        image = read_image(Path(image_path), args.channel_axis)
        images.append(image.data)
        axes.add(image.channel_axis)
        # a strokes Labels TIFF's values, or any one-channel image file
        strokes.append(read_image(Path(strokes_path), "none").data)
    if len(axes) > 1:
        raise CLIError("the images mix gray and colour; teach a model on images of one kind")
    features = FeatureSettings(network=not args.no_network,
                               network_features=args.network_features)
    from_base = False if args.strokes_only else None  # None: from the network's decisions
    model = teach(images, strokes, channel_axis=axes.pop(), base_model=args.base_model,
                  features=features, from_base=from_base, progress=terminal_progress("teach"))
    path = model.save(out, overwrite=args.overwrite)
    card = model.card
    strokes_text = ", ".join(f"{k} {n} px" for k, n in card["strokes"].items())
    print(f"wrote {path}: {', '.join(card['classes'].values())} vs clean, taught on "
          f"{strokes_text} in {card['teach_seconds']:.1f} s ({model.how_taught()}); use it with "
          f"'napari-mend detect IMAGE --model {path} -o LABELS.tif'", file=sys.stdout)
    return 0


def register(subparsers) -> None:
    """Add the ``teach`` subcommand to the ``napari-mend`` parser."""
    p = subparsers.add_parser(
        "teach", help="teach a defect detector by example (strokes painted on images)",
        description="Fit a detector to strokes painted on images: each STROKES file is a "
                    "Labels image of its image's shape where 0 = not marked, 1..6 = the "
                    f"defect classes ({SCORED_CLASS_LIST}) and {CLEAN_LABEL} = clean. Writes one NAME.mendmodel file to "
                    "use as 'detect --model', 'restore --detector-model' or 'batch "
                    "--detector-model', or to share (it is checked when read and never "
                    "runs code).")
    p.add_argument("images", nargs="+", metavar="IMAGES", help="image files")
    p.add_argument("--strokes", nargs="+", required=True, metavar="STROKES",
                   help="one strokes Labels file (TIFF or PNG) per image, in the same order")
    p.add_argument("-o", "--output", required=True, metavar="NAME.mendmodel",
                   help="model file to write")
    p.add_argument("--base-model", default=None, metavar="NAME",
                   help="detector model whose features are used (default: the shipped one)")
    p.add_argument("--no-network", action="store_true",
                   help="filter-bank features only (faster; no base network features)")
    p.add_argument("--strokes-only", action="store_true",
                   help="fit one classifier to the strokes alone, instead of keeping the base "
                        "network's decisions wherever the strokes agree with them")
    p.add_argument("--network-features", choices=["scores", "all"], default="scores",
                   help="base network features: its 6 class scores (default) or also the 16 "
                        "channels its head reads ('all': more to overfit on few strokes)")
    p.add_argument("--channel-axis", default="auto",
                   help="colour axis of every image: 'auto' (last axis of length 3/4), "
                        "'none' (gray), or an integer")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.set_defaults(func=cmd_teach)
