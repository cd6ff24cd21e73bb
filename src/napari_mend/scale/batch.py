"""Batch: detect and mend a collection of image files on dask.distributed, resumably.

``napari-mend batch INPUTS... -o OUT_DIR`` (see :mod:`napari_mend.batch_cli`)
calls :func:`run_batch`. Every input file becomes one bundle
``OUT_DIR/NAME.mend`` (original, defects, mended image, provenance; see
:mod:`napari_mend.io.bundle`) and ``OUT_DIR/manifest.json`` lists them all
(:mod:`napari_mend.scale.manifest`).

* Work runs on a ``distributed.LocalCluster`` (by default one worker process
  per CPU, sharing :func:`napari_mend.threads.thread_count` threads) or on an
  existing cluster (``scheduler``).
* Bundles are written atomically (temporary folder + rename): a killed batch
  leaves complete bundles or none; its leftover temporary folders are removed
  by the next run, which skips the inputs whose bundle exists.
* A file that fails is logged with its error and the rest go on.
* Inputs are only read; outputs go only into ``OUT_DIR``. Files under
  ``OUT_DIR`` (an output folder inside an input folder) are never inputs.
* Each worker holds one image at a time in memory; for single images too
  large for that, use the lazy API (:mod:`napari_mend.scale.lazy`).
"""

from __future__ import annotations

import asyncio
import glob
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..io.atomic import remove_stale
from ..io.bundle import BUNDLE_SUFFIX
from .manifest import build_manifest, utc_now, write_manifest

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
"""Files taken from input folders (files named explicitly are always tried)."""
LOG_NAME = "batch.log"
CONNECT_TIMEOUT_S = 5.0


class BatchError(Exception):
    """A problem found before any work starts (bad inputs, output folder, cluster)."""


@dataclass(frozen=True)
class Job:
    """One input file and the bundle it becomes."""

    source: Path
    output: Path


@dataclass
class BatchResult:
    """What a batch did: the manifest written and the counts in it."""

    manifest_path: Path
    manifest: dict
    ignored: list = field(default_factory=list)

    @property
    def counts(self) -> dict:
        return self.manifest["counts"]

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return self.counts["failed"] == 0


# ---------------------------------------------------------------- planning


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _folder_files(folder: Path, out_dir: Path) -> tuple[list[Path], list[Path]]:
    """Image files under ``folder`` (recursively), and the other files seen."""
    images, others = [], []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.endswith(BUNDLE_SUFFIX)
                         and not _is_within((here / d).resolve(), out_dir))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = here / name
            (images if path.suffix.lower() in IMAGE_SUFFIXES else others).append(path)
    return images, others


def _expand(item: str, out_dir: Path):
    """``(root, files, others)`` of one INPUT: a file, a folder or a glob pattern."""
    path = Path(item)
    if path.is_dir():
        images, others = _folder_files(path, out_dir)
        return path, images, others
    if path.is_file():
        return None, [path], []
    if glob.has_magic(item):
        matches = sorted(Path(p) for p in glob.glob(item, recursive=True))
        files = [p for p in matches if p.is_file()]
        if files:
            return None, files, []
        raise BatchError(f"{item}: the pattern matches no file")
    raise BatchError(f"{item}: no such file or folder")


def _bundle_name(source: Path, root: Path | None, *, keep_suffix: bool) -> str:
    rel = source.relative_to(root) if root is not None else Path(source.name)
    if not keep_suffix:
        rel = rel.with_suffix("")
    return rel.as_posix().replace("/", "__") + BUNDLE_SUFFIX


