"""Detector training: a tiny run learns, exports a loadable model with a card, and resumes."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_mend.classes import DEFECT_CLASSES  # noqa: E402
from napari_mend.detection.learned import learned_scores  # noqa: E402
from napari_mend.models.registry import sha256_of  # noqa: E402
from napari_mend.synthesis import VAL_IMAGES  # noqa: E402
from napari_mend.training import CONFIG_DIR  # noqa: E402
from napari_mend.training.command import main  # noqa: E402
from napari_mend.training.common import load_config, read_log  # noqa: E402
from napari_mend.training.detector import (  # noqa: E402
    THRESHOLD_GRID,
    DetectorSamples,
    choose_thresholds,
    counts_at_thresholds,
    detector_loss,
    full_config,
    train,
)


@pytest.mark.slow
def test_tiny_training_learns_exports_and_resumes(tmp_path):
    torch.set_num_threads(2)
    config = load_config(CONFIG_DIR / "detector_tiny.json")
    card = train(config, tmp_path, log=lambda line: None)

    losses = [r["loss"] for r in read_log(tmp_path / "log.jsonl") if r["event"] == "train"]
    assert len(losses) >= 4
    assert np.mean(losses[-2:]) < 0.95 * losses[0]

    weights = tmp_path / f"{config['name']}.pt"
    on_disk = json.loads((tmp_path / f"{config['name']}.json").read_text())
    assert on_disk["sha256"] == sha256_of(weights) == card["sha256"]
    for key in ("architecture", "config", "params", "thresholds", "training", "data", "seed",
                "validation"):
        assert key in on_disk
    assert on_disk["training"]["steps"] == config["max_steps"]
    assert set(on_disk["thresholds"]) == set(DEFECT_CLASSES.values())
    assert not set(on_disk["data"]["train_images"]) & set(VAL_IMAGES)

    scores = learned_scores(np.random.default_rng(0).random((40, 70, 3), dtype=np.float32),
                            model=str(weights))
    assert scores.shape == (6, 40, 70)

    # resume through the command line: continues the step count and the sample stream
    more = tmp_path / "more.json"
    more.write_text(json.dumps({**config, "max_steps": config["max_steps"] + 6}))
    assert main(["detector", "--config", str(more), "--out", str(tmp_path), "--resume"]) == 0
    resumed = json.loads((tmp_path / f"{config['name']}.json").read_text())
    runs = resumed["training"]["runs"]
    assert [(r["from_step"], r["to_step"]) for r in runs] == [
        (0, config["max_steps"]), (config["max_steps"], config["max_steps"] + 6)]
    assert runs[1]["to_samples"] == runs[0]["to_samples"] + 6 * config["batch_size"]


def test_samples_are_reproducible_and_clean_samples_have_no_targets():
    config = full_config({"crop": 48})
    images = [np.random.default_rng(0).random((60, 80, 3), dtype=np.float32)]
    a = DetectorSamples(images, config, seed=5)
    x1, y1 = a[7]
    x2, y2 = DetectorSamples(images, config, seed=5)[7]
    assert x1.shape == (3, 48, 48) and y1.shape == (6, 48, 48)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, a[8][0])
    clean = DetectorSamples(images, config, seed=5, clean=True)
    assert not any(clean[i][1].any() for i in range(4))


def test_procedural_kinds_reach_the_samples_and_are_checked():
    basic = full_config({"crop": 48, "p_procedural": 1.0, "p_clean": 1.0})
    content = full_config({**basic, "procedural_kinds": ["stars"]})
    assert basic["procedural_kinds"] == ["gradient", "fractal", "blobs", "shapes", "page"]
    x_basic, _ = DetectorSamples([], basic, seed=3)[0]
    x_stars, y_stars = DetectorSamples([], content, seed=3)[0]
    assert not np.array_equal(x_basic, x_stars) and not y_stars.any()
    with pytest.raises(ValueError, match="procedural_kinds"):
        full_config({"procedural_kinds": ["stars", "clouds"]})
    with pytest.raises(ValueError, match="procedural_kinds"):
        full_config({"procedural_kinds": []})


def test_degraded_samples_keep_their_labels_and_the_stream_without_them():
    """``p_degrade``: a degraded sample has the labels of the same sample undegraded and other
    pixels; at 0 (the default) the sample stream is the one configs without the key drew."""
    images = [np.random.default_rng(0).random((60, 80, 3), dtype=np.float32)]
    sharp = DetectorSamples(images, full_config({"crop": 48}), seed=5)
    off = DetectorSamples(images, full_config({"crop": 48, "p_degrade": 0.0}), seed=5)
    always = DetectorSamples(images, full_config({"crop": 48, "p_degrade": 1.0}), seed=5)
    differ = 0
    for i in range(6):
        (xs, ys), (xo, yo), (xd, yd) = sharp[i], off[i], always[i]
        assert np.array_equal(xs, xo) and np.array_equal(ys, yo)
        assert np.array_equal(ys, yd) and xd.shape == xs.shape and np.isfinite(xd).all()
        differ += not np.array_equal(xs, xd)
    assert differ >= 3  # a draw of degrade applies no step at all with probability 0.14


def test_a_fine_tune_exports_its_starting_models_precision(tmp_path):
    """The card of a run from ``init_model`` keeps the inference precision its starting model
    was measured with, unless the run's config names one."""
    torch.set_num_threads(2)
    config = {**load_config(CONFIG_DIR / "detector_tiny.json"), "max_steps": 1}
    train(config, tmp_path / "first", log=lambda line: None)
    first = tmp_path / "first" / f"{config['name']}.json"
    card = json.loads(first.read_text())
    assert "precision" not in card["inference"]
    card["inference"]["precision"] = "float32"
    first.write_text(json.dumps(card))
    tuned = train({**config, "init_model": str(first)}, tmp_path / "tuned", log=lambda line: None)
    assert tuned["inference"]["precision"] == "float32"
    named = {**config, "init_model": str(first),
             "inference": {**full_config(config)["inference"], "precision": "auto"}}
    assert train(named, tmp_path / "named", log=lambda line: None)["inference"]["precision"] == "auto"


