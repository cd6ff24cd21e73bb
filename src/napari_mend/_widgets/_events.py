"""Events shared by napari-mend's dock widgets."""

from __future__ import annotations

from psygnal import Signal


class ModelEvents:
    """``changed`` is emitted when a model was trained or imported."""

    changed = Signal()


MODEL_EVENTS = ModelEvents()
"""Shared by the dock widgets that choose models."""


def connect_while_alive(signal, slot, widget) -> None:
    """Connect ``slot`` to ``signal`` until ``widget``'s Qt object is destroyed.

    A closed dock widget's Qt objects are deleted while its Python object may
    live on; a slot still connected to a shared signal would then touch
    deleted widgets.
    """
    signal.connect(slot)
    widget.native.destroyed.connect(lambda *_: signal.disconnect(slot, missing_ok=True))
