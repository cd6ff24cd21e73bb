"""The napari reader returns None for files it does not handle and raises only ValueError,
with a clear message, for the files it claims and cannot read."""

import json

import numpy as np
import pytest
import tifffile

from napari_mend._reader import get_reader, read_layers
from napari_mend.io.tiff import write_labels_tiff

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("field, value, match", [
    ("version", "1", "'version' must be an integer"),
    ("version", None, "'version' must be an integer"),
    ("version", [1], "'version' must be an integer"),
    ("class_names", [1, 2], "'class_names' must map"),
    ("class_names", {"one": "scratch"}, "'class_names' must map"),
    ("channel_axis", "last", "'channel_axis' must be an integer"),
    ("channel_axis", 9, "out of range"),
    ("channel_axis", True, "'channel_axis' must be an integer"),
    ("files", ["original.tif"], "'files' must map"),
    ("files", {"original": 5, "labels": "defects.tif", "provenance": "provenance.json"},
     "non-empty string"),
    ("files", {"original": "original.tif"}, "lists no labels file"),
    ("files", {"original": ["a"], "labels": "defects.tif", "provenance": "provenance.json"},
     "non-empty string"),
])
def test_malformed_bundle_json_raises_value_error(sandbox, make_bundle, field, value, match):
    bundle = make_bundle(sandbox.files / "shared.mend")
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest[field] = value
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    before = sandbox.snapshot()
    assert get_reader(str(bundle)) is read_layers
    with pytest.raises(ValueError, match=match) as info:
        read_layers(str(bundle))
    assert str(bundle) in str(info.value)
    assert sandbox.snapshot() == before


def test_layers_that_disagree_in_shape_are_refused(sandbox, make_bundle):
    bundle = make_bundle(sandbox.files / "shared.mend")
    write_labels_tiff(bundle / "defects.tif", np.zeros((8, 8), np.uint8), class_names={},
                      overwrite=True)
    assert get_reader(str(bundle)) is read_layers
    with pytest.raises(ValueError, match="inconsistent: labels shape"):
        read_layers(str(bundle))


def _not_ours(folder):
    """Files and folders napari-mend does not handle, each hostile in its own way."""
    deep = folder / "deep.mend"
    deep.mkdir()
    (deep / "bundle.json").write_text(DEEP)
    nested = folder / "nested.mend"
    nested.mkdir()
    (nested / "bundle.json").write_text(
        '{"format": "napari-mend-bundle", "version": 1, "files": ' + DEEP + "}")
    binary = folder / "binary.mend"
    binary.mkdir()
    (binary / "bundle.json").write_bytes(b"\xff\xfe\x00garbage")
    batch = folder / "batch"
    batch.mkdir()
    (batch / "manifest.json").write_text(DEEP)
    (folder / "notes.txt").write_text("hello")
    (folder / "garbage.tif").write_bytes(b"II*\0garbage")
    tifffile.imwrite(folder / "deep.tif", np.zeros((4, 4), np.uint8),
                     description='{"shape": [4, 4], "napari_mend": ' + DEEP + "}")
    tifffile.imwrite(folder / "bad-meta.tif", np.zeros((4, 4), np.uint8),
                     metadata={"napari_mend": {"format": "napari-mend-tiff", "version": 1,
                                               "kind": "image", "channel_axis": "last"}})
    return [deep, deep / "bundle.json", nested, binary, batch / "manifest.json",
            folder / "notes.txt", folder / "garbage.tif", folder / "deep.tif",
            folder / "bad-meta.tif", folder / "missing.tif", batch]


def test_files_it_does_not_handle_give_none(sandbox):
    paths = _not_ours(sandbox.files)
    before = sandbox.snapshot()
    for path in paths:
        assert get_reader(str(path)) is None, path
    assert get_reader([str(p) for p in paths]) is None
    assert sandbox.snapshot() == before
