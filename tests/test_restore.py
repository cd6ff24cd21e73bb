"""restore: each class goes to its remover; the regions report; the deidentify command."""

import importlib
import json

import numpy as np
import pytest
from helpers import psnr

import napari_mend as nm
from napari_mend.classes import CLASS_IDS, DEFECT_CLASSES
from napari_mend.detection.scores import (
    DefectScores,
)
from napari_mend.regions import regions_report, report_path, write_regions_report

# the package's ``restore`` attribute is the function; this is its module
restore_module = importlib.import_module("napari_mend.restore")

SIZE = 64
ALL = list(DEFECT_CLASSES.values())


def scene():
    """A textured RGB image with a text block, a semi-transparent mark and moire fringes."""
    from napari_mend.synthesis import load_corpus_image

    clean = load_corpus_image("chelsea")[100:100 + SIZE, 150:150 + 2 * SIZE].astype(np.float32)
    labels = np.zeros(clean.shape[:2], np.uint8)
    damaged = clean.copy()
    labels[4:12, 6:40] = CLASS_IDS["text"]
    damaged[4:12, 6:40] = [1.0, 1.0, 0.0]
    mark = np.zeros(clean.shape[:2], bool)
    mark[30:56, 10:22] = True
    mark[38:46, 10:50] = True
    labels[mark] = CLASS_IDS["watermark"]
    damaged[mark] = 0.4 * 1.0 + 0.6 * clean[mark]
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    fringe = 1 + 0.25 * np.cos(2 * np.pi * (0.3 * xx + 0.1 * yy))
    damaged[:, SIZE:] = np.clip(damaged[:, SIZE:] * fringe[..., None], 0, 1)
    labels[:, SIZE:][labels[:, SIZE:] == 0] = CLASS_IDS["moire"]
    return clean, damaged, labels


def fake_detector(labels, score=0.99):
    """A detect_scores stand-in that 'finds' exactly ``labels``."""
    def detect_scores(image, **kwargs):
        scores = np.zeros((6,) + labels.shape, np.float32)
        for value in range(1, 7):
            scores[value - 1][labels == value] = score
        return DefectScores(scores=scores, method="learned")
    return detect_scores


def test_each_class_goes_to_its_remover(monkeypatch):
    clean, damaged, labels = scene()
    monkeypatch.setattr(restore_module, "detect_scores", fake_detector(labels))
    mended, found, report = nm.restore(damaged, channel_axis=-1, fill="telea", classes=ALL,
                                       complete_text=False, return_report=True)
    assert np.array_equal(found, labels)
    assert mended.shape == damaged.shape and mended.dtype == damaged.dtype
    text = labels == CLASS_IDS["text"]
    mark = labels == CLASS_IDS["watermark"]
    moire = labels == CLASS_IDS["moire"]
    # text is filled (no yellow left), the watermark inverted (better than filling it),
    # the moire filtered
    assert np.abs(mended[text] - [1.0, 1.0, 0.0]).sum(-1).min() > 0.1
    filled = nm.inpaint(damaged, mark, channel_axis=-1, method="telea")
    assert psnr(mended[mark], clean[mark]) > psnr(filled[mark], clean[mark])
    assert psnr(mended[moire], clean[moire]) > psnr(damaged[moire], clean[moire]) + 3
    assert np.array_equal(mended[labels == 0], damaged[labels == 0])
    assert report["counts"] == {"scratch": 0, "dust": 0, "blotch": 0, "text": 1,
                                "watermark": 1, "moire": 1}


def test_classes_limit_what_is_mended(monkeypatch):
    _, damaged, labels = scene()
    monkeypatch.setattr(restore_module, "detect_scores", fake_detector(labels))
    mended, found, report = nm.restore(damaged, channel_axis=-1, fill="telea", classes=["text"],
                                       return_report=True)
    assert set(np.unique(found)) == {0, CLASS_IDS["text"]}
    assert np.array_equal(mended[found == 0], damaged[found == 0])
    assert [r["class"] for r in report["regions"]] == ["text"]


