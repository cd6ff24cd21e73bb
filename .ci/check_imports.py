"""Check the package's imports: no import circles, and imports inside functions only deferred.

Run from the repository root: ``python .ci/check_imports.py``; exit status 1 lists what to fix.

* A circle is any loop among ``napari_mend`` modules through their imports,
  wherever the import sits (module level or inside a function); importing
  ``a.b.c`` also counts as importing the packages ``a.b`` above it, whose
  ``__init__`` runs first.
* An import inside a function must say why it is deferred, with a comment on
  one of its lines that starts ``# deferred:`` (a heavy optional dependency such as
  torch or dask, or one only some commands need).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "napari_mend"


def modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package)."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def targets(node, module: str, is_package: bool, known) -> list[str]:
    """The package modules an import statement imports (packages above them included)."""
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")[: None if is_package else -1]
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        names = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source
                 for a in node.names]
    else:
        names = [a.name for a in node.names]
    out = set()
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            parts = name.split(".")
            out.update(".".join(parts[:k]) for k in range(2, len(parts) + 1))
    return sorted(t for t in out if t in known and t != module
                  and not module.startswith(t + "."))


def scan(known):
    """``(edges, undeferred)``: the import graph and the imports in functions lacking a reason."""
    edges, undeferred = defaultdict(set), []
    for module, (path, is_package) in known.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        in_function = set()
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function.update(id(n) for n in ast.walk(func)
                                   if isinstance(n, (ast.Import, ast.ImportFrom)))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            edges[module].update(targets(node, module, is_package, known))
            said = any("# deferred:" in line for line in lines[node.lineno - 1:node.end_lineno])
            if id(node) in in_function and not said:
                undeferred.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: "
                                  f"{ast.unparse(node)}")
    return edges, undeferred


def circles(edges) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def main() -> int:
    known = modules()
    edges, undeferred = scan(known)
    problems = [f"import circle: {' -> '.join(group)}" for group in circles(edges)]
    problems += [f"import inside a function without '# deferred: <why>': {u}"
                 for u in undeferred]
    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"imports: {len(known)} modules, no circles, every deferred import says why")
    return 0


if __name__ == "__main__":
    sys.exit(main())
