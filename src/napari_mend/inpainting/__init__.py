"""Filling masked pixels: classical fills, the learned fill and ``auto``, in one registry.

Names load lazily (:mod:`lazy_loader`): importing this package imports none of
its modules until a name is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "api": ["inpaint"],
        "fills": ["FILLS", "Fill", "fill_names", "get_fill", "register_fill"],
    },
)
