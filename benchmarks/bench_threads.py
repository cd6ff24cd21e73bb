"""Two napari-mend processes at once against one: do their thread pools oversubscribe the cores?

Writes a SIDE x SIDE RGB uint8 test image (a texture with scratches), then times
``napari-mend [--threads N] restore IMAGE -o OUT.tif`` (learned detector, ``auto`` fill):
one process alone, then two started together, for each thread setting asked for.
Prints a table of wall times; every number comes from the run itself::

    python benchmarks/bench_threads.py [--side 1024] [--threads default 1] [--repeat 1]
        [--wait-policy default ACTIVE]

``default`` passes no ``--threads`` (the CPUs the process may use, see
:mod:`napari_mend.threads`). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_image(path: Path, side: int) -> None:
    import tifffile
    from skimage import data, draw, transform

    base = transform.resize(data.coffee(), (side, side), preserve_range=True).astype(np.uint8)
    rng = np.random.default_rng(0)
    for _ in range(6):
        c0, c1 = rng.integers(0, side, 2)
        rr, cc = draw.line(0, int(c0), side - 1, int(c1))
        base[rr, cc] = 240
    tifffile.imwrite(path, base)


def run(image: Path, outs: list[Path], threads: str, env: dict) -> float:
    option = [] if threads == "default" else ["--threads", threads]
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "napari_mend.cli", *option, "restore",
                               str(image), "-o", str(out), "--overwrite"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for out in outs]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(err.decode())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--threads", nargs="+", default=["default", "1"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--wait-policy", nargs="+", default=["default"],
                        help="OMP_WAIT_POLICY values to compare ('default': napari-mend's, "
                             "PASSIVE; 'ACTIVE': spinning threads, as before it was set)")
    args = parser.parse_args()
    from napari_mend.threads import available_cpus

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = tmp / "scan.tif"
        make_image(image, args.side)
        print(f"{args.side} x {args.side} RGB, restore (learned + auto); "
              f"{available_cpus()} CPUs available, os.cpu_count() {os.cpu_count()}")
        print("| OMP_WAIT_POLICY | --threads | one process (s) | two at once, wall (s) | "
              "two at once / one |")
        print("|---|---|---|---|---|")
        base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        for policy in args.wait_policy:
            env = base if policy == "default" else {**base, "OMP_WAIT_POLICY": policy}
            for threads in args.threads:
                one = min(run(image, [tmp / "a.tif"], threads, env) for _ in range(args.repeat))
                two = min(run(image, [tmp / "a.tif", tmp / "b.tif"], threads, env)
                          for _ in range(args.repeat))
                print(f"| {policy} | {threads} | {one:.1f} | {two:.1f} | {two / one:.2f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
