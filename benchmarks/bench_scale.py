"""Scale benchmarks: peak memory of lazy detect + mend, batch throughput, kill and resume.

Prints tables; every number comes from the run itself. Subcommands::

    python benchmarks/bench_scale.py memory --size 20000 [--format zarr|tiff] [--chunk 1024]
        [--detector classical|learned] [--fill telea|auto|...]
        [--way together|staged|cli|deidentify]
    python benchmarks/bench_scale.py batch --images 200 --side 1024 [--workers 1 2]
    python benchmarks/bench_scale.py resume --images 12 --side 512

memory
    Writes a SIZE x SIZE RGB uint8 image to disk (zarr, or a tiled TIFF),
    chunk by chunk: a seamless texture with film scratches running through
    the whole frame and dust specks. Then, in a fresh process, detects
    (classical detector by default) and mends (Telea by default) it lazily,
    storing the mended image and the Labels to zarr, and reports that
    process's peak resident memory (``ru_maxrss``), wall time and the pixels
    changed. ``--way together``: :func:`napari_mend.restore.restore` and
    one :func:`~napari_mend.io.zarr_store.store` of both results; ``--way
    staged``: :func:`napari_mend.scale.restore_module.restore_to_zarr` (labels stored
    first, then mended from them; provenance digests included), as
    ``napari-mend restore -o NAME.zarr`` does; ``--way cli``:
    ``napari-mend restore INPUT -o mended.tif`` (block by block through a
    work folder, then a tiled TIFF written a band at a time); ``--way
    deidentify``: ``napari-mend deidentify INPUT -o mended.tif`` (the same,
    burned-in text only, plus the regions report).
batch
    Writes IMAGES RGB uint8 PNGs of SIDE x SIDE, runs ``run_batch`` on a
    LocalCluster of 1, then 2, ... worker processes, and reports throughput
    end to end (cluster start-up included) and the cluster's per-image
    overhead: ``wall * workers`` minus the time spent inside ``mend_file``,
    per image (start-up, scheduling, transfers, idle workers), against the
    mean time inside ``mend_file``. The start-up of a cluster alone is
    measured separately.
resume
    Runs ``napari-mend batch`` in a subprocess, kills it (SIGKILL) once a
    few bundles exist, resumes it, and compares every bundle with an
    uninterrupted run (pixels, labels, provenance except its time), and
    looks for partial or temporary files.

By default detector and fill are classical, so the benchmark needs no model
weights and its work per image is the same on any machine; ``memory
--detector learned --fill auto`` measures the shipped models' path (the learned
detector, text completion and the auto fill).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import napari_mend.restore as restore_module
from napari_mend.io import images, zarr_store

SCRATCH_EVERY = 3000  # a vertical film scratch every this many columns


def texture_block(y0: int, x0: int, h: int, w: int, *, seed: int = 0) -> np.ndarray:
    """Block ``[y0:y0+h, x0:x0+w]`` of a seamless synthetic RGB uint8 scan with defects."""
    y = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
    x = np.arange(x0, x0 + w, dtype=np.float32)[None, :]
    base = (0.5 + 0.15 * np.sin(x / 97.0) * np.cos(y / 131.0)
            + 0.1 * np.sin((x + 2 * y) / 1700.0))
    rng = np.random.default_rng([seed, y0, x0])
    channels = [base * gain + 0.03 * rng.standard_normal((h, w), np.float32)
                for gain in (1.0, 0.9, 0.8)]
    image = np.clip(np.stack(channels, axis=-1) * 255, 0, 255).astype(np.uint8)
    for col in range(SCRATCH_EVERY // 2, x0 + w, SCRATCH_EVERY):  # scratches through the frame
        if x0 <= col < x0 + w:
            image[:, col - x0] = 250
    for _ in range(max(1, h * w // 400_000)):  # dust specks
        r, c = rng.integers(4, h - 4), rng.integers(4, w - 4)
        image[r - 2:r + 3, c - 2:c + 3] = 10
    return image


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------- memory


def write_image(path: Path, size: int, chunk: int, fmt: str) -> None:
    """Write the synthetic image to disk block by block (never whole in memory)."""
    if fmt == "zarr":
        import zarr

        z = zarr.create_array(str(path), shape=(size, size, 3), chunks=(chunk, chunk, 3),
                              dtype=np.uint8)
        for y0 in range(0, size, chunk):
            for x0 in range(0, size, chunk):
                h, w = min(chunk, size - y0), min(chunk, size - x0)
                z[y0:y0 + h, x0:x0 + w] = texture_block(y0, x0, h, w)
        return
    import tifffile

    tile = 512

    def tiles():
        for y0 in range(0, size, tile):
            for x0 in range(0, size, tile):
                h, w = min(tile, size - y0), min(tile, size - x0)
                block = np.zeros((tile, tile, 3), np.uint8)
                block[:h, :w] = texture_block(y0, x0, h, w)
                yield block

    tifffile.imwrite(path, tiles(), shape=(size, size, 3), dtype=np.uint8, tile=(tile, tile),
                     photometric="rgb")


def memory_child(args) -> None:
    """Runs in a fresh process: lazy restore from disk to zarr; prints a JSON line."""
    start = time.perf_counter()
    image = images.open_lazy(args.path, chunk=args.chunk)
    out = Path(args.out)
    options = {"channel_axis": -1, "detector": args.detector, "fill": args.fill,
               "chunk": args.chunk}
    if args.way in ("cli", "deidentify"):
        from napari_mend.cli.main import main

        command = "restore" if args.way == "cli" else "deidentify"
        main([command, args.path, "-o", str(out / "mended.tif"), "--detector", args.detector,
              "--fill", args.fill])
        print(json.dumps({"wall_s": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb(),
                          "changed_px": _changed_in_tiff(out / "mended.tif")}))
        return
    if args.way == "staged":
        restore_module.restore_to_zarr(image, out / "mended.zarr", out / "labels.zarr",
                             num_workers=args.threads, **options)
    else:
        mended, labels = restore_module.restore(image, **options)
        zarr_store.store([mended, labels], [out / "mended.zarr", out / "labels.zarr"],
                   num_workers=args.threads)
    wall = time.perf_counter() - start
    stored = images.open_lazy(out / "labels.zarr")
    changed = int((stored != 0).sum().compute())
    print(json.dumps({"wall_s": wall, "peak_rss_mb": _peak_rss_mb(), "changed_px": changed}))


def _changed_in_tiff(path: Path) -> int:
    from napari_mend.io.tiff import read_tiff_metadata

    return read_tiff_metadata(path)["provenance"]["mask"]["changed_pixels"]


def run_memory(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_scale_", dir=args.tmp))
    try:
        src = work / ("image.zarr" if args.format == "zarr" else "image.tif")
        t0 = time.perf_counter()
        write_image(src, args.size, args.chunk, args.format)
        t_write = time.perf_counter() - t0
        out = work / "out"
        out.mkdir()
        cmd = [sys.executable, __file__, "memory-child", str(src), str(out),
               "--chunk", str(args.chunk), "--threads", str(args.threads),
               "--detector", args.detector, "--fill", args.fill, "--way", args.way]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        gib = args.size * args.size * 3 / 2**30
        print(f"\nLazy detect ({args.detector}) + mend ({args.fill}), {args.way}, "
              f"{args.size} x {args.size} "
              f"RGB uint8 "
              f"({gib:.2f} GiB) from {args.format}, chunk {args.chunk}, "
              f"{args.threads} threads")
        print("| size | input | image GiB | write input s | detect+mend+store s | "
              "Mpx/s | peak RSS MB | changed px |")
        print("|---|---|---|---|---|---|---|---|")
        mpx = args.size * args.size / 1e6
        print(f"| {args.size} | {args.format} | {gib:.2f} | {t_write:.0f} | "
              f"{result['wall_s']:.0f} | {mpx / result['wall_s']:.2f} | "
              f"{result['peak_rss_mb']:.0f} | {result['changed_px']} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- batch


def write_pngs(folder: Path, n: int, side: int) -> None:
    from skimage.io import imsave

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        imsave(folder / f"scan_{i:04d}.png", texture_block(i * side, 0, side, side),
               check_contrast=False)


def _cluster_startup(n_workers: int) -> float:
    """Seconds to start a LocalCluster of worker processes that import napari-mend, and stop it."""
    import logging

    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.run(__import__, "napari_mend.restore")
    return time.perf_counter() - start


def run_batch_benchmark(args) -> None:
    from napari_mend.batch.run import run_batch

    work = Path(tempfile.mkdtemp(prefix="bench_batch_", dir=args.tmp))
    try:
        write_pngs(work / "in", args.images, args.side)
        rows = []
        for n_workers in args.workers:
            out = work / f"out_{n_workers}"
            startup = _cluster_startup(n_workers)
            start = time.perf_counter()
            result = run_batch([str(work / "in")], out, detector="classical", fill="telea",
                               workers=n_workers)
            wall = time.perf_counter() - start
            inside = sum(e["seconds"] for e in result.manifest["files"] if e["seconds"])
            n = result.counts["done"]
            overhead = (wall * n_workers - inside) / n  # start-up, scheduling, idle workers
            rows.append((n_workers, wall, startup, n / wall, inside / n, overhead,
                         result.counts["failed"]))
        base = rows[0][3]
        print(f"\nBatch of {args.images} RGB uint8 PNGs {args.side} x {args.side}, classical "
              f"detector + telea, LocalCluster worker processes ({os.cpu_count()} cores)")
        print("| workers | wall s | cluster start-up s | images/s | speed-up | "
              "work per image s | overhead per image s | overhead % | failed |")
        print("|---|---|---|---|---|---|---|---|---|")
        for n_workers, wall, startup, rate, work_s, overhead, failed in rows:
            print(f"| {n_workers} | {wall:.1f} | {startup:.1f} | {rate:.2f} | "
                  f"{rate / base:.2f}x | {work_s:.2f} | {overhead:.3f} | "
                  f"{100 * overhead / work_s:.1f} | {failed} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- resume


def _bundle_digest(folder: Path) -> dict:
    from napari_mend.io.bundle import find_bundles, read_bundle
    from napari_mend.io.provenance import array_sha256

    digest = {}
    for path in find_bundles(folder):
        b = read_bundle(path)
        prov = {k: v for k, v in b.provenance.items() if k != "created"}
        digest[path.name] = (array_sha256(b.original), array_sha256(b.labels),
                             array_sha256(b.mended), json.dumps(prov, sort_keys=True))
    return digest


def run_resume(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_resume_", dir=args.tmp))
    try:
        write_pngs(work / "in", args.images, args.side)
        cmd = [sys.executable, "-m", "napari_mend.cli", "batch", str(work / "in"),
               "--detector", "classical", "--fill", "telea", "--workers", "2", "-o"]
        subprocess.run(cmd + [str(work / "whole")], check=True, capture_output=True)
        killed = work / "killed"
        proc = subprocess.Popen(cmd + [str(killed)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        while proc.poll() is None and len(list(killed.glob("*.mend"))) < args.kill_after:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker processes
        proc.wait()
        at_kill = sorted(p.name for p in killed.iterdir())
        done_at_kill = sum(n.endswith(".mend") and not n.startswith(".") for n in at_kill)
        partial = [n for n in at_kill if n.startswith(".")]
        resumed = subprocess.run(cmd + [str(killed)], capture_output=True, text=True)
        leftovers = [p.name for p in killed.iterdir() if p.name.startswith(".")]
        whole, again = _bundle_digest(work / "whole"), _bundle_digest(killed)
        same = whole == again
        print(f"\nKill and resume: {args.images} PNGs {args.side} x {args.side}, 2 workers, "
              f"SIGKILL after {args.kill_after} bundles")
        print("| bundles at kill | temporary entries at kill | resume exit code | "
              "bundles after resume | temporary entries after resume | "
              "identical to uninterrupted run |")
        print("|---|---|---|---|---|---|")
        print(f"| {done_at_kill} | {len(partial)} | {resumed.returncode} | {len(again)} | "
              f"{len(leftovers)} | {'yes' if same else 'NO'} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tmp", default=None, help="folder for temporary files")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("memory")
    p.add_argument("--size", type=int, default=20000)
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--format", choices=["zarr", "tiff"], default="zarr")
    p.add_argument("--detector", choices=["classical", "learned"], default="classical")
    p.add_argument("--fill", default="telea", help="telea, ns, biharmonic, learned or auto")
    p.add_argument("--way", choices=["together", "staged", "cli", "deidentify"],
                   default="together")
    p = sub.add_parser("memory-child")
    p.add_argument("path")
    p.add_argument("out")
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--detector", default="classical")
    p.add_argument("--fill", default="telea")
    p.add_argument("--way", default="together")
    p = sub.add_parser("batch")
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--side", type=int, default=1024)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p = sub.add_parser("resume")
    p.add_argument("--images", type=int, default=12)
    p.add_argument("--side", type=int, default=512)
    p.add_argument("--kill-after", type=int, default=4)
    args = parser.parse_args()
    if args.command == "memory":
        run_memory(args)
    elif args.command == "memory-child":
        memory_child(args)
    elif args.command == "batch":
        run_batch_benchmark(args)
    else:
        run_resume(args)


if __name__ == "__main__":
    main()
