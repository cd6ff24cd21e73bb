"""Inference precision: bfloat16 where the device computes it natively, else float32."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from napari_mend.models import device as device_module  # noqa: E402
from napari_mend.models.device import inference_autocast, inference_precision  # noqa: E402


@pytest.fixture
def native_bf16(monkeypatch):
    def set_native(value):
        monkeypatch.setattr(device_module, "_cpu_has_native_bfloat16", lambda: value)
    return set_native


def test_auto_follows_the_cpu(monkeypatch, native_bf16):
    monkeypatch.delenv("NAPARI_MEND_PRECISION", raising=False)
    native_bf16(True)
    assert inference_precision("cpu") == "bfloat16"
    native_bf16(False)
    assert inference_precision("cpu") == "float32"


def test_card_then_environment_override(monkeypatch, native_bf16):
    native_bf16(True)
    monkeypatch.delenv("NAPARI_MEND_PRECISION", raising=False)
    pinned = {"name": "d", "inference": {"precision": "float32"}}
    assert inference_precision("cpu", pinned) == "float32"
    assert inference_precision("cpu", {"name": "d", "inference": {}}) == "bfloat16"
    monkeypatch.setenv("NAPARI_MEND_PRECISION", "bfloat16")
    assert inference_precision("cpu", pinned) == "bfloat16"
    monkeypatch.setenv("NAPARI_MEND_PRECISION", "float32")
    assert inference_precision("cpu") == "float32"
    monkeypatch.setenv("NAPARI_MEND_PRECISION", "Auto")
    assert inference_precision("cpu", pinned) == "float32"


def test_bad_precisions_are_clear_errors(monkeypatch):
    monkeypatch.setenv("NAPARI_MEND_PRECISION", "half")
    with pytest.raises(ValueError, match="NAPARI_MEND_PRECISION.*float32"):
        inference_precision("cpu")
    monkeypatch.delenv("NAPARI_MEND_PRECISION")
    with pytest.raises(ValueError, match="'inference' settings"):
        inference_precision("cpu", {"name": "m", "inference": {"precision": "fp16"}})


def test_autocast_runs_convolutions_in_the_chosen_precision(monkeypatch):
    class Loaded:
        device = torch.device("cpu")
        card = {"name": "m", "inference": {}}

    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.rand(1, 3, 16, 16)
    for precision, dtype in (("bfloat16", torch.bfloat16), ("float32", torch.float32)):
        monkeypatch.setenv("NAPARI_MEND_PRECISION", precision)
        with torch.inference_mode(), inference_autocast(Loaded()):
            assert conv(x).dtype == dtype


def test_learned_fill_in_bfloat16_is_close_to_float32_and_keeps_known_pixels(monkeypatch):
    from napari_mend.inpainting.learned import fill_learned

    image = np.random.default_rng(0).random((96, 96, 3), dtype=np.float32)
    image += np.linspace(0, 1, 96, dtype=np.float32)[:, None, None]
    mask = np.zeros((96, 96), bool)
    mask[30:50, 40:70] = True
    fills = {}
    for precision in ("float32", "bfloat16"):
        monkeypatch.setenv("NAPARI_MEND_PRECISION", precision)
        fills[precision] = fill_learned(image, mask)
        assert np.array_equal(fills[precision][~mask], image[~mask])
    difference = np.abs(fills["bfloat16"] - fills["float32"])[mask]
    assert 0 < difference.max() and difference.mean() < 0.01 * np.ptp(image)


def test_provenance_records_the_precision(monkeypatch, native_bf16):
    from napari_mend.io.provenance import make_provenance

    native_bf16(False)
    monkeypatch.delenv("NAPARI_MEND_PRECISION", raising=False)
    card = {"name": "m", "kind": "inpainter", "sha256": "ab"}
    record = make_provenance(operation="inpaint", method="learned", parameters={}, model=card)
    assert record["model"]["precision"] == "float32"
    native_bf16(True)
    record = make_provenance(operation="inpaint", method="learned", parameters={}, model=card)
    assert record["model"]["precision"] == "bfloat16"
    pinned = {"name": "d", "kind": "detector", "inference": {"precision": "float32"}}
    record = make_provenance(operation="detect", method="learned", parameters={}, model=pinned)
    assert record["model"]["precision"] == "float32"


def test_training_runs_forward_passes_in_bfloat16_only_where_native(native_bf16):
    from napari_mend.models.device import training_autocast

    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.rand(1, 3, 16, 16)
    for native, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        native_bf16(native)
        with training_autocast("cpu"):
            out = conv(x)
        assert out.dtype == dtype
        out.float().sum().backward()  # gradients reach the float32 weights
        assert conv.weight.grad.dtype == torch.float32
        conv.zero_grad()
