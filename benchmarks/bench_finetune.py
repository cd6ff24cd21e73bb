"""Fine-tuning benchmark: held-out quality before and after N minutes on one domain.

The domain is a set of corpus images, by default ``hubble_deep_field`` and
``gravel``: validation images of ``napari_mend.synthesis`` that the shipped
models never saw (a fine-tuned model is never shipped, so the shipped
models' validation stays clean). ``--domain cell`` is the issue's example,
but ``cell`` IS in the shipped models' training split. Each image is split by
region: the last quarter of its longer side is held out; the model trains on
the rest for ``--minutes`` and is measured on the held-out part before and
after (detector: mean pixel F1 over the defect classes; inpainter: PSNR in
the holes), on synthesised defects ("own") and on held-out crops damaged by the
independent validation generator ("independent": its holes are the pixels its
defects change). Models go to a temporary model folder.

    python benchmarks/bench_finetune.py --kind detector --minutes 5
    python benchmarks/bench_finetune.py --kind inpainter --minutes 5
    python benchmarks/bench_finetune.py --kind inpainter --domain page --crop 64 --minutes 5
    python benchmarks/bench_finetune.py --kind detector --domain cell --crop 128

``page`` (a scanned book page, 191 x 384) is a validation image too; its
held-out quarter is 96 px wide, so its crops must be at most that.

Prints a markdown table row per run (used in docs/finetune.md); ``--json``
also writes the full before/after metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["detector", "inpainter"], required=True)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--domain", nargs="+", default=["hubble_deep_field", "gravel"],
                        help="corpus image names (napari_mend.synthesis.ALL_IMAGES)")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the result to this file")
    args = parser.parse_args(argv)

    os.environ.setdefault("NAPARI_MEND_MODEL_DIR", tempfile.mkdtemp(prefix="mend-bench-"))
    import torch

    from napari_mend.evaluation.detector import write_json
    from napari_mend.finetune import finetune
    from napari_mend.synthesis import load_corpus_image

    images = [load_corpus_image(n) for n in args.domain]
    t0 = time.perf_counter()
    result = finetune(args.kind, images, minutes=args.minutes, crop=args.crop, batch=args.batch,
                      lr=args.lr, seed=args.seed, name=f"bench-{args.kind}", overwrite=True,
                      on_event=lambda e: e["event"] in ("before", "after", "checkpoint")
                      and print(json.dumps(e), flush=True))
    total = time.perf_counter() - t0
    run = result.card["finetune"]
    key = run["metric"]
    row = {"kind": args.kind, "domain": "+".join(args.domain), "minutes": args.minutes,
           "steps": run["steps"], "crop": args.crop, "batch": args.batch, "lr": run["lr"],
           "metric": key, "before": result.before[key], "after": result.after[key],
           "gain": round(result.after[key] - result.before[key], 4),
           "before_detail": result.before, "after_detail": result.after,
           "total_s": round(total, 1), "threads": torch.get_num_threads(),
           "cpu": platform.processor() or platform.machine()}
    if "recalibrated" in result.before:
        row["before_recalibrated"] = result.before["recalibrated"][key]
    theirs = result.before["independent"][key], result.after["independent"][key]
    row.update(independent_before=theirs[0], independent_after=theirs[1],
               independent_gain=round(theirs[1] - theirs[0], 4))
    print("| kind | domain | minutes | steps | metric | own before | own after | own gain | "
          "independent before | independent after | independent gain |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.kind} | {row['domain']} | {args.minutes:g} | {row['steps']} | {key} | "
          f"{row['before']:.4g} | {row['after']:.4g} | {row['gain']:+.4g} | "
          f"{theirs[0]:.4g} | {theirs[1]:.4g} | {theirs[1] - theirs[0]:+.4g} |")
    if args.json:
        write_json(args.json, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
