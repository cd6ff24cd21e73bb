"""Images that declare more pixels than the limits are refused before their pixels are read."""

import struct
import zlib

import numpy as np
import pytest
import tifffile
from skimage.io import imsave

from napari_mend import limits
from napari_mend._reader import read_layers
from napari_mend.cli.main import main
from napari_mend.io.tiff import read_image_tiff, write_image_tiff
from napari_mend.limits import LimitError


def tiff_bomb(path, side=50_000):
    """A 16 x 16 TIFF of a few hundred bytes whose tags declare ``side`` x ``side`` pixels."""
    write_image_tiff(path, np.zeros((16, 16), np.uint8), overwrite=True)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(side)
        tif.pages[0].tags["ImageLength"].overwrite(side)
    return path


def png_bomb(path, side=50_000):
    """A PNG of a few dozen bytes whose header declares ``side`` x ``side`` RGB pixels."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b""))
    return path


def test_tiff_bomb_is_refused_before_reading(sandbox, peak_bytes):
    bomb = tiff_bomb(sandbox.files / "bomb.tif")
    assert bomb.stat().st_size < 4096

    def read():
        with pytest.raises(LimitError, match="2,500,000,000 pixels per image plane.*"
                                             "NAPARI_MEND_MAX_PIXELS"):
            read_image_tiff(bomb)
    assert peak_bytes(read) < 16 * 2**20


def test_tiff_bomb_in_a_bundle_is_refused_by_the_reader(sandbox, make_bundle, peak_bytes):
    bundle = make_bundle(sandbox.files / "shared.mend")
    tiff_bomb(bundle / "original.tif")
    before = sandbox.snapshot()

    def read():
        with pytest.raises(ValueError, match="NAPARI_MEND_MAX_PIXELS"):
            read_layers(str(bundle))
    assert peak_bytes(read) < 16 * 2**20
    assert sandbox.snapshot() == before


def test_inpaint_refuses_a_mask_bomb(sandbox, capsys):
    image = sandbox.files / "in.png"
    imsave(image, np.zeros((32, 32), np.uint8), check_contrast=False)
    bomb = tiff_bomb(sandbox.files / "mask.tif")
    before = sandbox.snapshot()
    code = main(["inpaint", str(image), "--mask", str(bomb), "--method", "telea",
                 "-o", str(sandbox.files / "out.tif")])
    assert code == 2
    assert "NAPARI_MEND_MAX_PIXELS" in capsys.readouterr().err
    assert sandbox.snapshot() == before


def test_png_bomb_is_refused_from_its_header(sandbox, monkeypatch):
    bomb = png_bomb(sandbox.files / "bomb.png")
    with pytest.raises(LimitError, match="PIL.Image.MAX_IMAGE_PIXELS"):  # PIL's own limit first
        limits.check_image_file(bomb)
    monkeypatch.setattr("PIL.Image.MAX_IMAGE_PIXELS", None)
    with pytest.raises(LimitError, match="NAPARI_MEND_MAX_PIXELS"):
        limits.check_image_file(bomb)
    limits.check_image_file(sandbox.files)  # not an image: left to the reader


def test_limits_are_set_by_environment_variables(sandbox, monkeypatch):
    small = write_image_tiff(sandbox.files / "small.tif", np.zeros((16, 16), np.uint16))
    assert read_image_tiff(small)[0].shape == (16, 16)
    monkeypatch.setenv("NAPARI_MEND_MAX_PIXELS", "255")
    with pytest.raises(LimitError, match="256 pixels per image plane.*limit of 255"):
        read_image_tiff(small)
    monkeypatch.setenv("NAPARI_MEND_MAX_PIXELS", "256")
    monkeypatch.setenv("NAPARI_MEND_MAX_BYTES", "511")
    with pytest.raises(LimitError, match="512 bytes of image data.*NAPARI_MEND_MAX_BYTES"):
        read_image_tiff(small)
    monkeypatch.setenv("NAPARI_MEND_MAX_BYTES", "512")
    assert read_image_tiff(small)[0].shape == (16, 16)
    monkeypatch.setenv("NAPARI_MEND_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="NAPARI_MEND_MAX_BYTES='lots': give a positive integer"):
        read_image_tiff(small)


def test_large_json_files_are_refused(sandbox, make_bundle, monkeypatch):
    bundle = make_bundle(sandbox.files / "shared.mend")
    monkeypatch.setenv("NAPARI_MEND_MAX_JSON_BYTES", "16")
    with pytest.raises(ValueError, match="provenance.json: its size in bytes.*"
                                         "NAPARI_MEND_MAX_JSON_BYTES"):
        limits.read_json(bundle / "provenance.json")


def test_png_bomb_input_is_refused_from_its_header(sandbox, capsys, monkeypatch):
    bomb = png_bomb(sandbox.files / "bomb.png")
    monkeypatch.setattr("PIL.Image.MAX_IMAGE_PIXELS", None)  # napari-mend's own limit decides
    before = sandbox.snapshot()
    assert main(["detect", str(bomb), "-o", str(sandbox.files / "d.tif"),
                 "--method", "classical"]) == 2
    err = capsys.readouterr().err
    assert "NAPARI_MEND_MAX_PIXELS" in err and "Traceback" not in err
    assert sandbox.snapshot() == before
