"""The one training loop with a toy task: it learns, resumes to the same state, and cancels."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_mend.progress import Cancelled  # noqa: E402
from napari_mend.training.common import CHECKPOINT, JsonlLog, read_log, sample_rng  # noqa: E402
from napari_mend.training.loop import LoopSettings, Trainer, sample_batches  # noqa: E402

TRUE_WEIGHTS = np.array([[1.5, -2.0, 0.5, 3.0]], np.float32)


class LinearTask:
    """Fit ``y = TRUE_WEIGHTS @ x`` from noisy samples; sample ``i`` depends on ``(seed, i)``."""

    def __init__(self, seed=0):
        self.seed = seed
        self.validations = 0

    def pair(self, index):
        rng = sample_rng(self.seed, index)
        x = rng.normal(size=4).astype(np.float32)
        y = TRUE_WEIGHTS @ x + np.float32(0.01) * rng.normal(size=1).astype(np.float32)
        return x, y

    def batches(self, step):
        return sample_batches(self.pair, start=4 * step, batch_size=4, device=torch.device("cpu"))

    def loss(self, model, batch):
        x, y = batch
        error = model(x) - y
        return (error ** 2).mean(), {"abs": float(error.abs().mean().detach())}

    def validate(self, model):
        self.validations += 1
        return {"weight_error": float((model.weight.detach() - torch.from_numpy(TRUE_WEIGHTS))
                                      .abs().max())}

    def checkpoint_extra(self, step):
        return {"toy": step}


SETTINGS = LoopSettings(lr=0.3, max_steps=40, weight_decay=0.0, warmup_steps=2, log_every=1,
                        checkpoint_every=15, validate_every=20)


def run(out_dir, *, resume=False, progress=None, seed=0):
    torch.manual_seed(seed)
    task = LinearTask(seed)
    trainer = Trainer(torch.nn.Linear(4, 1, bias=False), settings=SETTINGS, out_dir=out_dir,
                      device=torch.device("cpu"), journal=JsonlLog(out_dir / "log.jsonl"),
                      resume=resume)
    trainer.fit(task, progress=progress)
    return trainer, task


def test_loss_goes_down_with_logs_validation_and_checkpoints(tmp_path):
    trainer, task = run(tmp_path)
    losses = [loss for _, loss in trainer.history]
    assert [step for step, _ in trainer.history] == list(range(1, 41))
    assert np.mean(losses[-5:]) < 0.1 * np.mean(losses[:5])
    records = read_log(tmp_path / "log.jsonl")
    train = [r for r in records if r["event"] == "train"]
    assert {"loss", "abs", "lr", "elapsed", "steps_per_s"} <= set(train[0])
    assert train[0]["lr"] == pytest.approx(0.15)  # first of two warm-up steps
    assert [r["step"] for r in records if r["event"] == "val"] == [20, 40]
    assert task.validations == 2
    assert [r["step"] for r in records if r["event"] == "checkpoint"] == [15, 30, 40]
    assert records[-1]["event"] == "checkpoint" and (tmp_path / CHECKPOINT).is_file()


def test_same_seed_same_model_and_cancel_then_resume_reaches_the_same_state(tmp_path):
    straight, _ = run(tmp_path / "straight")
    again, _ = run(tmp_path / "again")
    assert torch.equal(straight.model.weight, again.model.weight)  # deterministic for a seed

    calls = []

    def cancel_before_step_13(done, total):
        calls.append((done, total))
        if len(calls) == 13:
            raise Cancelled()

    stopped_dir = tmp_path / "stopped"
    with pytest.raises(Cancelled):
        run(stopped_dir, progress=cancel_before_step_13)
    assert calls[:3] == [(0, 40), (1, 40), (2, 40)]
    records = read_log(stopped_dir / "log.jsonl")
    assert records[-1]["event"] == "stopped" and records[-1]["step"] == 12
    assert [r["step"] for r in records if r["event"] == "train"][-1] == 12  # no step after cancel

    resumed, _ = run(stopped_dir, resume=True)
    assert resumed.resumed and resumed.extra["toy"] == 12
    assert resumed.step == 40
    assert [step for step, _ in resumed.history] == list(range(1, 41))
    assert torch.equal(resumed.model.weight, straight.model.weight)
    for key, value in straight.optimizer.state_dict()["state"][0].items():
        assert torch.equal(value, resumed.optimizer.state_dict()["state"][0][key])


def test_ctrl_c_also_saves_a_checkpoint(tmp_path):
    def interrupt(done, total):
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, progress=interrupt)
    resumed, _ = run(tmp_path, resume=True)
    assert [step for step, _ in resumed.history][:6] == [1, 2, 3, 4, 5, 6]
    assert "stopped" in [r["event"] for r in read_log(tmp_path / "log.jsonl")]