def plan_jobs(inputs, out_dir) -> tuple[list[Job], list[Path]]:
    """Expand INPUTS into jobs, one bundle per input file.

    Parameters
    ----------
    inputs : iterable of str
        Files, folders (image files found recursively; hidden entries and
        ``.mend`` bundles skipped) and glob patterns.
    out_dir : str or os.PathLike
        The output folder; files inside it are never inputs.

    Returns
    -------
    jobs : list of Job
        In input order, without duplicates. A bundle is named after the
        file's path relative to its input folder (``sub/a.png`` ->
        ``sub__a.mend``), keeping the suffix where names would clash
        (``a.png.mend`` and ``a.tif.mend``).
    ignored : list of pathlib.Path
        Files in input folders that are not images, or inside ``out_dir``.

    Raises
    ------
    BatchError
        An input that does not exist or matches nothing, or two inputs that
        would write the same bundle.
    """
    out_dir = Path(out_dir).resolve()
    found, ignored, seen = [], [], set()
    for item in inputs:
        root, files, others = _expand(str(item), out_dir)
        ignored += others
        for f in files:
            key = f.resolve()
            if _is_within(key, out_dir):
                ignored.append(f)
            elif key not in seen:
                seen.add(key)
                found.append((f, root))
    plain = [_bundle_name(f, r, keep_suffix=False) for f, r in found]
    clash = {n for n in plain if plain.count(n) > 1}
    jobs, owner = [], {}
    for (f, r), name in zip(found, plain, strict=True):
        if name in clash:
            name = _bundle_name(f, r, keep_suffix=True)
        if name in owner:
            raise BatchError(f"{owner[name]} and {f} would both be written to {name}; "
                             "rename one or run them in separate batches")
        owner[name] = f
        jobs.append(Job(f, out_dir / name))
    return jobs, ignored


def prepare_output_dir(out_dir) -> Path:
    """Create ``out_dir`` if needed and check that files can be written there.

    Leftover temporary folders of a killed batch are removed.

    Raises
    ------
    BatchError
        If the folder cannot be created or written to.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(f"cannot create the output folder {out_dir}: {err.strerror or err}") \
            from None
    probe = out_dir / f".napari-mend-write-test-{secrets.token_hex(4)}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise BatchError(f"cannot write into the output folder {out_dir}: "
                         f"{err.strerror or err}; pick a folder you may write to") from None
    remove_stale(out_dir)  # temporaries of runs killed with SIGKILL
    return out_dir


# ---------------------------------------------------------------- one file


def check_options(options: dict) -> None:
    """Validate batch options and load the model cards they need, before any work.

    Raises
    ------
    BatchError
        Unknown method, threshold out of range, unknown class, or a missing model.
    """
    from ..classes import class_ids
    from ..detection.api import METHODS as DETECTORS
    from ..detection.api import method_model as detection_model
    from ..inpainting.api import METHODS as FILLS
    from ..inpainting.api import method_model as fill_model
    from ..models.registry import ModelError, model_card

    if options["detector"] not in DETECTORS:
        from ..detection.api import taught_model

        try:  # a taught model file: read and checked here, before any work
            taught = taught_model(options["detector"])
        except ModelError as err:
            raise BatchError(str(err)) from None
        if taught is None:
            raise BatchError(f"unknown detector {options['detector']!r}; choose from "
                             f"{DETECTORS} or give a taught model file")
        if Path(options["detector"]).exists():  # a file, for workers in another folder
            options["detector"] = str(Path(options["detector"]).resolve())
    if options["fill"] not in FILLS:
        raise BatchError(f"unknown fill {options['fill']!r}; choose from {FILLS}")
    if options["threshold"] is not None and not 0.0 <= options["threshold"] <= 1.0:
        raise BatchError(f"threshold must be in [0, 1], got {options['threshold']}")
    try:
        class_ids(options["classes"])
    except (KeyError, ValueError) as err:
        raise BatchError(str(err)) from None
    for name in (detection_model(options["detector"]), fill_model(options["fill"])):
        if name is not None:
            try:
                model_card(name)
            except ModelError as err:
                raise BatchError(f"{err}; or pick a classical method") from None


def mend_file(source: str, output: str, options: dict) -> dict:
    """Detect and mend one image file into a bundle; never raises.

    Runs on a worker. ``options`` holds ``detector``, ``fill``,
    ``threshold``, ``classes`` and ``channel_axis`` (``'auto'``, ``'none'``
    or an integer as text).

    Returns
    -------
    entry : dict
        The file's manifest entry: ``input``, ``output`` (bundle name),
        ``status`` (``'done'`` or ``'failed'``), ``error``, ``seconds``,
        ``provenance``.
    """
    from ..image_files import CLIError, open_for_restore, restore_file
    from ..threads import configure_threads

    configure_threads(options.get("threads") or _worker_threads())
    start = time.perf_counter()
    entry = {"input": source, "output": Path(output).name, "status": "failed", "error": None,
             "seconds": None, "provenance": None}
    try:
        data, axis, source_name, in_blocks = open_for_restore(Path(source),
                                                              options["channel_axis"])
        provenance = restore_file(  # one dask thread: the worker's threads go to each kernel
            Path(output), data, axis, source_name, in_blocks=in_blocks, num_workers=1,
            **{key: options[key] for key in ("detector", "fill", "threshold", "classes")})
        entry.update(status="done", provenance=provenance)
    except CLIError as err:
        entry["error"] = str(err)
    except Exception as err:  # noqa: BLE001 - any failure of one file is logged, the rest go on
        entry["error"] = f"{source}: {type(err).__name__}: {err}"
    entry["seconds"] = round(time.perf_counter() - start, 3)
    return entry


def _worker_threads() -> int | None:
    """The threads of the dask worker this runs on (``dask worker --nthreads``), if any."""
    try:
        from distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):  # not on a distributed worker
        return None


def _done_entry(job: Job, status: str = "skipped") -> dict | None:
    """The entry of an input whose bundle exists (``status``: ``'skipped'`` when a previous
    run wrote it, ``'done'`` when a worker finished it while the run was stopping), else None."""
    from ..io.bundle import is_bundle
    from ..io.confine import confined
    from ..limits import read_json

    if not is_bundle(job.output):
        return None

    try:
        provenance = read_json(confined(job.output, "provenance.json"))
    except (OSError, ValueError):
        provenance = None
    return {"input": str(job.source), "output": job.output.name, "status": status,
            "error": None, "seconds": None if status == "done" else 0.0,
            "provenance": provenance}


# ---------------------------------------------------------------- cluster


async def _identity(address: str, timeout: float) -> dict:
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity"})
        return await asyncio.wait_for(comm.read(), timeout)
    finally:
        await comm.close()


def check_scheduler(address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Check that a dask scheduler answers at ``address`` within ``timeout`` seconds.

    Raises
    ------
    BatchError
        If nothing answers, or what answers is not a dask scheduler.
    """
    try:
        reply = asyncio.run(_identity(address, timeout))
    except Exception as err:  # noqa: BLE001 - refused, timed out, bad address, garbage reply
        raise BatchError(f"no dask scheduler answered at {address} within {timeout:g} s "
                         f"({type(err).__name__}: {err}); check the address "
                         "(e.g. tcp://host:8786) and that the scheduler is running") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise BatchError(f"{address} answered, but not as a dask scheduler")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise BatchError("batches need dask.distributed: pip install 'napari-mend[cluster]'") \
            from None
    return distributed


