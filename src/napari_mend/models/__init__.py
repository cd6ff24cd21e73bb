"""Network definitions and the model registry (weights live in ``weights/``)."""

from .registry import ModelError, get_model, list_models, model_card

__all__ = ["ModelError", "get_model", "list_models", "model_card"]
