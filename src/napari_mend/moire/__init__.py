"""Moire detection (spectral peaks) and removal (adaptive notch, learned network)."""

from .spectrum import MoireReport, find_moire, notch_filter

__all__ = ["MoireReport", "find_moire", "notch_filter"]
