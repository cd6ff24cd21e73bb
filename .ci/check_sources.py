"""Source checks for code that reads files napari-mend did not write (stdlib only).

Usage: ``python .ci/check_sources.py [ROOT]`` (ROOT defaults to the repository
holding this script). Every ``*.py`` file under ``ROOT/src`` is parsed (with
:mod:`ast`, so comments and strings never match) and these are reported as
``path:line: message``; the exit status is 1 if any was found, else 0.

1. ``torch.load(...)`` without the keyword ``weights_only=True`` (a literal
   ``True``): anything else can unpickle code from the file.
2. Loaders that run code from the data: ``pickle``/``cPickle``/``cloudpickle``/
   ``dill``/``joblib`` ``load``, ``loads`` or ``Unpickler``, ``yaml.load`` and
   ``yaml.unsafe_load`` (``yaml.safe_load`` is fine), and ``numpy.load`` with
   ``allow_pickle=True``. Calls are matched by the last two names of the
   called expression (``pickle.load``, ``np.load``), so ``from pickle import
   load`` followed by ``load(f)`` is not caught: imports of these names are
   reported instead.
3. Path joins on values read from file contents, in the modules listed in
   :data:`CONFINED_MODULES` (readers of bundles, manifests and model files):
   a ``/`` join, ``Path(...)``, ``os.path.join(...)`` or ``.joinpath(...)``
   whose operand looks a value up in a mapping (``x["key"]``, ``x.get("key")``,
   ``x[k]``) other than a module constant (an upper-case name such as
   ``_FILES``). Such values must go through ``io.confine.confined(root,
   member)``, which is a call, not a join, and so is not reported. This is a
   heuristic: a value read from JSON into a plain variable first, then
   joined, is not caught; review keeps that from happening.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CONFINED_MODULES = (
    "src/napari_mend/io/bundle.py",
    "src/napari_mend/batch/manifest.py",
    "src/napari_mend/_reader.py",
    "src/napari_mend/models/package.py",
)
"""Modules that read paths from files other people send (rule 3 applies to them)."""
PICKLERS = {"pickle", "cPickle", "cloudpickle", "dill", "joblib"}
UNSAFE = {**{(m, f): f"{m}.{f} runs code from the file; store plain data (JSON, weights-only "
                     "torch files) instead"
             for m in PICKLERS for f in ("load", "loads", "Unpickler")},
          ("yaml", "load"): "yaml.load can build arbitrary objects; use yaml.safe_load",
          ("yaml", "unsafe_load"): "yaml.unsafe_load can build arbitrary objects; use "
                                   "yaml.safe_load"}


def dotted(node) -> tuple[str, ...]:
    """``('torch', 'load')`` for ``torch.load``; the names of an attribute chain."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return tuple(reversed(names))


def keyword_is_true(call: ast.Call, name: str) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in call.keywords)


def check_call(call: ast.Call) -> str | None:
    """The problem with a call of rules 1 and 2, or None."""
    tail = dotted(call.func)[-2:]
    if tail == ("torch", "load") and not keyword_is_true(call, "weights_only"):
        return "torch.load without weights_only=True unpickles code from the file"
    if tail in UNSAFE:
        return UNSAFE[tail]
    if tail in (("np", "load"), ("numpy", "load")) and keyword_is_true(call, "allow_pickle"):
        return "numpy.load with allow_pickle=True unpickles code from the file"
    return None


def check_import(node: ast.ImportFrom) -> str | None:
    """Rule 2 for ``from pickle import load`` (the call itself cannot be told apart later)."""
    names = {alias.name for alias in node.names}
    if node.module in PICKLERS and names & {"load", "loads", "Unpickler"}:
        return f"importing load functions from {node.module}: they run code from the file"
    if node.module == "yaml" and names & {"load", "unsafe_load"}:
        return "importing yaml.load: it can build arbitrary objects; use yaml.safe_load"
    return None


def is_lookup(node) -> bool:
    """Whether ``node`` contains a mapping lookup other than of an upper-case constant."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and not is_constant_name(sub.value):
            return True
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "get" and not is_constant_name(sub.func.value)):
            return True
    return False


def is_constant_name(node) -> bool:
    return isinstance(node, ast.Name) and node.id.lstrip("_").isupper()


def check_join(node) -> str | None:
    """Rule 3: a path join on a looked-up value."""
    message = ("path joined from a looked-up value (file contents?); resolve it with "
               "napari_mend.io.confine.confined(root, member)")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and is_lookup(node.right):
        return message
    if isinstance(node, ast.Call):
        name = dotted(node.func)
        if name[-1:] in (("Path",), ("joinpath",)) or name[-3:] == ("os", "path", "join"):
            if any(is_lookup(arg) for arg in node.args):
                return message
    return None


def check_file(path: Path, root: Path) -> list[str]:
    """Problems found in one source file, as ``path:line: message``."""
    relative = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    confine = relative in CONFINED_MODULES
    problems = []
    for node in ast.walk(tree):
        problem = None
        if isinstance(node, ast.Call):
            problem = check_call(node)
        elif isinstance(node, ast.ImportFrom):
            problem = check_import(node)
        if problem is None and confine:
            problem = check_join(node)
        if problem is not None:
            problems.append((node.lineno, f"{relative}:{node.lineno}: {problem}"))
    return [message for _, message in sorted(problems)]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    problems = [p for path in sorted((root / "src").rglob("*.py")) for p in check_file(path, root)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
