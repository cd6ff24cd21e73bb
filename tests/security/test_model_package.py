"""Hostile ``.mendmodel`` files: nothing is written outside the model cache, nor before every
check has passed; zip bombs and oversized networks are refused before memory is allocated."""

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
import torch

from napari_mend.cli.main import main
from napari_mend.models import registry
from napari_mend.models.networks import read_package
from napari_mend.models.package import import_model
from napari_mend.models.registry import ModelError, get_model

TINY_CARD = {"name": "tiny", "kind": "demoire", "architecture": "demoire_net",
             "config": {"widths": [4, 8], "blocks": 1}}
"""A network of a few hundred parameters: packages of it are small."""


def _state_bytes(config=TINY_CARD["config"]) -> bytes:
    from napari_mend.models.demoire_net import DemoireNet

    buffer = io.BytesIO()
    torch.save(DemoireNet(**config).state_dict(), buffer)
    return buffer.getvalue()


def make_package(path, *, weights=None, compress=zipfile.ZIP_STORED, **card):
    """Write a ``.mendmodel`` of the tiny network; ``card`` entries replace the tiny card's."""
    weights = _state_bytes() if weights is None else weights
    card = {**TINY_CARD, "sha256": hashlib.sha256(weights).hexdigest(), **card}
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr("package.json", json.dumps({"format": "napari-mend-model", "version": 1}))
        zf.writestr("card.json", json.dumps(card))
        zf.writestr("weights.pt", weights)
    return path


TRAVERSAL = "../../../.ipython/profile_default/ipython_config"


def test_name_with_dot_dot_writes_nothing(sandbox):
    package = make_package(sandbox.files / "evil.mendmodel", name=TRAVERSAL)
    before = sandbox.snapshot()
    with pytest.raises(ModelError, match="cannot name a model"):
        get_model(str(package), device="cpu")
    with pytest.raises(ModelError, match="cannot name a model"):
        import_model(package)
    assert sandbox.snapshot() == before


def test_name_with_dot_dot_through_the_command_line(sandbox, capsys):
    from skimage.io import imsave

    imsave(sandbox.files / "in.png", np.zeros((32, 32), np.uint8), check_contrast=False)
    package = make_package(sandbox.files / "evil.mendmodel", name=TRAVERSAL, kind="detector")
    before = sandbox.snapshot()
    code = main(["detect", str(sandbox.files / "in.png"), "-o", str(sandbox.files / "out.tif"),
                 "--model", str(package)])
    assert code == 2 and "cannot name a model" in capsys.readouterr().err
    assert sandbox.snapshot() == before


@pytest.mark.parametrize("attack, match", [
    ("tampered", "tampered"),
    ("pickle", "cannot be loaded as plain tensors"),
    ("other network", "does not fit its model card"),
])
def test_weights_are_checked_before_anything_is_written(sandbox, payload, attack, match):
    code, marker = payload
    if attack == "tampered":
        weights = bytearray(_state_bytes())
        weights[-30] ^= 0xFF
        package = make_package(sandbox.files / "m.mendmodel", weights=bytes(weights),
                               sha256=hashlib.sha256(_state_bytes()).hexdigest())
    elif attack == "pickle":
        buffer = io.BytesIO()
        torch.save({"stem.weight": code}, buffer)
        package = make_package(sandbox.files / "m.mendmodel", weights=buffer.getvalue())
    else:
        package = make_package(sandbox.files / "m.mendmodel",
                               weights=_state_bytes({"widths": [4, 8, 16], "blocks": 1}))
    before = sandbox.snapshot()
    with pytest.raises(ModelError, match=match):
        get_model(str(package), device="cpu")
    with pytest.raises(ModelError, match=match):
        import_model(package, name="colleague")
    assert sandbox.snapshot() == before
    assert not marker.exists()


def test_unpacked_cache_uses_fixed_names_keyed_by_the_whole_file(sandbox):
    first = make_package(sandbox.files / "a.mendmodel", description="first card")
    second = make_package(sandbox.files / "b.mendmodel", description="second card")
    assert get_model(str(first), device="cpu").card["description"] == "first card"
    assert get_model(str(second), device="cpu").card["description"] == "second card"
    cache = sandbox.home / ".local/share/napari-mend/models/.unpacked"
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)}
    assert {p.name for p in cache.iterdir()} == digests
    for folder in cache.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.pt"]
    registry.clear_cache()  # loaded again from the cache, still its own card
    assert get_model(str(first), device="cpu").card["description"] == "first card"


def _expect_refusal(call, match):
    def action():
        with pytest.raises(ModelError, match=match):
            call()
    return action


def test_zip_bomb_is_refused_before_it_is_inflated(sandbox, peak_bytes):
    bomb = bytes(300 * 2**20)  # 300 MiB of zeros: deflated to about 300 kB
    package = make_package(sandbox.files / "bomb.mendmodel", weights=bomb,
                           compress=zipfile.ZIP_DEFLATED)
    del bomb
    assert package.stat().st_size < 2**20
    before = sandbox.snapshot()
    peak = peak_bytes(_expect_refusal(lambda: read_package(package),
                                       "NAPARI_MEND_MAX_MODEL_BYTES"))
    assert peak < 32 * 2**20
    assert sandbox.snapshot() == before


def test_zip_member_larger_than_declared_is_not_read_past_its_declared_size(sandbox, peak_bytes):
    package = make_package(sandbox.files / "liar.mendmodel", weights=bytes(300 * 2**20),
                           compress=zipfile.ZIP_DEFLATED)
    raw = bytearray(package.read_bytes())
    entry = raw.rindex(b"PK\x01\x02", 0, raw.rindex(b"weights.pt") + 1)
    raw[entry + 24:entry + 28] = (1000).to_bytes(4, "little")  # central directory: 1000 bytes
    package.write_bytes(bytes(raw))
    peak = peak_bytes(_expect_refusal(lambda: read_package(package),
                                       "not a napari-mend model file"))
    assert peak < 32 * 2**20


@pytest.mark.parametrize("config, match", [
    ({"widths": [100_000, 100_000], "blocks": 1}, "config 'widths'"),
    ({"widths": [4] * 1000, "blocks": 1}, "config 'widths'"),
    ({"widths": [4, 8], "blocks": 10**9}, "config 'blocks'"),
    ({"widths": [4, 8], "blocks": "many"}, "config 'blocks'"),
    ({"widths": [1024, 1024, 1024], "blocks": 200}, "NAPARI_MEND_MAX_PARAMS"),
    ({"widths": [4, 8], "blocks": 1, "exec": 1}, "does not describe a demoire_net"),
])
def test_oversized_network_is_refused_before_it_is_built(sandbox, config, match, peak_bytes):
    package = make_package(sandbox.files / "big.mendmodel", config=config)
    before = sandbox.snapshot()
    peak = peak_bytes(_expect_refusal(lambda: import_model(package, name="big"), match))
    assert peak < 64 * 2**20
    assert sandbox.snapshot() == before


def test_a_valid_package_still_loads_and_imports(sandbox):
    package = make_package(sandbox.files / "ok.mendmodel")
    assert get_model(str(package), device="cpu").name == "tiny"
    assert import_model(package, name="colleague")["name"] == "colleague"
