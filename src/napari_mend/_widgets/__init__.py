"""GUI only: dock widgets that collect inputs, call the compute API and add layers."""

from .mend_widget import MendWidget

__all__ = ["MendWidget"]
