"""How many threads napari-mend computes with, set once for the process.

A process may use fewer CPUs than the machine has: its CPU affinity (``taskset``,
a batch scheduler's cpuset) and its cgroup CPU quota (containers, ``systemd``
slices) both limit it. :func:`available_cpus` reads both, and
:func:`configure_threads` sizes every thread pool that napari-mend's compute
runs in (PyTorch's, OpenMP's, the BLAS libraries' and OpenCV's) to that count,
or to what the user asked for (``--threads``, :data:`ENV_VAR`). Without it,
each library sizes its own pool to the whole machine, and two processes on a
shared machine (or the workers of a batch) oversubscribe the cores: their
OpenMP threads spin waiting for each other and both runs slow down many times
over. So OpenMP threads also wait passively (:data:`WAIT_POLICY`, unless the
environment sets ``OMP_WAIT_POLICY``): a process that loads PyTorch after
:func:`configure_threads` then shares the cores with others at the cost of
its share only.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .progress import report

ENV_VAR = "NAPARI_MEND_THREADS"
"""Environment variable overriding the thread count (a positive integer)."""

_POOL_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
"""Read by the OpenMP and BLAS runtimes when they start (that is, on a later import)."""

WAIT_POLICY = ("OMP_WAIT_POLICY", "PASSIVE")
"""OpenMP threads that finish a parallel region sleep instead of spinning on a core. Two runs at
once on 2 cores took 1.10 times as long as one with it, 3.06 times with spinning threads
(``benchmarks/bench_threads.py``, docs/user_guide.md)."""
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_configured: int | None = None


def available_cpus() -> int:
    """The number of CPUs this process may use: its affinity, capped by its cgroup quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, quota)
    return max(1, cpus)


def cgroup_cpu_quota(root: Path = _CGROUP_ROOT) -> int | None:
    """The CPU quota of the process's cgroup, rounded up to whole CPUs; ``None`` if unlimited.

    Reads cgroup v2 (``cpu.max``) and, failing that, cgroup v1
    (``cpu/cpu.cfs_quota_us`` and ``cpu.cfs_period_us``).
    """
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def thread_count(requested=None) -> int:
    """The thread count to use: ``requested``, else :data:`ENV_VAR`, else :func:`available_cpus`.

    Raises
    ------
    ValueError
        If ``requested`` or the environment variable is not a positive integer.
    """
    source = "--threads"
    if requested is None:
        requested, source = os.environ.get(ENV_VAR) or None, ENV_VAR
    if requested is None:
        return available_cpus()
    try:
        count = int(requested)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or str(requested).strip() != str(count):
        raise ValueError(f"{source}={requested!r}: give a positive whole number of threads "
                         f"(this process may use {available_cpus()} CPUs)")
    return count


def configure_threads(requested=None) -> int:
    """Size the process's compute thread pools; return the thread count.

    Call it once, early, from a front end (the command line, a batch worker);
    calling it again changes the pools to the new count.

    Parameters
    ----------
    requested : int or str, optional
        Threads to use. Default: :data:`ENV_VAR` if set, else
        :func:`available_cpus`.

    Returns
    -------
    threads : int
        The count applied to PyTorch (intra-op threads), the BLAS and
        OpenMP pools already loaded (through ``threadpoolctl``), OpenCV, and
        the environment variables that libraries loaded later read (with
        :data:`WAIT_POLICY`).
    """
    global _configured
    count = thread_count(requested)
    for name in _POOL_VARIABLES:
        os.environ[name] = str(count)
    os.environ.setdefault(*WAIT_POLICY)  # read when OpenMP starts, i.e. when torch is imported
    if "torch" in sys.modules:
        import torch  # deferred: torch is heavy; loaded only when a network runs

        torch.set_num_threads(count)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(count)
    from threadpoolctl import threadpool_limits  # deferred: only when thread limits are set

    threadpool_limits(limits=count)
    _configured = count
    return count


def opencv():
    """OpenCV (``cv2``) with its thread pool sized as configured (:func:`configure_threads`),
    or None where the optional extra is not installed (``pip install 'napari-mend[opencv]'``)."""
    try:
        import cv2  # deferred: optional extra
    except ImportError:
        return None
    if _configured is not None:
        cv2.setNumThreads(_configured)
    return cv2


def configured_threads() -> int | None:
    """The count set by :func:`configure_threads` in this process, or ``None``."""
    return _configured


def threads_per_worker(workers: int, total: int | None = None) -> int:
    """Threads for each of ``workers`` processes sharing ``total`` threads (default: all
    :func:`thread_count`), at least one each."""
    total = thread_count() if total is None else total
    return max(1, total // max(1, workers))


def run_side_by_side(tasks, *, progress=None, workers=None) -> None:
    """Run the callables ``tasks`` on :func:`configured_threads` (else :func:`thread_count`)
    threads, or at most ``workers``, reporting ``progress(done, len(tasks))`` from the
    calling thread.

    For work that releases the GIL (SciPy's filters, scikit-learn's trees, torch) and
    writes disjoint parts of one output. A task's exception, or a progress callback's
    (:class:`napari_mend.Cancelled`), is raised once the tasks already started end; the
    ones not yet started are dropped.
    """
    tasks = list(tasks)
    report(progress, 0, len(tasks))
    workers = min(len(tasks), workers or configured_threads() or thread_count())
    if workers <= 1:
        for done, task in enumerate(tasks):
            task()
            report(progress, done + 1, len(tasks))
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(task) for task in tasks]
        try:
            for done, future in enumerate(futures):
                future.result()
                report(progress, done + 1, len(tasks))
        finally:
            for future in futures:
                future.cancel()