class _Cluster:
    """A distributed Client on an existing scheduler or on a new LocalCluster (closed on exit)."""

    def __init__(self, *, workers: int, scheduler=None, processes=True):
        import logging

        distributed = _distributed()
        self.cluster = None
        if scheduler is not None:
            self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            return
        self.cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=processes,
            dashboard_address=None, silence_logs=logging.ERROR)
        self.client = distributed.Client(self.cluster)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ---------------------------------------------------------------- the batch


def _eta_line(done: int, total: int, counts: dict, elapsed: float, processed: int) -> str:
    rate = elapsed / processed if processed else None
    left = total - done
    eta = f"{_duration(rate * left)} left" if rate is not None and left else ""
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    return f"[{done}/{total}] {parts} | {_duration(elapsed)} elapsed{', ' + eta if eta else ''}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def run_batch(inputs, out_dir, *, detector="learned", fill="auto", threshold=None, classes=None,
              channel_axis="auto", workers=None, scheduler=None, processes=True, progress=None,
              log=None) -> BatchResult:
    """Detect and mend every input file into ``out_dir``; resumable.

    Parameters
    ----------
    inputs : iterable of str
        Files, folders and glob patterns (see :func:`plan_jobs`).
    out_dir : str or os.PathLike
        Output folder (created if missing): one ``NAME.mend`` bundle per
        input, ``manifest.json`` and ``batch.log``.
    detector, fill, threshold, classes
        As for :func:`napari_mend.restore`.
    channel_axis : str, optional
        ``'auto'`` (a last axis of 3 or 4 is colour), ``'none'`` or an
        integer as text; applied to every file.
    workers : int, optional
        Worker processes of the LocalCluster (default: one per thread of
        :func:`napari_mend.threads.thread_count`); they share those threads
        equally, so the workers do not oversubscribe the cores.
    scheduler : str, optional
        Address of an existing dask scheduler (e.g. ``tcp://host:8786``)
        instead of a LocalCluster.
    processes : bool, optional
        LocalCluster workers as processes (default) or threads.
    progress : callable, optional
        ``progress(done, total)`` after every file (skipped ones included).
    log : callable, optional
        ``log(line)`` for a progress line per file (counts, elapsed time,
        ETA) and each failure.

    Returns
    -------
    result : BatchResult
        ``result.ok`` is False when any file failed.

    Raises
    ------
    BatchError
        Before any work: bad inputs or options, an output folder that
        cannot be written, a scheduler that does not answer.
    """
    if workers is not None and scheduler is not None:
        raise BatchError("give either --workers (a local cluster) or --scheduler, not both")
    if workers is not None and workers < 1:
        raise BatchError(f"workers must be at least 1, got {workers}")
    options = {"detector": detector, "fill": fill,
               "threshold": None if threshold is None else float(threshold),
               "classes": None if classes is None else list(classes),
               "channel_axis": str(channel_axis)}
    check_options(options)
    from ..detection.api import restore_defaults  # the card's, once its model is checked

    options["classes"], options["threshold"] = restore_defaults(
        detector, classes=options["classes"], threshold=options["threshold"])
    jobs, ignored = plan_jobs(inputs, out_dir)
    if not jobs:
        raise BatchError("no image files found in the inputs")
    if scheduler is not None:
        _distributed()
        check_scheduler(scheduler)
    out_dir = prepare_output_dir(out_dir)
    say = log or (lambda line: None)
    started = utc_now()
    entries: dict[int, dict] = {}
    todo = []
    for i, job in enumerate(jobs):
        done = _done_entry(job)
        if done is None:
            todo.append(i)
        else:
            entries[i] = done
    counts = {"done": 0, "skipped": len(entries), "failed": 0}
    settings = {key: options[key] for key in ("detector", "fill", "threshold", "classes",
                                              "channel_axis")}
    from ..threads import configured_threads, thread_count, threads_per_worker

    total_threads = configured_threads() or thread_count()
    workers = workers or total_threads
    if scheduler is None:  # the local workers share this machine's threads
        options["threads"] = threads_per_worker(workers, total_threads)
    kind = "processes" if processes else "threads"
    settings["cluster"] = (f"scheduler {scheduler}" if scheduler is not None
                           else f"LocalCluster, {workers} worker {kind}")
    finished = None
    t0 = time.perf_counter()
    with open(out_dir / LOG_NAME, "a", encoding="utf-8") as logfile:
        def note(line):
            logfile.write(f"{utc_now()} {line}\n")
            logfile.flush()
            say(line)

        note(f"batch of {len(jobs)} files into {out_dir}: {len(todo)} to do, "
             f"{len(entries)} already done")
        if progress is not None:
            progress(len(entries), len(jobs))
        try:
            if todo:
                with _Cluster(workers=workers, scheduler=scheduler, processes=processes) as c:
                    _run_jobs(c.client, jobs, todo, options, entries, counts, note, progress, t0)
            finished = utc_now()
        finally:
            for i in todo:  # stopped (SIGTERM, Ctrl-C): bundles finished while cancelling
                if i not in entries and (entry := _done_entry(jobs[i], "done")) is not None:
                    entries[i] = entry
                    counts["done"] += 1
            ordered = [entries[i] for i in sorted(entries)]
            manifest = build_manifest(ordered, settings=settings, started=started,
                                      finished=finished)
            path = write_manifest(out_dir, manifest)
            note(f"wrote {path}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return BatchResult(path, manifest, ignored)


def _run_jobs(client, jobs, todo, options, entries, counts, note, progress, t0):
    from distributed import as_completed

    futures = {client.submit(mend_file, str(jobs[i].source), str(jobs[i].output), options,
                             pure=False): i for i in todo}
    processed = 0
    try:
        for future in as_completed(futures):
            i = futures[future]
            try:
                entry = future.result()
            except Exception as err:  # noqa: BLE001 - a worker died on this file
                entry = {"input": str(jobs[i].source), "output": jobs[i].output.name,
                         "status": "failed",
                         "error": f"{jobs[i].source}: {type(err).__name__}: {err}",
                         "seconds": None, "provenance": None}
            entries[i] = entry
            counts[entry["status"]] += 1
            processed += 1
            if entry["status"] == "failed":
                note(f"FAILED {entry['error']}")
            note(_eta_line(len(entries), len(jobs), counts, time.perf_counter() - t0, processed))
            if progress is not None:
                progress(len(entries), len(jobs))
    finally:
        client.cancel(list(futures))
