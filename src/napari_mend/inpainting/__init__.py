"""Filling masked pixels: classical fills, the learned fill and ``auto``."""

from .api import METHODS, inpaint

__all__ = ["METHODS", "inpaint"]
