"""Paths read from bundle.json and batch manifests stay inside their folder; errors never
quote the contents of a file."""

import json
import os

import numpy as np
import pytest

from napari_mend._reader import get_reader, read_layers
from napari_mend.io.bundle import read_bundle
from napari_mend.io.confine import confined
from napari_mend.io.tiff import read_image_tiff, write_image_tiff
from napari_mend.batch.manifest import MANIFEST_NAME, build_manifest, manifest_bundles

SECRET = b"SECRET-TOKEN-0123456789 do not show"


@pytest.fixture
def outside(sandbox):
    """A valid napari-mend TIFF outside any bundle: what an attack would load."""
    return write_image_tiff(sandbox.files / "private.tif", np.full((16, 12), 7, np.uint8))


def test_confined_accepts_members_and_refuses_ways_out(tmp_path):
    root = tmp_path / "x.mend"
    (root / "sub").mkdir(parents=True)
    (root / "a.tif").write_bytes(b"")
    (tmp_path / "outside.tif").write_bytes(b"")
    os.symlink(root / "a.tif", root / "inner-link.tif")
    os.symlink(tmp_path / "outside.tif", root / "outer-link.tif")
    os.symlink(root / "sub", root / "sub-link")
    os.symlink(root / "loop1", root / "loop2")
    os.symlink(root / "loop2", root / "loop1")
    assert confined(root, "a.tif") == (root / "a.tif").resolve()
    assert confined(root, "sub/../a.tif") == (root / "a.tif").resolve()
    assert confined(root, "inner-link.tif") == (root / "a.tif").resolve()
    for member, match in [("../outside.tif", "outside the folder"),
                          ("sub/../../outside.tif", "outside the folder"),
                          ("outer-link.tif", "outside the folder"),
                          ("sub-link/../../outside.tif", "outside the folder"),
                          (".", "outside the folder"),
                          (str(tmp_path / "outside.tif"), "absolute"),
                          ("/etc/passwd", "absolute"),
                          ("loop1", "loop of symbolic links"),
                          ("", "non-empty string"),
                          (5, "non-empty string"),
                          ("a\0b", "non-empty string")]:
        with pytest.raises(ValueError, match=match):
            confined(root, member)


def _point_member(bundle, key, value):
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest["files"][key] = value
    (bundle / "bundle.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("attack", ["dot-dot", "absolute", "symlink"])
def test_bundle_members_outside_the_bundle_are_refused(sandbox, make_bundle, outside, attack):
    bundle = make_bundle(sandbox.files / "shared.mend")
    if attack == "dot-dot":
        _point_member(bundle, "original", "../private.tif")
    elif attack == "absolute":
        _point_member(bundle, "original", str(outside))
    else:
        (bundle / "original.tif").unlink()
        os.symlink(outside, bundle / "original.tif")
    before = sandbox.snapshot()
    match = "absolute" if attack == "absolute" else "outside the folder"
    with pytest.raises(ValueError, match=match):
        read_bundle(bundle)
    assert get_reader(str(bundle)) is read_layers  # ours, refused with a ValueError
    with pytest.raises(ValueError, match=match):
        read_layers(str(bundle))
    assert sandbox.snapshot() == before


def _write_manifest(folder, outputs):
    entries = [{"input": "x.png", "output": out, "status": "done", "error": None,
                "seconds": 0.0, "provenance": None} for out in outputs]
    manifest = build_manifest(entries, settings={}, started="now", finished="now")
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    return folder / MANIFEST_NAME


@pytest.mark.parametrize("attack", ["dot-dot", "absolute", "symlink"])
def test_manifest_bundles_outside_the_batch_folder_are_refused(sandbox, make_bundle, attack):
    elsewhere = make_bundle(sandbox.files / "elsewhere.mend")
    batch = sandbox.files / "batch"
    batch.mkdir()
    make_bundle(batch / "ok.mend")
    if attack == "dot-dot":
        output = "../elsewhere.mend"
    elif attack == "absolute":
        output = str(elsewhere)
    else:
        os.symlink(elsewhere, batch / "linked.mend")
        output = "linked.mend"
    manifest = _write_manifest(batch, ["ok.mend", output])
    before = sandbox.snapshot()
    match = "absolute" if attack == "absolute" else "outside the folder"
    with pytest.raises(ValueError, match=match):
        manifest_bundles(manifest)
    assert get_reader(str(manifest)) is read_layers
    with pytest.raises(ValueError, match=match):
        read_layers(str(manifest))
    assert sandbox.snapshot() == before


def test_manifest_bundles_inside_the_batch_folder_are_read(sandbox, make_bundle):
    batch = sandbox.files / "batch"
    batch.mkdir()
    make_bundle(batch / "a.mend")
    make_bundle(batch / "b.mend")
    manifest = _write_manifest(batch, ["b.mend", "a.mend"])
    assert [p.name for p in manifest_bundles(manifest)] == ["b.mend", "a.mend"]
    assert [layer[1]["name"] for layer in read_layers(str(manifest))][::3] == ["b", "a"]


@pytest.mark.parametrize("member", ["original.tif", "provenance.json"])
def test_errors_do_not_quote_foreign_files(sandbox, make_bundle, member):
    bundle = make_bundle(sandbox.files / "shared.mend")
    (bundle / member).write_bytes(SECRET)
    with pytest.raises(ValueError) as info:
        read_layers(str(bundle))
    assert member in str(info.value)
    assert "SECR" not in str(info.value) and "SECR" not in repr(info.value.__cause__)
    (sandbox.files / "x.tif").write_bytes(SECRET)
    with pytest.raises(ValueError) as info:
        read_image_tiff(sandbox.files / "x.tif")
    assert "SECR" not in str(info.value) and info.value.__cause__ is None
