"""Moire detection (spectral peaks) and removal (adaptive notch, learned network).

Names load lazily (:mod:`lazy_loader`): importing this package imports none of
its modules until a name is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "api": ["DEMOIRE_METHODS", "auto_demoire_method", "demoire"],
        "spectrum": ["MoireReport", "find_moire", "notch_filter"],
    },
)