def test_unattended_restore_uses_the_detector_cards_classes_and_thresholds(monkeypatch):
    from napari_mend.detection.api import restore_defaults
    from napari_mend.models import registry
    from napari_mend.restore import restore_provenance

    card = registry.model_card("detector")
    listed = card["inference"]["restore_classes"]
    thresholds = card["inference"]["restore_thresholds"]
    # chosen by `napari-mend evaluate detector --unattended` (see docs/models/detector.md):
    # only classes precise on the independent generator are mended unattended
    unattended = card["unattended"]["classes"]
    assert listed == [c for c, v in unattended.items() if v["independent_precision"] >= 0.8
                      and v["own_precision"] >= 0.95]
    assert "watermark" not in listed and set(thresholds) == set(DEFECT_CLASSES.values())
    assert restore_defaults("learned") == (listed, {c: thresholds[c] for c in listed})
    assert restore_defaults("learned", classes=["dust"], threshold=0.2) == (["dust"], 0.2)
    assert restore_defaults("learned", classes=["dust"]) == (["dust"],
                                                             {"dust": thresholds["dust"]})
    assert restore_defaults("classical") == (None, 0.5)  # the classical detector: all it finds
    _, damaged, labels = scene()
    scores = fake_detector(labels)(damaged)
    text_limit = thresholds["text"]
    scores.scores[scores.scores > 0] = (0.5 + text_limit) / 2  # found at 0.5, not at the card's
    monkeypatch.setattr(restore_module, "detect_scores", lambda *a, **k: scores)
    _, found = nm.restore(damaged, channel_axis=-1, fill="telea", complete_text=False)
    assert not found.any()
    _, found = nm.restore(damaged, channel_axis=-1, fill="telea", complete_text=False,
                          threshold=0.5)
    assert set(np.unique(found)) == {0} | {CLASS_IDS[c] for c in listed}
    monkeypatch.setattr(restore_module, "detect_scores", fake_detector(labels))
    mended, found = nm.restore(damaged, channel_axis=-1, fill="telea", complete_text=False)
    mark = labels == CLASS_IDS["watermark"]
    assert np.array_equal(mended[mark], damaged[mark])  # not looked for unattended
    record = restore_provenance(damaged, found, detector="learned", fill="telea", threshold=None,
                                classes=None, source=None)
    assert record["parameters"]["classes"] == listed  # what was used, not "None"
    assert record["parameters"]["threshold"] == {c: thresholds[c] for c in listed}
    monkeypatch.setattr(importlib.import_module("napari_mend.detection.api"), "model_card",
                        lambda name: {**card, "inference": {"restore_classes": ["moire"]}})
    _, found = nm.restore(damaged, channel_axis=-1, fill="telea", complete_text=False)
    assert set(np.unique(found)) == {0, CLASS_IDS["moire"]}
    assert restore_defaults("learned")[1] == 0.5  # a card without thresholds: 0.5


def test_regions_report_lists_every_region_with_its_score():
    labels = np.zeros((2, 20, 30), np.uint8)
    labels[0, 2:5, 3:9] = CLASS_IDS["text"]
    labels[0, 10:12, 20:29] = CLASS_IDS["text"]
    labels[1, 0:4, 0:4] = CLASS_IDS["dust"]
    scores = np.zeros((2, 6, 20, 30), np.float32)
    scores[0, CLASS_IDS["text"] - 1, 2:5, 3:9] = 0.8
    scores[0, CLASS_IDS["text"] - 1, 2, 3] = 1.0
    report = regions_report(labels, scores)
    assert report["counts"]["text"] == 2 and report["counts"]["dust"] == 1
    first = report["regions"][0]
    assert first == {"plane": [0], "class": "text", "label": CLASS_IDS["text"],
                     "bbox": [2, 3, 5, 9], "pixels": 18,
                     "score": pytest.approx(0.8111, abs=1e-4), "max_score": 1.0}
    assert report["regions"][-1]["plane"] == [1]
    only_text = regions_report(labels, classes=["text"])
    assert set(only_text["counts"]) == {"text"} and "score" not in only_text["regions"][0]


def test_report_file_is_json_and_never_overwritten_silently(tmp_path):
    report = regions_report(np.eye(5, dtype=np.uint8) * CLASS_IDS["text"])
    path = report_path(tmp_path / "out.tif")
    assert path.name == "out.tif.regions.json"
    write_regions_report(path, report, provenance={"operation": "restore"})
    body = json.loads(path.read_text())
    assert body["regions"][0]["bbox"] == [0, 0, 5, 5] and body["provenance"]
    with pytest.raises(FileExistsError):
        write_regions_report(path, report)


def test_deidentify_writes_image_and_report(tmp_path, monkeypatch):
    from skimage.io import imsave

    from napari_mend.cli.main import main
    from napari_mend.io.tiff import read_image_tiff

    _, damaged, labels = scene()
    monkeypatch.setattr(restore_module, "detect_scores", fake_detector(labels))
    src = tmp_path / "slide.png"
    imsave(src, np.round(damaged * 255).astype(np.uint8), check_contrast=False)
    out = tmp_path / "slide_clean.tif"
    assert main(["deidentify", str(src), "-o", str(out), "--fill", "telea"]) == 0
    data, prov = read_image_tiff(out)
    assert data.dtype == np.uint8 and prov["operation"] == "restore"
    body = json.loads(report_path(out).read_text())
    assert body["counts"] == {"text": 1}
    # the detected box [4, 6, 12, 40], grown over its edges by the text completion
    top, left, bottom, right = body["regions"][0]["bbox"]
    assert 1 <= top <= 4 and 3 <= left <= 6 and 12 <= bottom <= 15 and 40 <= right <= 43
    assert body["provenance"]["parameters"]["complete_text"] is True
    assert body["provenance"]["parameters"]["report"] == report_path(out).name
    assert [m["name"] for m in body["provenance"]["model"]] == ["detector"]  # telea: no model
    assert main(["deidentify", str(src), "-o", str(tmp_path / "auto.tif")]) == 0
    _, prov = read_image_tiff(tmp_path / "auto.tif")  # the default fill's model is recorded too
    assert [m["name"] for m in prov["model"]] == ["detector", "inpainter"]
    assert prov["model"][1]["inference"]["boundary"] == "harmonic"
    # the watermark and moire were not asked for: left as they were
    keep = np.isin(labels, [CLASS_IDS["watermark"], CLASS_IDS["moire"]])
    assert np.array_equal(data[keep], np.round(damaged * 255).astype(np.uint8)[keep])
    assert main(["deidentify", str(src), "-o", str(out)]) == 2  # no overwrite


