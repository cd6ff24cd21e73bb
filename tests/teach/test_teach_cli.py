"""napari-mend teach, then detect / restore with the taught model file."""

import numpy as np
from helpers import paint
from skimage import io

from napari_mend.cli.main import main


def test_cli_teach_then_detect_and_restore(pair, tmp_path, capsys):
    import tifffile

    first, truth1, second, truth2 = pair
    io.imsave(tmp_path / "a.png", first, check_contrast=False)
    io.imsave(tmp_path / "a_strokes.png", paint(truth1), check_contrast=False)
    io.imsave(tmp_path / "b.png", second, check_contrast=False)
    model = tmp_path / "scratch.mendmodel"
    assert main(["teach", str(tmp_path / "a.png"), "--strokes", str(tmp_path / "a_strokes.png"),
                 "-o", str(model)]) == 0
    assert "scratch vs clean" in capsys.readouterr().out
    assert main(["detect", str(tmp_path / "b.png"), "--model", str(model),
                 "-o", str(tmp_path / "b_defects.tif")]) == 0
    labels = tifffile.imread(tmp_path / "b_defects.tif")
    assert (labels[truth2] == 1).mean() > 0.6
    assert main(["restore", str(tmp_path / "b.png"), "--detector-model", str(model),
                 "--fill", "telea", "-o", str(tmp_path / "b_mended.png")]) == 0
    mended = io.imread(tmp_path / "b_mended.png")
    assert mended.shape == second.shape
    assert np.abs(mended[truth2].astype(int) - 250).mean() > 30  # scratches filled
    # errors: exit 2 with a message
    assert main(["teach", str(tmp_path / "a.png"), "--strokes", str(tmp_path / "a.png"),
                 "-o", str(tmp_path / "x.mendmodel")]) == 2
    assert "hold the values" in capsys.readouterr().err
    assert main(["teach", str(tmp_path / "a.png"), "--strokes", str(tmp_path / "a_strokes.png"),
                 "-o", str(model)]) == 2  # exists
    bad = tmp_path / "bad.mendmodel"
    bad.write_bytes(model.read_bytes()[:-100])
    assert main(["detect", str(tmp_path / "b.png"), "--model", str(bad),
                 "-o", str(tmp_path / "c.tif")]) == 2
