"""Training checkpoints are read weights-only: a pickled payload in one is refused, not run."""

import numpy as np
import pytest
import torch

from napari_mend.training.common import CHECKPOINT, load_checkpoint, save_checkpoint


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))


def test_pickled_checkpoint_is_refused_and_not_run(sandbox, payload):
    code, marker = payload
    run = sandbox.files / "run"
    run.mkdir()
    torch.save({"model": code}, run / CHECKPOINT)
    before = sandbox.snapshot()
    with pytest.raises(ValueError, match="cannot be loaded as plain tensors"):
        load_checkpoint(run, model=_net())
    assert not marker.exists()
    assert sandbox.snapshot() == before


def test_checkpoint_with_optimizer_and_extra_round_trips_weights_only(sandbox):
    net = _net()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.ones(1, 1, 5, 5)).sum().backward()
    optimizer.step()
    extra = {"history": [(1, 0.5)], "before": {"psnr": np.float32(20.5)}, "images": ["a.png"]}
    save_checkpoint(sandbox.files, model=net, optimizer=optimizer, step=7, elapsed=1.5,
                    extra=extra)
    torch.load(sandbox.files / CHECKPOINT, weights_only=True)  # plain values only
    restored = _net()
    for p in restored.parameters():
        p.data.zero_()
    restored_optimizer = torch.optim.AdamW(restored.parameters(), lr=1e-3)
    state = load_checkpoint(sandbox.files, model=restored, optimizer=restored_optimizer)
    assert state["step"] == 7 and state["elapsed"] == 1.5
    assert state["extra"] == {"history": [[1, 0.5]], "before": {"psnr": 20.5},
                              "images": ["a.png"]}
    for a, b in zip(net.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a, b)
    assert restored_optimizer.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()
