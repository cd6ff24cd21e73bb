"""Inpainter training: a tiny run learns, exports a loadable model with a card, and resumes."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_mend.inpainting.learned import fill_learned  # noqa: E402
from napari_mend.synthesis import corpus_images  # noqa: E402
from napari_mend.training import CONFIG_DIR  # noqa: E402
from napari_mend.training.common import load_config, read_log  # noqa: E402
from napari_mend.training.inpainter import DEFAULTS, inpainting_loss, make_sample, train  # noqa: E402


def test_tiny_training_learns_exports_and_resumes(tmp_path):
    torch.set_num_threads(1)  # robust on a busy machine
    config = load_config(CONFIG_DIR / "inpainter_tiny.json")
    card_path = train(config, tmp_path, log=lambda line: None)

    losses = [r["loss"] for r in read_log(tmp_path / "log.jsonl") if r["event"] == "train"]
    assert np.mean(losses[-2:]) < 0.8 * losses[0]

    card = json.loads(card_path.read_text())
    for key in ("kind", "architecture", "config", "sha256", "params", "steps", "seed",
                "wall_time_s", "device", "data", "training", "validation"):
        assert key in card
    assert card["steps"] == config["max_steps"] and card["kind"] == "inpainter"
    assert "astronaut" in card["data"]["train_images"]
    assert not set(card["data"]["train_images"]) & set(card["data"]["validation_images"])

    image = np.random.default_rng(0).random((40, 50, 3), dtype=np.float32)
    mask = np.zeros((40, 50), bool)
    mask[10:20, 10:30] = True
    out = fill_learned(image, mask, model=str(card_path))
    assert np.array_equal(out[~mask], image[~mask])

    # resume: continues from the checkpoint to the new step budget
    train({**config, "max_steps": config["max_steps"] + 5}, tmp_path, resume=True,
          log=lambda line: None)
    starts = [r for r in read_log(tmp_path / "log.jsonl") if r["event"] == "start"]
    assert starts[-1]["resumed"] and starts[-1]["step"] == config["max_steps"]
    assert json.loads(card_path.read_text())["steps"] == config["max_steps"] + 5

    # a continued run starts from a registered model's weights and records it
    first = json.loads(card_path.read_text())
    card2 = json.loads(train({**config, "max_steps": 1, "init": str(card_path)}, tmp_path / "next",
                             log=lambda line: None).read_text())
    assert card2["init"]["sha256"] == first["sha256"] and card2["steps"] == 1


def test_samples_are_reproducible_and_in_range():
    images = [im for _, im in corpus_images("train") if min(im.shape[:2]) >= 128][:3]
    config = {**DEFAULTS, **load_config(CONFIG_DIR / "inpainter_tiny.json")}
    a = make_sample(np.random.default_rng([0, 5]), images, config)
    b = make_sample(np.random.default_rng([0, 5]), images, config)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    crop, mask = a
    assert crop.shape == (64, 64, 3) and mask.shape == (64, 64) and mask.dtype == bool
    assert 0 <= crop.min() and crop.max() <= 1


def test_loss_is_zero_for_a_perfect_prediction():
    target = torch.rand(2, 3, 32, 32)
    mask = (torch.rand(2, 1, 32, 32) > 0.7).float()
    weights = {"hole_l1": 1.0, "known_l1": 0.1, "gradient": 1.0, "ssim": 0.2}
    total, terms = inpainting_loss(target.clone(), target, mask, weights)
    assert float(total) == pytest.approx(0.0, abs=1e-5)
    total_bad, _ = inpainting_loss(target.flip(-1), target, mask, weights)
    assert float(total_bad) > 0.05