def test_lazy_restore_mends_each_class_as_in_memory(monkeypatch):
    """Blocks of a dask image go through the same removers as the in-memory restore."""
    da = pytest.importorskip("dask.array")
    from napari_mend.detection import complete_text
    from napari_mend.restore import mend_labels
    clean, damaged, labels = scene()
    image = np.round(damaged * 255).astype(np.uint8)
    monkeypatch.setattr(restore_module, "lazy_labels",
                        lambda *a, **k: da.from_array(labels, chunks=32))
    mended, found = restore_module.restore(da.from_array(image, chunks=(32, 32, 3)), channel_axis=-1,
                                 fill="telea", chunk=SIZE * 2, classes=ALL)
    mended, found = mended.compute(), found.compute()
    # the detected text completed as in memory, then each class mended as in memory
    completed = complete_text(image, labels, channel_axis=-1)
    assert np.array_equal(found, completed) and not np.array_equal(completed, labels)
    expected = mend_labels(image, completed, channel_axis=-1, fill="telea")
    assert mended.dtype == np.uint8
    # one block: the in-memory result (the moire filter ran on floats, not on uint8: +-1)
    assert np.abs(mended.astype(int) - expected).max() <= 1
    mark = labels == CLASS_IDS["watermark"]
    filled = nm.inpaint(image, mark, channel_axis=-1, method="telea")
    assert psnr(mended[mark] / 255, clean[mark]) > psnr(filled[mark] / 255, clean[mark])
    assert np.array_equal(mended[found == 0], image[found == 0])


def test_mend_labels_stays_lazy_for_dask_images_and_wants_integer_labels():
    da = pytest.importorskip("dask.array")
    from napari_mend.restore import mend_labels

    _, damaged, labels = scene()
    image = da.from_array(np.round(damaged * 255).astype(np.uint8), chunks=(32, 32, 3))
    mended = mend_labels(image, labels, channel_axis=-1, fill="telea", classes=["text"])
    assert isinstance(mended, da.Array)
    out = mended.compute()
    text = labels == CLASS_IDS["text"]
    assert np.array_equal(out[~text], image.compute()[~text])  # only the text is mended
    assert not np.array_equal(out[text], image.compute()[text])
    with pytest.raises(TypeError, match="integer Labels"):
        mend_labels(image, labels.astype(np.float32), channel_axis=-1)


def test_deidentify_large_tiffs_block_by_block(tmp_path, monkeypatch, capsys):
    """Above the block-by-block size, deidentify goes through zarr blocks and reports the same
    regions as in memory (without detector scores)."""
    pytest.importorskip("zarr")
    import tifffile

    from napari_mend.batch import one_file as image_files
    from napari_mend.cli.main import main
    from napari_mend.io.tiff import read_image_tiff
    from napari_mend.synthesis import add_text, load_corpus_image

    clean = load_corpus_image("chelsea")[:192, :256]
    marked, truth = add_text(clean, np.random.default_rng(3))
    src = tmp_path / "in" / "slide.tif"
    src.parent.mkdir()
    tifffile.imwrite(src, np.round(marked * 255).astype(np.uint8))
    runs = {}
    for mode, above in (("memory", 10**9), ("blocks", 100 * 100)):
        monkeypatch.setattr(image_files, "IN_BLOCKS_ABOVE", above)
        out = tmp_path / f"{mode}.tif"
        assert main(["deidentify", str(src), "-o", str(out), "--fill", "telea"]) == 0
        assert ("(block by block)" in capsys.readouterr().out) == (mode == "blocks")
        runs[mode] = read_image_tiff(out), json.loads(report_path(out).read_text())
    (mended, prov), body = runs["blocks"]
    (mended_memory, _), body_memory = runs["memory"]
    assert body["counts"]["text"] >= 1 and body["counts"] == body_memory["counts"]
    assert [(r["bbox"], r["pixels"]) for r in body["regions"]] == \
        [(r["bbox"], r["pixels"]) for r in body_memory["regions"]]
    assert "score" not in body["regions"][0] and "score" in body_memory["regions"][0]
    assert prov["parameters"]["report"] == "blocks.tif.regions.json"
    assert [m["name"] for m in prov["model"]] == ["detector"]  # telea: no fill model
    found = np.zeros(truth.shape, bool)
    for r in body["regions"]:
        top, left, bottom, right = r["bbox"]
        found[top:bottom, left:right] = True
    assert found[truth].mean() > 0.5  # most annotation pixels lie in reported regions
    assert np.abs(mended.astype(int) - mended_memory).max() <= 1
    # no work folder is left
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "blocks.tif", "blocks.tif.regions.json", "in", "memory.tif", "memory.tif.regions.json"]
