"""The package's import structure: no circles, deferred imports justified, a cheap top level."""

import importlib.util
import subprocess
import sys
from pathlib import Path

CHECK = Path(__file__).resolve().parent.parent / ".ci" / "check_imports.py"


def _checker():
    spec = importlib.util.spec_from_file_location("check_imports", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_import_circles_and_every_deferred_import_says_why(capsys):
    assert _checker().main() == 0, capsys.readouterr().out


def test_the_checker_finds_a_circle_through_a_package_init():
    check = _checker()
    known = {"napari_mend": None, "napari_mend.a": None, "napari_mend.b": None,
             "napari_mend.b.c": None}
    edges = {"napari_mend.a": set(check.targets(
        __import__("ast").parse("from napari_mend.b.c import x").body[0], "napari_mend.a",
        False, known))}
    edges["napari_mend.b"] = {"napari_mend.a"}
    edges.setdefault("napari_mend.b.c", set())
    assert ["napari_mend.a", "napari_mend.b"] in check.circles(edges)


def test_import_napari_mend_loads_no_heavy_module():
    code = ("import sys, napari_mend; heavy = [m for m in ('torch', 'dask', 'sklearn', 'napari', "
            "'napari_mend.restore', 'napari_mend.detection.api') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    names = subprocess.run([sys.executable, "-c", "import napari_mend as nm; "
                            "print(nm.restore.__module__, nm.teach.__name__)"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert names == ["napari_mend.restore", "teach"]
