"""Hostile taught-model ``.mendmodel`` files through the registry: ``get_model``, ``models
import``, ``detect --model``: refused with a message that says why, nothing written anywhere
in the sandbox, zip bombs refused before they are inflated."""

import hashlib
import json
import zipfile

import numpy as np
import pytest

from napari_mend.cli.main import main
from napari_mend.models.package import import_model
from napari_mend.models.registry import ModelError, get_model, list_models


@pytest.fixture(scope="module")
def good_parts():
    """The members of a small valid taught model file (filter features only)."""
    import napari_mend as nm

    rng = np.random.default_rng(0)
    image = rng.random((48, 48)).astype(np.float32)
    image[10, :] = 3.0
    strokes = np.zeros(image.shape, np.uint8)
    strokes[10, 5:40] = 1
    strokes[30:34, 5:40] = nm.CLEAN_LABEL
    model = nm.teach(image, strokes, features=nm.FeatureSettings(network=False),
                     classifier={"n_estimators": 4})
    buffer = __import__("io").BytesIO()
    from napari_mend.teaching.storage import VERSION, model_arrays

    np.savez(buffer, **model_arrays(model))
    forest = buffer.getvalue()
    card = dict(model.card, name="good", sha256=hashlib.sha256(forest).hexdigest())
    return {"package.json": json.dumps({"format": "napari-mend-taught-model", "version": VERSION}),
            "card.json": json.dumps(card), "forest.npz": forest}


def write(path, parts, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def with_card(parts, **entries):
    return dict(parts, **{"card.json": json.dumps({**json.loads(parts["card.json"]), **entries})})


def refusals(path, match, capsys, sandbox):
    """Every door refuses ``path`` with ``match`` in the message."""
    with pytest.raises(ModelError, match=match):
        get_model(str(path))
    with pytest.raises(ModelError, match=match):
        import_model(path, name="colleague")
    assert main(["models", "import", str(path), "--name", "colleague"]) == 2
    assert match.split("|")[0] in capsys.readouterr().err
    from skimage.io import imsave

    image = sandbox.root / "in.png"
    if not image.exists():
        imsave(image, np.zeros((32, 32), np.uint8), check_contrast=False)
    assert main(["detect", str(image), "-o", str(sandbox.files / "out.tif"),
                 "--model", str(path)]) == 2
    assert match.split("|")[0] in capsys.readouterr().err


def test_valid_file_imports(sandbox, good_parts):
    path = write(sandbox.files / "ok.mendmodel", good_parts)
    assert import_model(path, name="colleague")["name"] == "colleague"
    installed = sandbox.home / ".local/share/napari-mend/models"
    assert sorted(p.name for p in installed.iterdir()) == ["colleague.mendmodel"]
    assert [c["name"] for c in list_models("taught-detector")] == ["colleague"]


@pytest.mark.parametrize("where", ["card name", "member name", "import name"])
def test_dot_dot_names_write_nothing(sandbox, good_parts, capsys, where):
    traversal = "../../../.ipython/profile_default/startup/evil"
    if where == "card name":
        path = write(sandbox.files / "evil.mendmodel", with_card(good_parts, name=traversal))
        match = "name cannot name a model"
    elif where == "member name":
        path = write(sandbox.files / "evil.mendmodel",
                     dict(good_parts, **{f"{traversal}.py": b"print('pwned')"}))
        match = "does not hold exactly"
    else:
        path = write(sandbox.files / "ok.mendmodel", good_parts)
        before = sandbox.snapshot()
        with pytest.raises(ValueError, match="model name"):
            import_model(path, name=traversal)
        assert main(["models", "import", str(path), "--name", traversal]) == 2
        assert "model name" in capsys.readouterr().err
        assert sandbox.snapshot() == before
        return
    before = sandbox.snapshot()
    refusals(path, match, capsys, sandbox)
    after = sandbox.snapshot()
    after.pop("in.png", None)
    assert after == before
    assert list_models("taught-detector") == []


def test_bad_sha256_writes_nothing(sandbox, good_parts, capsys):
    forest = bytearray(good_parts["forest.npz"])
    forest[-40] ^= 0xFF
    path = write(sandbox.files / "tampered.mendmodel",
                 dict(good_parts, **{"forest.npz": bytes(forest)}))
    before = sandbox.snapshot()
    refusals(path, "sha256", capsys, sandbox)
    after = sandbox.snapshot()
    after.pop("in.png", None)
    assert after == before


@pytest.mark.parametrize("member, limit", [("forest.npz", "NAPARI_MEND_MAX_MODEL_BYTES"),
                                           ("card.json", "NAPARI_MEND_MAX_JSON_BYTES")])
def test_oversize_member_is_refused_before_it_is_inflated(sandbox, good_parts, capsys, member,
                                                          limit, peak_bytes):
    size = 300 * 2**20 if member == "forest.npz" else 80 * 2**20
    path = write(sandbox.files / "bomb.mendmodel", dict(good_parts, **{member: bytes(size)}),
                 compress=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    before = sandbox.snapshot()

    def refused():
        with pytest.raises(ModelError, match=limit):
            import_model(path, name="colleague")

    assert peak_bytes(refused) < 32 * 2**20
    refusals(path, limit, capsys, sandbox)
    after = sandbox.snapshot()
    after.pop("in.png", None)
    assert after == before
