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


def test_evaluate_takes_named_scorers():
    """``scorers=`` replaces the methods: a scorer that flags nothing finds nothing and flags no
    clean pixel; one that flags everything recalls every defect of every class."""
    from napari_mend.classes import N_SCORED

    scorers = {"nothing": lambda plane: np.zeros((N_SCORED,) + plane.shape[:2], np.float32),
               "all": lambda plane: np.ones((N_SCORED,) + plane.shape[:2], np.float32)}
    results = evaluation.evaluate(scorers=scorers, images=_images(), repeats=1, seed=3)
    assert list(results["methods"]) == ["nothing", "all"]
    nothing, everything = results["methods"]["nothing"], results["methods"]["all"]
    assert nothing["clean_false_alarm"] == 0 and everything["clean_false_alarm"] == 1
    for name in DEFECT_CLASSES.values():
        assert nothing["per_class"][name]["recall"] == 0
        if everything["per_class"][name]["positive_pixels"]:
            assert everything["per_class"][name]["recall"] == 1


def test_enlarged_images_keep_names_range_and_channels():
    images = _images()
    bigger = evaluation.enlarged(images, 2)
    assert [n for n, _ in bigger] == [n for n, _ in images]
    for (_, small), (_, big) in zip(images, bigger):
        assert big.shape == (192, 256) + small.shape[2:] and big.dtype == np.float32
        assert 0 <= big.min() and big.max() <= 1
        assert abs(float(big.mean()) - float(small.mean())) < 0.01  # the same scene
    with pytest.raises(ValueError, match="positive"):
        evaluation.enlarged(images, 0)


def test_own_scale_is_refused_where_it_does_not_apply(capsys):
    for argv in (["--own-scale", "2", "--unattended"], ["--own-scale", "-1"]):
        with pytest.raises(SystemExit):
            evaluation.main(argv)
        assert "--own-scale" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluation.main(["--own-degraded", "--restore-classes"])
    assert "--own-degraded" in capsys.readouterr().err


def test_degraded_own_cases_change_the_pixels_not_the_labels_nor_the_inputs():
    """``degraded``: every case, clean or damaged, goes through ``synthesis.degrade`` with its
    own seeded draw; the truth masks are those of the sharp cases and the images are not
    modified in place."""
    from napari_mend.evaluation.detection_cases import own_cases

    images = _images()
    before = [image.copy() for _, image in images]
    sharp = list(own_cases(images, repeats=2, seed=3))
    degraded = list(own_cases(images, repeats=2, seed=3, degraded=True))
    assert [(n, t is None) for n, _, t in sharp] == [(n, t is None) for n, _, t in degraded]
    changed = 0
    for (_, a, ta), (_, b, tb) in zip(sharp, degraded):
        assert a.shape == b.shape and b.dtype == np.float32 and 0 <= b.min() <= b.max() <= 1
        assert (ta is None and tb is None) or np.array_equal(ta, tb)
        changed += not np.array_equal(a, b)
    assert changed >= len(sharp) // 2  # a draw applies no step at all with probability 0.14
    again = list(own_cases(images, repeats=2, seed=3, degraded=True))
    assert all(np.array_equal(b, c) for (_, b, _), (_, c, _) in zip(degraded, again))
    for (_, image), original in zip(images, before):
        np.testing.assert_array_equal(image, original)


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
