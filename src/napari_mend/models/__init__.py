"""Network definitions and the model registry (weights live in ``weights/``).

Names load lazily (:mod:`lazy_loader`): importing this package imports none of
its modules until a name is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "registry": ["ModelError", "get_model", "list_models", "model_card"],
    },
)
