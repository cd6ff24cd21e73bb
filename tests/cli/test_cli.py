"""The napari-mend command: detect, inpaint, restore on files; refusal to overwrite; bad files."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile
from helpers import camera_scratch
from skimage import data

from napari_mend.cli.main import main
from napari_mend.io.bundle import read_bundle
from napari_mend.io.images import open_lazy
from napari_mend.io.tiff import read_image_tiff, read_labels_tiff


@pytest.fixture
def scratched_tif(tmp_path):
    image, (rr, cc) = camera_scratch(200, (2, 20, 197, 60))
    path = tmp_path / "film.tif"
    tifffile.imwrite(path, image)
    return path, image, (rr, cc)


def test_detect_then_inpaint(scratched_tif, tmp_path):
    path, image, (rr, cc) = scratched_tif
    labels_path = tmp_path / "defects.tif"
    assert main(["detect", str(path), "-o", str(labels_path), "--method", "classical"]) == 0
    labels, names, prov = read_labels_tiff(labels_path)
    assert names[1] == "scratch" and prov["operation"] == "detect"
    assert (labels[rr, cc] == 1).mean() > 0.5

    out = tmp_path / "mended.tif"
    assert main(["inpaint", str(path), "--mask", str(labels_path), "-o", str(out),
                 "--method", "telea"]) == 0
    mended, prov = read_image_tiff(out)
    assert mended.dtype == image.dtype
    np.testing.assert_array_equal(mended[labels == 0], image[labels == 0])
    assert prov["method"] == "telea" and prov["mask"]["changed_pixels"] == int((labels > 0).sum())


@pytest.mark.slow
def test_restore_writes_bundle_and_refuses_overwrite(scratched_tif, tmp_path, capsys):
    path, image, _ = scratched_tif
    out = tmp_path / "film.mend"
    args = ["restore", str(path), "-o", str(out), "--detector", "classical",
            "--fill", "biharmonic"]
    assert main(args) == 0
    bundle = read_bundle(out)
    np.testing.assert_array_equal(bundle.original, image)
    assert bundle.mended.shape == image.shape
    before = sorted(p.name for p in out.iterdir())
    assert main(args) == 2  # exists: refused
    assert "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before
    assert main(args + ["--overwrite"]) == 0


def test_restore_sample(tmp_path, capsys):
    out = tmp_path / "sample.tif"
    assert main(["restore", "--sample", "annotated_slice", "-o", str(out),
                 "--detector", "classical", "--fill", "biharmonic"]) == 0
    mended, prov = read_image_tiff(out)
    assert prov["operation"] == "restore" and mended.dtype == np.uint8
    assert "not looked for unattended" not in capsys.readouterr().err  # classical: all it finds


def test_unattended_restore_names_the_classes_it_leaves_out(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "sample.tif"
    assert main(["restore", "--sample", "annotated_slice", "-o", str(out),
                 "--fill", "biharmonic"]) == 0
    err = capsys.readouterr().err
    assert "not looked for unattended: scratch, dust, blotch, watermark, moire" in err
    assert main(["restore", "--sample", "annotated_slice", "-o", str(tmp_path / "all.tif"),
                 "--fill", "biharmonic", "--classes", "scratch", "text"]) == 0
    assert "not looked for" not in capsys.readouterr().err


@pytest.mark.slow
def test_restore_to_zarr_reads_tiles_and_writes_labels_beside(scratched_tif, tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    from napari_mend import blocks
    from napari_mend.restore import restore

    _, image, (rr, cc) = scratched_tif
    tiled = tmp_path / "tiled.tif"
    tifffile.imwrite(tiled, image, tile=(64, 64))
    out = tmp_path / "film.zarr"
    args = ["restore", str(tiled), "-o", str(out), "--detector", "classical", "--fill", "telea"]
    assert main(args) == 0
    labels_out = tmp_path / "film.labels.zarr"
    assert f"wrote {out} and {labels_out} (block by block): scratch" in capsys.readouterr().out
    expected = blocks.compute(*restore(open_lazy(tiled), detector="classical", fill="telea"))
    for path, want in zip((out, labels_out), expected):
        stored = zarr.open_array(str(path), mode="r")
        np.testing.assert_array_equal(stored[:], want)
        record = stored.attrs["provenance"]
        assert record["operation"] == "restore" and record["parameters"]["source"] == str(tiled)
    assert (expected[1][rr, cc] == 1).mean() > 0.5
    assert main(args) == 2  # exists: refused
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


@pytest.mark.slow
def test_large_tiffs_are_restored_block_by_block(scratched_tif, tmp_path, monkeypatch, capsys):
    pytest.importorskip("zarr")
    from napari_mend.batch import one_file
    from napari_mend.io import tiff
    from napari_mend import blocks
    from napari_mend.restore import restore

    monkeypatch.setattr(one_file, "IN_BLOCKS_ABOVE", 100 * 100)  # the 200 x 200 scan is "large"
    monkeypatch.setattr(tiff, "TILE", 64)
    path, image, (rr, cc) = scratched_tif
    expected_mended, expected_labels = blocks.compute(
        *restore(open_lazy(path), detector="classical", fill="telea"))
    options = ["--detector", "classical", "--fill", "telea"]
    out = tmp_path / "film_mended.tif"
    assert main(["restore", str(path), "-o", str(out), *options]) == 0
    assert "(block by block): scratch" in capsys.readouterr().out
    mended, prov = read_image_tiff(out)
    np.testing.assert_array_equal(mended, expected_mended)
    assert prov["parameters"]["chunk"] == blocks.DEFAULT_CHUNK
    assert prov["mask"]["changed_pixels"] == int((expected_labels > 0).sum())
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].is_tiled
    bundle_path = tmp_path / "film.mend"
    assert main(["restore", str(path), "-o", str(bundle_path), *options]) == 0
    assert "(block by block)" in capsys.readouterr().out
    bundle = read_bundle(bundle_path)
    np.testing.assert_array_equal(bundle.original, image)
    np.testing.assert_array_equal(bundle.labels, expected_labels)
    np.testing.assert_array_equal(bundle.mended, expected_mended)
    assert (expected_labels[rr, cc] == 1).mean() > 0.5
    # the work folders are gone; below the threshold the image is restored in memory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["film.mend", "film.tif",
                                                         "film_mended.tif"]
    monkeypatch.setattr(one_file, "IN_BLOCKS_ABOVE", 200 * 200)
    assert main(["restore", str(path), "-o", str(tmp_path / "small.tif"), *options]) == 0
    assert "block by block" not in capsys.readouterr().out
    assert "chunk" not in read_image_tiff(tmp_path / "small.tif")[1]["parameters"]


def test_an_input_is_never_the_output(scratched_tif, tmp_path, capsys):
    path, image, _ = scratched_tif
    mask = tmp_path / "mask.tif"
    tifffile.imwrite(mask, (image == 255).astype(np.uint8))
    for args in (["restore", str(path), "-o", str(path)],
                 ["inpaint", str(path), "--mask", str(mask), "-o", str(mask)],
                 ["restore", str(path), "-o", str(tmp_path / ".." / tmp_path.name / "film.tif")]):
        assert main(args + ["--overwrite"]) == 2
        assert "is an input of this command" in capsys.readouterr().err
    np.testing.assert_array_equal(tifffile.imread(path), image)
    assert tifffile.imread(mask).sum() == (image == 255).sum()


@pytest.mark.parametrize("content", [b"", b"II*\x00garbage", b"not an image at all"])
def test_corrupt_input_is_a_clear_error_and_writes_nothing(tmp_path, capsys, content):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(content)
    out = tmp_path / "out.tif"
    assert main(["restore", str(bad), "-o", str(out), "--detector", "classical"]) == 2
    err = capsys.readouterr().err
    assert "broken.tif" in err and "Traceback" not in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["broken.tif"]


def test_truncated_tiff(scratched_tif, tmp_path, capsys):
    path, _, _ = scratched_tif
    cut = tmp_path / "cut.tif"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert main(["detect", str(cut), "-o", str(tmp_path / "x.tif"), "--method",
                 "classical"]) == 2
    assert "cut.tif" in capsys.readouterr().err
    assert not (tmp_path / "x.tif").exists()


def test_help_explains_each_command():
    result = subprocess.run([sys.executable, "-m", "napari_mend.cli", "--help"],
                            capture_output=True, text=True, check=True)
    for command in ("detect", "inpaint", "restore", "demo", "train", "evaluate"):
        assert command in result.stdout


@pytest.mark.slow
def test_sigterm_removes_unfinished_outputs(tmp_path):
    """A run killed with SIGTERM (a scheduler's time limit) leaves neither its output nor its
    temporary folders, and exits with 128 + 15."""
    import signal
    import time

    image = np.tile(data.astronaut(), (4, 4, 1))  # 2048 x 2048: long enough to stop mid-way
    source = tmp_path / "in" / "big.tif"
    source.parent.mkdir()
    tifffile.imwrite(source, image)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "napari_mend.cli", "restore", str(source),
                            "-o", str(out_dir / "big.zarr")], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".tmp") for p in out_dir.iterdir()):
        assert run.poll() is None, "the run ended before it wrote anything"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGTERM, err
    assert "terminated; unfinished outputs were removed" in err
    assert list(out_dir.iterdir()) == []


def test_damaged_compressed_tiff_on_the_block_path_is_a_clear_error(tmp_path, capsys):
    image = (np.random.default_rng(0).random((512, 512)) * 255).astype(np.uint8)
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, image, tile=(256, 256), compression="zlib")
    raw = bytearray(good.read_bytes())
    with tifffile.TiffFile(good) as tif:
        start = tif.pages[0].dataoffsets[1]
    raw[start + 10:start + 400] = b"\x55" * 390
    bad = tmp_path / "bad.tif"
    bad.write_bytes(bytes(raw))
    out = tmp_path / "out.zarr"
    assert main(["restore", str(bad), "-o", str(out), "--detector", "classical",
                 "--fill", "biharmonic"]) == 2
    err = capsys.readouterr().err
    assert "bad.tif" in err and "damaged" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tif", "good.tif"]


def test_a_tiff_of_several_sizes_says_which_image_is_read(tmp_path):
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, data.camera()[:64, :64])
    tifffile.imwrite(path, data.camera()[:32, :48], append=True)
    with pytest.warns(UserWarning, match=r"2 images of different sizes.*\(64x64\).*\(32x48\)"):
        assert main(["restore", str(path), "-o", str(tmp_path / "r.zarr"), "--detector",
                     "classical", "--fill", "biharmonic"]) == 0  # block by block
    run = subprocess.run([sys.executable, "-m", "napari_mend.cli", "detect", str(path), "-o",
                          str(tmp_path / "d.tif"), "--method", "classical"],
                         capture_output=True, text=True)
    assert run.returncode == 0
    assert "napari-mend: note:" in run.stderr and "2 images of different sizes" in run.stderr
    assert "Traceback" not in run.stderr and "warnings.warn" not in run.stderr
