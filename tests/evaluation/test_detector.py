"""Detector evaluation: per-class metrics and clean false alarms; the unattended-restore ablation."""

import numpy as np
import pytest

from napari_mend.classes import DEFECT_CLASSES
from napari_mend.evaluation import detector as evaluation


def _images():
    from napari_mend.synthesis import load_corpus_image

    gray = load_corpus_image("camera")[:96, :128] / 255.0
    colour = load_corpus_image("astronaut")[:96, :128] / 255.0
    return [("gray", gray.astype(np.float32)), ("colour", colour.astype(np.float32))]


def test_evaluate_counts_clean_false_alarms_per_class():
    results = evaluation.evaluate(methods=("classical",), images=_images(), repeats=1, seed=3)
    method = results["methods"]["classical"]
    per_class = method["per_class"]
    assert list(per_class) == list(DEFECT_CLASSES.values())
    for c in per_class.values():
        assert 0 <= c["precision"] <= 1 and 0 <= c["recall"] <= 1
        assert 0 <= c["clean_false_alarm"] <= method["clean_false_alarm"]  # any class >= each
    any_class = method["clean_false_alarm"]
    assert any_class <= sum(c["clean_false_alarm"] for c in per_class.values()) + 1e-6
    table = evaluation.markdown_table(results)
    assert "classical clean %" in table and "| scratch |" in table


def test_restore_ablation_leaves_out_the_classes_that_hurt():
    pytest.importorskip("torch")
    results = evaluation.restore_ablation(images=_images()[:1], repeats=1, seed=5)
    psnr = results["psnr"]
    assert set(psnr) == {"input", "all", *(f"-{c}" for c in DEFECT_CLASSES.values())}
    assert psnr["input"]["clean"] == 100.0  # an undamaged image is its own truth
    assert psnr["all"]["damaged"] > psnr["input"]["damaged"]  # mending helps
    assert results["restore_classes"] == [
        c for c in DEFECT_CLASSES.values() if psnr[f"-{c}"]["damaged"] < psnr["all"]["damaged"]]
    assert "all but watermark" in evaluation.ablation_table(results)
