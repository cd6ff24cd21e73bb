"""The demoire training loop: a tiny run exports a model the registry loads; resume continues."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_mend.models.registry import get_model  # noqa: E402
from napari_mend.training import CONFIG_DIR  # noqa: E402
from napari_mend.training.common import load_config, read_log, sample_rng  # noqa: E402
from napari_mend.training.demoire import DEFAULTS, make_sample, train  # noqa: E402


@pytest.mark.slow
def test_tiny_run_exports_a_loadable_model_and_resumes(tmp_path):
    config = load_config(CONFIG_DIR / "demoire_tiny.json")
    config["max_steps"] = 4
    card_path = train(config, tmp_path, log=lambda line: None)
    card = json.loads(card_path.read_text())
    assert card["kind"] == "demoire" and card["architecture"] == "demoire_net"
    assert card["steps"] == 4 and card["params"] > 0
    assert set(card["validation"]) >= {"psnr_input", "psnr_output", "psnr_gain"}
    assert not set(card["data"]["validation_images"]) & set(card["data"]["train_images"])
    model = get_model(str(card_path), device="cpu")
    x = torch.rand(1, 3, 16, 24)
    assert model.module(x).shape == x.shape

    config["max_steps"] = 6
    train(config, tmp_path, resume=True, log=lambda line: None)
    starts = [r for r in read_log(tmp_path / "log.jsonl") if r["event"] == "start"]
    assert [s["step"] for s in starts] == [0, 4] and starts[1]["resumed"]


def test_samples_are_reproducible_and_sometimes_clean():
    config = {**DEFAULTS, "crop": 32, "procedural_fraction": 1.0}
    a = make_sample(sample_rng(0, 5), [], config)
    b = make_sample(sample_rng(0, 5), [], config)
    assert np.array_equal(a[0], b[0]) and a[0].shape == (32, 32, 3)
    clean = [np.array_equal(*make_sample(sample_rng(1, i), [], {**config, "clean_fraction": 0.5}))
             for i in range(12)]
    assert 0 < sum(clean) < 12