def test_loss_prefers_the_right_answer():
    target = torch.zeros(2, 6, 16, 16)
    target[:, 0, 8, :] = 1
    good = (target * 2 - 1) * 6
    assert detector_loss(good, target) + 1.0 < detector_loss(-good, target)
    assert detector_loss(good, target) < detector_loss(good / 3, target)


def test_hard_negative_term_weighs_a_few_confident_false_alarms():
    target = torch.zeros(2, 6, 32, 32)
    target[:, 0, 8, :] = 1
    logits = (target * 2 - 1) * 6
    spotted = logits.clone()
    spotted[0, 4, 20:22, 20:22] = 6.0  # 4 confident false alarms among 12,000 negatives
    plain = detector_loss(spotted, target) - detector_loss(logits, target)
    mined = (detector_loss(spotted, target, hard_negative_weight=1.0, hard_negative_share=0.001)
             - detector_loss(logits, target, hard_negative_weight=1.0, hard_negative_share=0.001))
    assert mined > 20 * plain > 0
    # the term is zero-weighted by default and leaves the loss unchanged
    assert detector_loss(spotted, target, hard_negative_share=0.5) == detector_loss(spotted, target)


def test_counts_match_brute_force_and_thresholds_maximise_f1():
    rng = np.random.default_rng(0)
    truth = rng.random((3, 6, 10, 10)) < 0.2
    prob = np.clip(truth * 0.5 + rng.random(truth.shape) * 0.6, 0, 1)
    counts = counts_at_thresholds(prob, truth)
    for j in (0, 10, len(THRESHOLD_GRID) - 1):
        hit = prob[:, 2] >= THRESHOLD_GRID[j]
        t = truth[:, 2]
        assert list(counts[2, j]) == [np.sum(hit & t), np.sum(hit & ~t), np.sum(~hit & t)]
    clean = counts_at_thresholds(prob * 0, truth & False)
    thresholds, metrics = choose_thresholds(counts, clean, 300)
    tp, fp, fn = counts[0].T
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert metrics["scratch"]["f1"] == pytest.approx(f1.max(), abs=1e-4)
    assert thresholds["scratch"] == THRESHOLD_GRID[np.argmax(f1)]


def test_a_run_can_start_from_an_installed_detector(tmp_path):
    """``init_model``: the network starts with that model's weights (fine-tuning a shipped
    detector with another data mix); an architecture that differs is refused."""
    from napari_mend.models.networks import get_network
    from napari_mend.training.detector import DetectorTraining

    torch.set_num_threads(2)
    config = load_config(CONFIG_DIR / "detector_tiny.json")
    config["max_steps"] = 2
    train(config, tmp_path / "first", log=lambda line: None)
    first = str(tmp_path / "first" / f"{config['name']}.json")
    start = DetectorTraining(full_config({**config, "init_model": first})).build_model()
    expected = get_network(first, device="cpu").module.state_dict()
    for key, value in start.state_dict().items():
        assert torch.equal(value, expected[key].float()), key
    fresh = DetectorTraining(full_config(config)).build_model().state_dict()
    assert any(not torch.equal(fresh[k], expected[k].float()) for k in fresh)
    other = {**config, "model": {"widths": [8, 16], "context_dilations": [2]}, "init_model": first}
    with pytest.raises(ValueError, match="must match"):
        DetectorTraining(full_config(other)).build_model()


def test_kept_classes_learn_the_frozen_detectors_scores_not_the_labels():
    """``keep_model`` / ``keep_classes`` (learning without forgetting): the kept channels'
    targets are the frozen network's probabilities on the same input; the others keep the
    labels, and the batch is not changed."""
    from napari_mend.training.detector import detector_step_loss

    rng = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 16, 16, generator=rng)
    target = (torch.rand(2, 6, 16, 16, generator=rng) < 0.2).to(torch.uint8)
    student_logits = torch.randn(2, 6, 16, 16, generator=rng)
    keep_logits = torch.randn(2, 6, 16, 16, generator=rng) * 3
    student, keep = (lambda _: student_logits), (lambda _: keep_logits)
    expected = target.float()
    expected[:, 5] = torch.sigmoid(keep_logits[:, 5])
    before = target.clone()
    kept, _ = detector_step_loss(student, (x, target), keep=keep, keep_channels=(5,))
    assert torch.equal(target, before)
    assert kept == pytest.approx(float(detector_loss(student_logits, expected)), rel=1e-6)
    assert kept != pytest.approx(float(detector_loss(student_logits, target.float())), rel=1e-3)
    relabelled = target.clone()
    relabelled[:, 5] = 1 - relabelled[:, 5]  # the kept class's labels play no part
    assert detector_step_loss(student, (x, relabelled), keep=keep, keep_channels=(5,))[0] == kept
    relabelled = target.clone()
    relabelled[:, 0] = 1 - relabelled[:, 0]  # the others' labels do
    assert detector_step_loss(student, (x, relabelled), keep=keep, keep_channels=(5,))[0] != kept


def test_kept_classes_are_checked():
    with pytest.raises(ValueError, match="unknown classes"):
        full_config({"keep_model": "detector", "keep_classes": ["moiré"]})
    with pytest.raises(ValueError, match="go together"):
        full_config({"keep_classes": ["moire"]})
    with pytest.raises(ValueError, match="go together"):
        full_config({"keep_model": "detector"})
