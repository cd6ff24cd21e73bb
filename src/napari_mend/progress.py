"""Progress reporting and cancellation shared by the compute API.

Every long public function takes ``progress=None``: a callable
``progress(done, total)`` called from the thread doing the work. A callback
may raise :class:`Cancelled` to stop the work; nothing is written and the
input is untouched.
"""

from __future__ import annotations


class Cancelled(Exception):
    """Raised from a progress callback to stop a running computation."""


def report(progress, done: int, total: int) -> None:
    """Call ``progress(done, total)`` if a callback was given."""
    if progress is not None:
        progress(done, total)


def scaled(progress, offset: int, total: int, span: int = 1):
    """A callback mapping a sub-task's ``(done, total)`` into ``span`` units at ``offset``.

    Progress is reported in units of 1/1000 so sub-task steps stay visible.
    """
    if progress is None:
        return None

    def inner(done: int, sub_total: int) -> None:
        frac = done / sub_total if sub_total else 1.0
        progress(int(1000 * (offset + span * frac)), 1000 * total)

    return inner
