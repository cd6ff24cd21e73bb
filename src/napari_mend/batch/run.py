"""Batch: detect and mend a collection of image files on dask.distributed, resumably.

``napari-mend batch INPUTS... -o OUT_DIR`` (see :mod:`napari_mend.cli.batch`)
calls :func:`run_batch`. Every input file becomes one bundle
``OUT_DIR/NAME.mend`` (original, defects, mended image, provenance; see
:mod:`napari_mend.io.bundle`) and ``OUT_DIR/manifest.json`` lists them all
(:mod:`napari_mend.batch.manifest`).

* Work runs on a ``distributed.LocalCluster`` (by default one worker process
  per CPU, sharing :func:`napari_mend.threads.thread_count` threads) or on an
  existing cluster (``scheduler``); see :mod:`napari_mend.batch.cluster`. With
  ``in_process`` the files are mended one after the other in the calling process,
  without dask (what the dock widget's folder step does).
* Bundles are written atomically (temporary folder + rename): a killed batch
  leaves complete bundles or none; its leftover temporary folders are removed
  by the next run, which skips the inputs whose bundle exists.
* A file that fails is logged with its error and the rest go on
  (:func:`napari_mend.batch.one_file.mend_file`).
* Inputs are only read; outputs go only into ``OUT_DIR``
  (:mod:`napari_mend.batch.plan`).
* Each worker holds one image at a time in memory, except TIFFs too large
  for that and zarr arrays, which are restored block by block.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..classes import class_ids
from ..detection.api import METHODS as DETECTORS
from ..detection.api import method_model as detection_model
from ..detection.api import restore_defaults, taught_model
from ..inpainting import fill_names
from ..inpainting.api import method_model as fill_model
from ..io.bundle import is_bundle
from ..io.confine import confined
from ..limits import read_json
from ..models.registry import ModelError, model_card
from ..teaching.model import TaughtModel, save_in
from ..threads import configured_threads, thread_count, threads_per_worker
from .cluster import Cluster, check_scheduler, distributed_module
from .manifest import build_manifest, utc_now, write_manifest
from .one_file import mend_file
from .plan import BatchError, Job, plan_jobs, prepare_output_dir

LOG_NAME = "batch.log"


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


def check_options(options: dict) -> None:
    """Validate batch options and load the model cards they need, before any work.

    Raises
    ------
    BatchError
        Unknown method, threshold out of range, unknown class, or a missing model.
    """
    if options["detector"] not in DETECTORS:
        try:  # a taught model file: read and checked here, before any work
            taught = taught_model(options["detector"])
        except ModelError as err:
            raise BatchError(str(err)) from None
        if taught is None:
            raise BatchError(f"unknown detector {options['detector']!r}; choose from "
                             f"{DETECTORS} or give a taught model file")
        if not isinstance(options["detector"], TaughtModel) \
                and Path(options["detector"]).exists():  # a file: its full path, for any worker
            options["detector"] = str(Path(options["detector"]).resolve())
    if options["fill"] not in fill_names():
        raise BatchError(f"unknown fill {options['fill']!r}; choose from {fill_names()}")
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


def _done_entry(job: Job, status: str = "skipped") -> dict | None:
    """The entry of an input whose bundle exists (``status``: ``'skipped'`` when a previous
    run wrote it, ``'done'`` when a worker finished it while the run was stopping), else None."""
    if not is_bundle(job.output):
        return None
    try:
        provenance = read_json(confined(job.output, "provenance.json"))
    except (OSError, ValueError):
        provenance = None
    return {"input": str(job.source), "output": job.output.name, "status": status,
            "error": None, "seconds": None if status == "done" else 0.0,
            "provenance": provenance}


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
              channel_axis="auto", workers=None, scheduler=None, processes=True,
              in_process=False, progress=None, log=None) -> BatchResult:
    """Detect and mend every input file into ``out_dir``; resumable.

    Parameters
    ----------
    inputs : iterable of str
        Files, folders and glob patterns (see :func:`plan_jobs`).
    out_dir : str or os.PathLike
        Output folder (created if missing): one ``NAME.mend`` bundle per
        input, ``manifest.json`` and ``batch.log``.
    detector, fill, threshold, classes
        As for :func:`napari_mend.restore`. A taught model given as a
        :class:`~napari_mend.teaching.TaughtModel` is saved into ``out_dir`` as
        ``taught-<sha256>.mendmodel`` (:func:`napari_mend.teaching.model.save_in`),
        the file the workers read and the provenance names.
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
    in_process : bool, optional
        Mend the files one after the other in this process and thread, on its
        configured threads, without dask (the dock widget's folder step; no
        ``distributed`` needed). ``progress`` raising (e.g.
        :class:`napari_mend.Cancelled`) then stops between two files.
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
    if in_process and (workers is not None or scheduler is not None):
        raise BatchError("a batch in this process has no workers or scheduler; give neither")
    if workers is not None and workers < 1:
        raise BatchError(f"workers must be at least 1, got {workers}")
    options = {"detector": detector, "fill": fill,
               "threshold": None if threshold is None else float(threshold),
               "classes": None if classes is None else list(classes),
               "channel_axis": str(channel_axis)}
    check_options(options)
    # the card's defaults, once its model is checked
    options["classes"], options["threshold"] = restore_defaults(
        detector, classes=options["classes"], threshold=options["threshold"])
    jobs, ignored = plan_jobs(inputs, out_dir)
    if not jobs:
        raise BatchError("no image files found in the inputs")
    if scheduler is not None:
        distributed_module()
        check_scheduler(scheduler)
    out_dir = prepare_output_dir(out_dir)
    if isinstance(options["detector"], TaughtModel):  # kept beside the bundles it makes
        options["detector"] = str(save_in(options["detector"], out_dir).resolve())
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
    total_threads = configured_threads() or thread_count()
    workers = 1 if in_process else workers or total_threads
    if scheduler is None:  # the local workers share this machine's threads
        options["threads"] = threads_per_worker(workers, total_threads)
    kind = "processes" if processes else "threads"
    settings["cluster"] = ("none: one file after the other in the calling process" if in_process
                           else f"scheduler {scheduler}" if scheduler is not None
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
            if todo and in_process:
                _record(_mended_here(jobs, todo, options), jobs, entries, counts, note,
                        progress, t0)
            elif todo:
                with Cluster(workers=workers, scheduler=scheduler, processes=processes) as c:
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
    """Mend the files ``todo`` on the cluster of ``client``, recording each as it ends."""
    from distributed import as_completed  # deferred: distributed is optional (cluster extra)

    futures = {client.submit(mend_file, str(jobs[i].source), str(jobs[i].output), options,
                             pure=False): i for i in todo}

    def ended():
        for future in as_completed(futures):
            i = futures[future]
            try:
                yield i, future.result()
            except Exception as err:  # noqa: BLE001 - a worker died on this file
                yield i, {"input": str(jobs[i].source), "output": jobs[i].output.name,
                          "status": "failed",
                          "error": f"{jobs[i].source}: {type(err).__name__}: {err}",
                          "seconds": None, "provenance": None}

    try:
        _record(ended(), jobs, entries, counts, note, progress, t0)
    finally:
        client.cancel(list(futures))


def _mended_here(jobs, todo, options):
    """``(index, manifest entry)`` of each file of ``todo``, mended in this thread in turn."""
    for i in todo:
        yield i, mend_file(str(jobs[i].source), str(jobs[i].output), options)


def _record(ended, jobs, entries, counts, note, progress, t0):
    """Enter each ``(index, entry)`` of ``ended`` in ``entries`` and ``counts``, log it and
    report progress."""
    processed = 0
    for i, entry in ended:
        entries[i] = entry
        counts[entry["status"]] += 1
        processed += 1
        if entry["status"] == "failed":
            note(f"FAILED {entry['error']}")
        note(_eta_line(len(entries), len(jobs), counts, time.perf_counter() - t0, processed))
        if progress is not None:
            progress(len(entries), len(jobs))
