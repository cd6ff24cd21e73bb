"""Temporaries left by killed runs are removed when provably abandoned, and only then."""

import os
import subprocess

import numpy as np
import tifffile

from napari_mend.cli.main import main
from napari_mend.io import atomic


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _left_by(path, pid, host=None):
    name = atomic.temporary_name(path).name.replace(f"-{os.getpid()}-", f"-{pid}-")
    if host is not None:
        name = name.replace(f".nm{atomic._HOST}-", f".nm{host}-")
    leftover = path.parent / name
    leftover.write_bytes(b"half-written")
    return leftover


def test_a_command_removes_its_outputs_abandoned_temporaries_only(tmp_path):
    out = tmp_path / "scan.tif"
    abandoned = _left_by(out, _dead_pid())
    running = _left_by(out, os.getpid())  # a write in progress in a live process
    other_host = _left_by(out, _dead_pid(), host="0" * 8)  # a shared folder: not provably ours
    other_output = _left_by(tmp_path / "other.tif", _dead_pid())  # another output's
    foreign = tmp_path / ".scan.tif.12345678.tmp"  # not napari-mend's pattern
    foreign.write_bytes(b"someone else's")
    tifffile.imwrite(tmp_path / "in.tif", np.full((16, 16), 90, np.uint8))
    tifffile.imwrite(tmp_path / "mask.tif", np.eye(16, dtype=np.uint8))
    assert main(["inpaint", str(tmp_path / "in.tif"), "--mask", str(tmp_path / "mask.tif"),
                 "-o", str(out), "--method", "biharmonic"]) == 0
    assert not abandoned.exists()
    assert running.exists() and other_host.exists() and other_output.exists() and foreign.exists()


def test_remove_stale_in_a_folder(tmp_path):
    leftovers = [_left_by(tmp_path / f"{n}.mend", _dead_pid()) for n in "ab"]
    (leftovers[0].parent / "keep.txt").write_text("x")
    assert sorted(atomic.remove_stale(tmp_path)) == sorted(leftovers)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
