"""Own beside independent: the bridge to the independent generator and each evaluation's column."""

import numpy as np
import pytest

from napari_mend.classes import DEFECT_CLASSES
from napari_mend.evaluation import cross, fill_cases, moire, unattended_restore, watermark
from napari_mend.evaluation import detector as det_eval
from napari_mend.evaluation import inpainter as inp_eval
from napari_mend.evaluation import watermark_experiments as wm_experiments
from napari_mend.evaluation.independent import dataset
from napari_mend.synthesis import load_corpus_image

SIZE = 48


def test_samples_are_the_generators_converted():
    raw = list(dataset(cross.INDEPENDENT_SEED, 1, size=SIZE))
    planes = list(cross.independent_samples(1, size=SIZE))
    as_uint8 = list(cross.independent_samples(1, size=SIZE, dtype=np.uint8, layout="rgb"))
    assert [c.cls for c in planes] == sorted(DEFECT_CLASSES)
    for r, p, u in zip(raw, planes, as_uint8):
        assert p.damaged.dtype == np.float32 and p.damaged.ndim == 3
        assert p.damaged.shape[-1] == (1 if r.damaged.ndim == 2 else 3)
        np.testing.assert_array_equal(p.damaged.reshape(r.damaged.shape), r.damaged)
        np.testing.assert_array_equal(p.labels, r.labels)
        assert p.name == DEFECT_CLASSES[r.cls] and p.mask.any()
        assert u.damaged.dtype == np.uint8 and u.damaged.shape == (SIZE, SIZE, 3)
        assert np.abs(u.damaged / 255.0 - p.damaged).max() <= 0.5 / 255 + 1e-6
    only = list(cross.independent_samples(1, size=SIZE, classes=["dust", 5]))
    assert [c.cls for c in only] == [2, 5]
    clean = cross.independent_clean(2, size=SIZE)
    assert len(clean) == 2 and all(im.shape[:2] == (SIZE, SIZE) for im in clean)


def test_confusion_and_region_psnr():
    labels = np.zeros((4, 4), np.uint8)
    labels[0, :2] = 1
    labels[3, 3] = 6
    truth = cross.truth_masks(labels)
    assert truth.shape == (len(DEFECT_CLASSES), 4, 4)
    detected = truth.copy()
    detected[0, 1, 1] = True  # one false scratch pixel
    detected[5, 3, 3] = False  # the moire pixel missed
    counts = cross.confusion(detected, truth)
    assert counts[0].tolist() == [2, 1, 0] and counts[5].tolist() == [0, 0, 1]
    a = np.zeros((4, 4, 1))
    b = a.copy()
    b[0, 0] = 0.1
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    assert cross.region_psnr(a, b, mask) == pytest.approx(10 * np.log10(2 / 0.01))
    assert cross.region_psnr(a, a, mask) == 100.0
    assert cross.grow(mask, 1).sum() == 2 + 2 + 1  # the pair, the row below, one at the side


def _perfect_scorer():
    """Scores that are the independent samples' true labels (zero on clean images)."""
    truth = {c.damaged.tobytes(): cross.truth_masks(c.labels).astype(np.float32)
             for c in cross.independent_samples(1, size=SIZE)}

    def score(plane):
        plane = np.ascontiguousarray(plane, np.float32)
        return truth.get(plane.tobytes(), np.zeros((len(DEFECT_CLASSES), *plane.shape[:2]),
                                                    np.float32))

    return score


def test_perfect_detector_gets_f1_one_on_the_independent_column():
    results = det_eval.evaluate_independent({"perfect": _perfect_scorer()}, n_per_class=1,
                                            n_clean=1, size=SIZE)
    method = results["methods"]["perfect"]
    for name, entry in method["per_class"].items():
        assert entry["positive_pixels"] > 0, name
        assert entry["f1"] == entry["precision"] == entry["recall"] == 1.0, name
    assert method["clean_false_alarm"] == 0.0
    # a scorer that misses everything: recall and F1 are 0 on every class
    blind = det_eval.evaluate_independent(
        {"blind": lambda p: np.zeros((len(DEFECT_CLASSES), *p.shape[:2]), np.float32)},
        n_per_class=1, n_clean=1, size=SIZE)
    assert all(e["f1"] == 0.0 for e in blind["methods"]["blind"]["per_class"].values())


def test_detector_table_shows_own_beside_independent():
    gray = (load_corpus_image("camera")[:64, :80] / 255.0).astype(np.float32)
    results = det_eval.evaluate(methods=("classical",), images=[("gray", gray)], repeats=1,
                                seed=3, independent_per_class=1, independent_size=SIZE)
    ind = results["independent"]
    assert ind["per_class"] == 1 and ind["clean_images"] == 1
    entry = ind["methods"]["classical"]
    for c in entry["per_class"].values():
        assert all(0 <= c[k] <= 1 for k in ("precision", "recall", "f1", "iou"))
    assert 0 <= entry["clean_false_alarm"] <= 1
    table = det_eval.comparison_table(results)
    assert "classical own P / R / F1" in table and "classical independent P / R / F1" in table
    assert "| clean pixels flagged (%) |" in table and "| moire |" in table
    assert "nan" not in table


