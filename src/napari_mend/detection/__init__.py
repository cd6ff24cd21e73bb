"""Finding defects: classical and learned detectors, scores and labels."""

from .api import METHODS, detect, detect_scores
from .scores import DefectScores, scores_to_labels

__all__ = ["METHODS", "DefectScores", "detect", "detect_scores", "scores_to_labels"]
