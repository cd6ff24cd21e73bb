"""Taught detectors in the one model registry: import, list, get_model, --model, export, widget."""

import numpy as np
import pytest
from helpers import paint

import napari_mend as nm
from napari_mend.cli.main import main
from napari_mend.models import registry
from napari_mend.models.package import export_model, import_model


@pytest.fixture
def saved(taught, tmp_path):
    (tmp_path / "shared").mkdir()
    return taught.save(tmp_path / "shared" / "scans.mendmodel")


def test_import_list_load_detect_export(pair, taught, saved, model_dir, tmp_path):
    _, _, second, _ = pair
    card = import_model(saved, name="archive-scratches")
    assert card["name"] == "archive-scratches" and card["kind"] == registry.TAUGHT_KIND
    assert sorted(p.name for p in model_dir.iterdir()) == ["archive-scratches.mendmodel"]
    listed = {c["name"]: c for c in registry.list_models()}
    assert listed["archive-scratches"]["kind"] == "taught-detector"
    assert not listed["archive-scratches"]["shipped"]
    assert [c["name"] for c in registry.list_models(registry.TAUGHT_KIND)] == ["archive-scratches"]
    assert "archive-scratches" not in [c["name"] for c in registry.list_models("detector")]
    assert registry.locate("archive-scratches")[0] == "taught"
    assert registry.locate(str(saved))[0] == "taught"
    assert registry.locate("detector")[0] == "network"
    # get_model by name and by path: the same trees
    loaded = registry.get_model("archive-scratches")
    assert isinstance(loaded.module, nm.TaughtModel) and loaded.name == "archive-scratches"
    assert registry.model_card("archive-scratches")["sha256"] == loaded.card["sha256"]
    expected = nm.detect(second, model=taught)
    np.testing.assert_array_equal(nm.detect(second, model="archive-scratches"), expected)
    np.testing.assert_array_equal(registry.get_model(str(saved)).module.detect_scores(
        second).scores, taught.detect_scores(second).scores)
    # a taught detector as teach's base model stands for its base network
    assert registry.taught_or_none("detector") is None
    # import refuses an existing name, replaces it with overwrite
    with pytest.raises(FileExistsError, match="installed"):
        import_model(saved, name="archive-scratches")
    import_model(saved, name="archive-scratches", overwrite=True)
    with pytest.raises(ValueError, match="shipped"):
        import_model(saved, name="detector")
    # export: the installed file, checked, copied; importing it again gives the same trees
    out = export_model("archive-scratches", tmp_path / "again")
    assert out.name == "again.mendmodel"
    with pytest.raises(FileExistsError):
        export_model("archive-scratches", out)
    assert import_model(out, name="copy")["sha256"] == loaded.card["sha256"]
    with pytest.raises(registry.ModelError, match="taught model"):
        registry.update_card("copy", note="x")


def test_models_command_and_model_options(pair, saved, model_dir, tmp_path, capsys):
    from skimage import io

    _, _, second, truth2 = pair
    assert main(["models", "import", str(saved), "--name", "cli-taught"]) == 0
    assert "installed model 'cli-taught' (taught-detector)" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    line = next(row for row in listed.splitlines() if row.startswith("cli-taught"))
    assert "taught-detector" in line and "taught (scratch)" in line and "user" in line
    assert main(["models", "list", "--kind", "taught-detector"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[0].startswith("cli-taught")
    assert main(["models", "list", "--kind", "detector"]) == 0
    assert "cli-taught" not in capsys.readouterr().out
    assert main(["models", "export", "cli-taught", str(tmp_path / "out.mendmodel")]) == 0
    assert (tmp_path / "out.mendmodel").read_bytes() == (model_dir / "cli-taught.mendmodel"
                                                          ).read_bytes()
    io.imsave(tmp_path / "b.png", second, check_contrast=False)
    capsys.readouterr()
    assert main(["detect", str(tmp_path / "b.png"), "--model", "cli-taught",
                 "-o", str(tmp_path / "b.tif")]) == 0
    import tifffile

    assert (tifffile.imread(tmp_path / "b.tif")[truth2] == 1).mean() > 0.6
    assert main(["restore", str(tmp_path / "b.png"), "--detector-model", "cli-taught",
                 "--fill", "telea", "-o", str(tmp_path / "b_mended.png")]) == 0
    from napari_mend.batch.run import check_options

    options = {"detector": "cli-taught", "fill": "telea", "threshold": None, "classes": None}
    check_options(options)  # an installed name stays a name: workers find it in the registry
    assert options["detector"] == "cli-taught"


def test_widget_model_choices_list_taught_detectors(saved, model_dir):
    pytest.importorskip("napari")
    from napari_mend._widgets.mend_widget import _model_choices

    assert _model_choices("detector", "detector")() == ["detector"]
    import_model(saved, name="zz-taught")
    assert _model_choices("detector", "detector")() == ["detector", "zz-taught"]
    assert "zz-taught" not in _model_choices("inpainter", "inpainter")()


def test_teach_on_a_taught_detector_uses_its_base_network(pair, saved, model_dir):
    first, truth1, _, _ = pair
    import_model(saved, name="base-taught")
    model = nm.teach(first[:96, :96], paint(truth1[:96, :96]), base_model="base-taught")
    assert model.card["base_model"]["name"] == "detector"
