"""One-file models: export, import, load by path; tampered and foreign files refused."""

import json
import shutil
import zipfile

import pytest

from napari_mend.cli.main import main
from napari_mend.models import registry
from napari_mend.models.files import PACKAGE_SUFFIX
from napari_mend.models.networks import read_package
from napari_mend.models.package import export_model, import_model


def _rewrite(src, dst, **replace):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            zout.writestr(item, replace.get(item.replace(".", "_"), zin.read(item)))


def test_export_import_roundtrip(model_dir, tmp_path):
    path = export_model("detector", tmp_path / "shared")
    assert path.name == "shared" + PACKAGE_SUFFIX
    with pytest.raises(FileExistsError):
        export_model("detector", path)
    card = import_model(path, name="colleague-detector")
    assert card["name"] == "colleague-detector" and card["kind"] == "detector"
    assert card["sha256"] == registry.model_card("detector")["sha256"]
    assert "colleague-detector" in [c["name"] for c in registry.list_models("detector")]
    with pytest.raises(FileExistsError, match="installed"):
        import_model(path, name="colleague-detector")
    loaded = registry.get_model(str(path), device="cpu")  # a package path loads directly
    assert loaded.card["name"] == "detector"


def test_tampered_or_foreign_files_are_refused(model_dir, tmp_path):
    path = export_model("inpainter", tmp_path / "fill")
    tampered = tmp_path / "tampered.mendmodel"
    with zipfile.ZipFile(path) as zf:
        weights = bytearray(zf.read("weights.pt"))
    weights[-3] ^= 0xFF
    _rewrite(path, tampered, weights_pt=bytes(weights))
    with pytest.raises(registry.ModelError, match="tampered"):
        import_model(tampered)
    newer = tmp_path / "newer.mendmodel"
    _rewrite(path, newer, package_json=json.dumps({"format": "napari-mend-model", "version": 99,
                                                   "napari_mend": "9.0"}))
    with pytest.raises(registry.ModelError, match="format version 99"):
        read_package(newer)
    alien = tmp_path / "alien.mendmodel"
    card = read_package(path)[0]
    _rewrite(path, alien, card_json=json.dumps(dict(card, architecture="transformer_xl")))
    with pytest.raises(registry.ModelError, match="transformer_xl"):
        import_model(alien, name="alien")
    assert not (model_dir / "alien.json").exists()
    text = tmp_path / "notes.mendmodel"
    text.write_text("not a model")
    with pytest.raises(registry.ModelError, match="not a napari-mend model file"):
        registry.get_model(str(text))


def test_models_command(model_dir, tmp_path, capsys):
    out = tmp_path / "d.mendmodel"
    assert main(["models", "export", "detector", str(out)]) == 0
    assert main(["models", "import", str(out), "--name", "cli-detector"]) == 0
    assert main(["models", "list", "--kind", "detector"]) == 0
    listed = capsys.readouterr().out
    assert "cli-detector" in listed and "shipped" in listed and "user" in listed
    shutil.copy(out, tmp_path / "again.mendmodel")
    assert main(["models", "import", str(tmp_path / "again.mendmodel"),
                 "--name", "cli-detector"]) == 2  # exists: refused, exit code 2
    assert "installed" in capsys.readouterr().err


def test_train_command_fine_tunes(model_dir, domain_images, tmp_path, capsys):
    from skimage.io import imsave

    folder = tmp_path / "collection"
    folder.mkdir()
    imsave(folder / "a.png", domain_images[0])
    assert main(["train", "inpainter", "--images", str(folder), "--minutes", "0.01",
                 "--crop", "64", "--batch", "1", "--eval-crops", "6", "--name", "cli-fill"]) == 0
    printed = capsys.readouterr().out
    assert "before: held-out psnr_hole_mean" in printed and "saved model 'cli-fill'" in printed
    assert "(independent generator's)" in printed
    run = registry.model_card("cli-fill")["finetune"]
    assert run["images"] == ["a.png"]
    theirs = run["after"]["independent"]  # holes of the independent generator's defects
    assert theirs["crops"] >= 1 and 5 < theirs["psnr_hole_mean"] < 60
    assert set(theirs) - {"crops", "psnr_hole_mean"} <= {
        f"psnr_hole_{c}" for c in ("scratch", "dust", "blotch", "text", "watermark")}
    assert main(["train", "detector", "--images", str(tmp_path / "none")]) == 2
    assert "no such image file" in capsys.readouterr().err
