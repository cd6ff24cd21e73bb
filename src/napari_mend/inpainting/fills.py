"""The one registry of fill methods: name -> :class:`Fill` (how it fills a plane, what it needs).

:func:`napari_mend.inpaint`, the ``'auto'`` fill, :func:`napari_mend.restore`,
the evaluation tables, the command line and the widget all look fills up
here. A fill is added with one call::

    from napari_mend.inpainting.fills import Fill, register_fill
    register_fill(Fill("mean", lambda plane, mask: ..., summary="mean of the plane"))

The built-in fills register themselves where they are defined
(:mod:`.classical`, :mod:`.learned`, :mod:`.auto`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

DEFAULT_FILL = "auto"
"""The fill used when none is named."""


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Fill:
    """A fill method on the plane contract.

    Attributes
    ----------
    name : str
        The name users pass as ``method=`` / ``fill=``.
    function : callable
        ``function(plane, mask) -> filled``: ``plane`` float32 ``(M, N, C)``
        in unit scale, ``mask`` bool ``(M, N)``; returns the filled plane
        (pixels outside ``mask`` are taken from ``plane`` whatever it returns
        there). With ``uses_model``, ``function(plane, mask, *, model,
        progress=None, out=None)`` may fill ``out`` in place a crop at a time.
    summary : str
        One line for help texts.
    uses_model : bool
        The fill runs an inpainter model (``model=``), reports progress and
        may fill in place.
    available : callable
        ``available() -> bool``: whether what the fill needs is installed.
    hint : str
        What to do when it is not.
    """

    name: str
    function: Callable
    summary: str = ""
    uses_model: bool = False
    available: Callable[[], bool] = _always
    hint: str = ""

    def plane_fill(self, model: str | None = None):
        """``fill(plane, mask, *, progress=None, out=None)`` with ``model`` bound (model fills).

        Raises
        ------
        ImportError
            What the fill needs is not installed.
        """
        if not self.available():
            raise ImportError(f"method={self.name!r} {self.hint or 'is not available'}")
        if self.uses_model:
            return partial(self.function, model=model)
        return partial(_plain, self.function)


def _plain(function, plane, mask, *, progress=None, out=None):
    return function(plane, mask)


FILLS: dict[str, Fill] = {}
"""Name -> :class:`Fill`, in registration order."""


def register_fill(fill: Fill, *, replace: bool = False) -> Fill:
    """Add ``fill`` to :data:`FILLS` (``replace`` to overwrite a fill of that name)."""
    if not fill.name or not isinstance(fill.name, str):
        raise ValueError(f"a fill needs a non-empty name, got {fill.name!r}")
    if fill.name in FILLS and not replace:
        raise ValueError(f"a fill called {fill.name!r} is registered already; pass "
                         "replace=True to replace it")
    FILLS[fill.name] = fill
    return fill


def fill_names() -> tuple[str, ...]:
    """Registered fill names, the default first."""
    return tuple(sorted(FILLS, key=lambda name: name != DEFAULT_FILL))


def get_fill(name: str) -> Fill:
    """The registered fill called ``name``.

    Raises
    ------
    ValueError
        No fill of that name.
    """
    fill = FILLS.get(name) if isinstance(name, str) else None
    if fill is None:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(fill_names())}")
    return fill