def test_independent_restore_row():
    pytest.importorskip("torch")
    results = unattended_restore.independent_restore(
        classes=["scratch", "dust"], threshold=0.5, n_per_class=1, n_clean=1, size=SIZE)
    psnr = results["psnr"]
    for kind in ("damaged", "clean"):
        for key in ("input", "restored"):
            assert 0 < psnr[key][kind] <= 100
    assert psnr["input"]["clean"] == 100.0  # an undamaged image is its own truth
    assert set(results["per_class"]) == set(DEFECT_CLASSES.values())
    own = {"psnr": {"input": {"damaged": 20.0, "clean": 100.0},
                    "restored": {"damaged": 21.0, "clean": 99.0}}, "repeats": 1}
    table = unattended_restore.restore_table(own, results)
    assert "| damaged images, restored | 21.00 |" in table and "| own | independent |" in table


def test_inpainter_independent_column():
    methods = ("telea", "biharmonic")
    own = inp_eval.evaluate(methods=methods, crop=64, per_family=1)
    independent = inp_eval.evaluate_independent(methods=methods, per_class=1, size=SIZE)
    assert list(independent) == list(fill_cases.INDEPENDENT_CLASSES)  # moire is a region
    for per_method in independent.values():
        for entry in per_method.values():
            assert np.isfinite(entry["psnr_mask"]) and 0 < entry["psnr_mask"] < 120
            assert 0 < entry["coverage"] < 1
    table = fill_cases.comparison_table(own, independent, methods)
    assert "| own PSNR hole | independent PSNR hole |" in table
    assert "| watermark | logo | telea |" in table and "nan" not in table


def test_inpainter_holes_are_the_true_labels():
    cases = fill_cases.independent_cases(per_class=1, size=SIZE)
    samples = list(cross.independent_samples(1, size=SIZE, classes=fill_cases.INDEPENDENT_CLASSES))
    for case, sample in zip(cases, samples):
        np.testing.assert_array_equal(case["mask"], sample.labels > 0)
        assert case["family"] == sample.name


def test_moire_independent_column():
    independent = moire.evaluate_independent(samples=1, clean_images=1, size=64,
                                             include_learned=False)
    assert len(independent["rows"]) == 1 and len(independent["clean"]) == 1
    s = independent["summary"]
    assert s["input"]["gain"] == 0.0
    assert all(np.isfinite(v["gain"]) and abs(v["gain"]) < 60 for v in s.values())
    assert all(v > 20 for v in independent["clean_worst_psnr"].values())  # clean: little loss
    table = moire.comparison(independent, independent)
    assert "| own gain | independent gain |" in table and "| demoire notch |" in table


def test_watermark_independent_column():
    pytest.importorskip("torch")
    crop = (load_corpus_image("astronaut")[:64, :80] / 255.0).astype(np.float32)
    results = wm_experiments.region_gains(repeats=1, independent=1, size=64, images=[("a", crop)])
    own, ind = results["own"]["summary"], results["independent"]["summary"]
    assert own["cases"] == 1 and ind["cases"] == 1
    for s in (own, ind):
        assert 0 < s["input"] <= 100 and 0 < s["region_fraction"] < 1
        assert np.isfinite(s["unattended"]) and np.isfinite(s["hinted"])
        assert all(np.isfinite(s[k]) and abs(s[k]) < 60 for k in ("unattended", "hinted", "exact"))
        assert np.isfinite(s["unattended_whole"]) and np.isfinite(s["hinted_whole"])
        assert s["unattended_whole_worst"] <= s["unattended_whole"] + 0.01  # both rounded
    table = watermark.region_table(results)
    assert "| own | independent |" in table and "grown by 6 px" in table
    assert "whole image: gain, unattended" in table


def test_watermark_independent_whole_image_and_collection_columns():
    pytest.importorskip("torch")
    single = wm_experiments.independent_single_image(independent=1, size=64)
    assert len(single["rows"]) == 1 and single["size"] == 64
    s = single["summary"]
    assert s["remove_watermark"]["psnr"] > s["input"]["psnr"] - 1  # the true mask: little harm
    coll = wm_experiments.independent_collection(trials=1, crop=64, sizes=(1, 4))
    c = coll["curve"]
    assert set(c) == {"input", "mask_given", "mark_found"} and c["mark_found"][1] is None
    assert c["mask_given"][4] > c["input"][4]  # four images of one mark: it comes off
    results = {"max_opacity": 0.5, "single": single, "single_independent": single,
               "collections": [{**coll, "shift": 0}], "collection_independent": coll}
    table = watermark.markdown(results)
    assert "| method | own mean PSNR |" in table and "independent mean SSIM |" in table
    assert "| mask given, independent |" in table and "| mark found |" in table
