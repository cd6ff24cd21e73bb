"""Finding defects: classical and learned detectors, scores and labels."""

from .api import METHODS, detect, detect_scores
from .scores import DefectScores, scores_to_labels
from .text_completion import complete_text

__all__ = ["METHODS", "DefectScores", "complete_text", "detect", "detect_scores",
           "scores_to_labels"]
