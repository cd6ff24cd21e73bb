"""Outputs never cost data: --overwrite replaces only what napari-mend wrote, never a folder
holding an input; unwritable folders are refused before any work; two inputs never share one
output; temporaries of killed runs are removed only when provably abandoned."""

import numpy as np
import pytest
import tifffile
from PIL import Image
from skimage import data

from napari_mend.cli.main import main


@pytest.fixture
def scratched(sandbox):
    image = data.camera()[:96, :96].copy()
    image[40, 10:80] = 255
    mask = (image == 255).astype(np.uint8)
    tifffile.imwrite(sandbox.files / "film.tif", image)
    tifffile.imwrite(sandbox.files / "mask.tif", mask)
    return sandbox.files / "film.tif", sandbox.files / "mask.tif", image, mask


def _inpaint(src, mask, out, *extra):
    return main(["inpaint", str(src), "--mask", str(mask), "-o", str(out), "--method", "telea",
                 *extra])


def test_output_in_unwritable_folder_refused_first(scratched, sandbox, tmp_path, capsys,
                                                  monkeypatch):
    src, mask_path, _, _ = scratched
    locked = tmp_path / "locked"
    locked.mkdir()
    import napari_mend.cli.files as cli_files

    real_access = cli_files.os.access
    monkeypatch.setattr(cli_files.os, "access",
                        lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    called = []
    monkeypatch.setattr("napari_mend.cli.mend.inpaint",
                        lambda *a, **k: called.append(1))
    assert _inpaint(src, mask_path, locked / "x.tif") == 2
    assert "cannot write" in capsys.readouterr().err and not called


def _overwrite_refused(src, out, sandbox, capsys):
    """``restore SRC -o OUT --overwrite`` exits with 2 and changes no file; returns its stderr."""
    before = sandbox.snapshot()
    assert main(["restore", str(src), "-o", str(out), "--detector", "classical",
                 "--fill", "biharmonic", "--overwrite"]) == 2
    assert sandbox.snapshot() == before
    return capsys.readouterr().err


def test_overwrite_never_replaces_a_foreign_folder(scratched, sandbox, tmp_path, capsys):
    src, _, _, _ = scratched
    foreign = tmp_path / "precious.zarr"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("data")
    assert "did not write" in _overwrite_refused(src, foreign, sandbox, capsys)


def test_overwrite_refuses_an_output_holding_the_input(sandbox, tmp_path, capsys):
    store = tmp_path / "store.zarr"
    store.mkdir()
    inner = store / "film.tif"
    tifffile.imwrite(inner, data.camera()[:64, :64])
    assert "holds the input" in _overwrite_refused(inner, store, sandbox, capsys)


def test_unwatermark_refuses_two_inputs_with_one_output_name(sandbox, tmp_path, capsys):
    folder = tmp_path / "scans"
    folder.mkdir()
    image = data.camera()[:64, :64]
    Image.fromarray(image).save(folder / "a.png")
    tifffile.imwrite(folder / "a.tif", image)
    before = sandbox.snapshot()
    assert main(["unwatermark", str(folder), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "a.png" in err and "a.tif" in err
    after = sandbox.snapshot()
    assert after.pop("out", None) in (None, "dir") and after == before  # at most an empty folder


def test_overwrite_replaces_only_zarr_arrays(sandbox, tmp_path):
    import dask.array as da

    from napari_mend.io import zarr_store

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "keep.txt").write_text("data")
    array = da.zeros((8, 8), chunks=4, dtype=np.uint8)
    before = sandbox.snapshot()
    with pytest.raises(FileExistsError, match="not a zarr array"):
        zarr_store.store([array], [folder], overwrite=True)
    assert sandbox.snapshot() == before
    target = tmp_path / "out.zarr"
    zarr_store.store([array], [target])
    zarr_store.store([array + 1], [target], overwrite=True)  # its own kind of output: replaced
    import zarr

    assert int(zarr.open_array(str(target), mode="r")[0, 0]) == 1
