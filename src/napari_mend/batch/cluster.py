"""The dask.distributed cluster a batch runs on: an existing scheduler, or a LocalCluster.

Nothing here imports ``distributed`` until a batch needs it (it is the
optional ``cluster`` extra).
"""

from __future__ import annotations

import asyncio
import logging

from .plan import BatchError

CONNECT_TIMEOUT_S = 5.0
"""Seconds to wait for a dask scheduler to answer."""


async def _identity(address: str, timeout: float) -> dict:
    from distributed.comm import connect  # deferred: distributed is optional (cluster extra)

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


def distributed_module():
    """The ``distributed`` module; :class:`BatchError` saying how to install it when missing."""
    try:
        import distributed  # deferred: distributed is optional (cluster extra)
    except ImportError:
        raise BatchError("batches need dask.distributed: pip install 'napari-mend[cluster]'") \
            from None
    return distributed


class Cluster:
    """A distributed Client on an existing scheduler or on a new LocalCluster (closed on exit)."""

    def __init__(self, *, workers: int, scheduler=None, processes=True):
        distributed = distributed_module()
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
