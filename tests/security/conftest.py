"""A sandbox for hostile files: HOME and the user folders point into ``tmp_path``.

Everything napari-mend could write (user model folder, caches, config) then
lands inside ``tmp_path``, and :meth:`Sandbox.snapshot` of that tree before
and after an attack shows whether anything was written or changed.
"""

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest


class Sandbox:
    """``tmp_path`` with a fake home; :meth:`snapshot` maps each path under it to its contents."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.files = root / "files"  # where the tests put their hostile files

    def snapshot(self) -> dict:
        state = {}
        for folder, dirs, files in os.walk(self.root):
            for name in dirs + files:
                path = Path(folder) / name
                key = str(path.relative_to(self.root))
                if path.is_symlink():
                    state[key] = "-> " + os.readlink(path)
                elif path.is_file():
                    state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    state[key] = "dir"
        return state


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """HOME, XDG folders and the user model folder inside ``tmp_path``; no cached models."""
    from napari_mend.models import registry

    box = Sandbox(tmp_path)
    box.home.mkdir()
    box.files.mkdir()
    monkeypatch.setenv("HOME", str(box.home))
    for variable, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                          ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(variable, str(box.home / sub))
    monkeypatch.delenv("NAPARI_MEND_MODEL_DIR", raising=False)
    for name in ("MAX_PIXELS", "MAX_BYTES", "MAX_MODEL_BYTES", "MAX_JSON_BYTES", "MAX_PARAMS"):
        monkeypatch.delenv(f"NAPARI_MEND_{name}", raising=False)
    registry.clear_cache()
    yield box
    registry.clear_cache()


class Payload:
    """Pickled, runs code on load: writes ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('pwned')",)


@pytest.fixture
def payload(sandbox):
    """``(payload, marker)``: an object whose unpickling writes the file ``marker``."""
    marker = sandbox.files / "pwned"
    return Payload(marker), marker


@pytest.fixture
def make_bundle():
    """``make_bundle(path, shape=(16, 12))``: write a small valid bundle; return its folder."""
    import numpy as np

    from napari_mend.io.bundle import write_bundle

    def make(path, shape=(16, 12)):
        rng = np.random.default_rng(0)
        image = rng.integers(0, 255, shape, dtype=np.uint8)
        labels = np.zeros(shape, np.uint8)
        return write_bundle(path, original=image, labels=labels, mended=image.copy(),
                            provenance={"operation": "test"})

    return make


@pytest.fixture
def peak_bytes():
    """``peak_bytes(action)``: the most memory Python allocated while ``action()`` ran."""
    def measure(action) -> int:
        tracemalloc.start()
        try:
            action()
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return peak

    return measure
