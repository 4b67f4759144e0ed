"""The house rules, read off the source with ``ast``: the layout stays the one the docs describe.

- no module takes another module's private (``_``-prefixed) names;
- the front ends (command line, magics, panel) never import one another, and import only the public
  API: the package itself, ``values``, ``exceptions``, ``spec`` and their own shared helpers;
- the worker side imports only the standard library, cloudpickle and the annotations;
- no import cycle; no source file over 500 lines; nobody probes an engine with ``getattr``;
- importing any module of the core loads neither IPython, ipywidgets nor matplotlib.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

PACKAGE = "py3r.behaviour.script"
SOURCE = ROOT / "src" / "py3r" / "behaviour" / "script"
FRONT_ENDS = {"cli": "frontends.cli", "magics": "frontends.magics", "panel": "frontends.panel"}
#: What front ends may import of the library.
FRONT_END_MAY_IMPORT = ("", "values", "exceptions", "spec", "frontends.options")
#: What the worker side may import of the library (it runs in every iteration's process).
WORKER_MAY_IMPORT = ("param", "_types", "_worker")
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)  # relative to the package; "" is the package itself


MODULES = {_module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str | None:
    """The imported module, relative to the package; None outside it."""
    if node.level == 0:
        name = node.module or ""
        if name == PACKAGE:
            return ""
        return name[len(PACKAGE) + 1 :] if name.startswith(PACKAGE + ".") else None
    base = module.split(".") if module else []
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str, *, typing_too: bool = False) -> list[tuple[str | None, list[str], str | None, int]]:
    """``(library module or None, names, other top-level module, line)`` of each runtime import
    (and of each import for annotations only, with ``typing_too``)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child) and not typing_too:
                continue  # annotations only: no runtime dependency
            if isinstance(child, ast.ImportFrom):
                target = _resolve(module, child)
                names = [a.name for a in child.names]
                if target is not None and child.module is None and child.level and names:
                    # `from . import param`: a submodule, where one of that name exists.
                    subs = [f"{target}.{n}".strip(".") for n in names]
                    if all(s in MODULES for s in subs):
                        found.extend((s, [], None, child.lineno) for s in subs)
                        continue
                other = None if target is not None else (child.module or "").split(".")[0]
                found.append((target, names, other, child.lineno))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                        found.append((alias.name[len(PACKAGE) + 1 :], [], None, child.lineno))
                    else:
                        found.append((None, [], alias.name.split(".")[0], child.lineno))
            visit(child)

    visit(tree)
    return found


def _owner(target: str) -> str:
    """The module a relative import target names (a package's names live in its ``__init__``)."""
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def test_no_module_takes_another_modules_private_names():
    taken = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {name} from {target or PACKAGE}"
        for m in MODULES
        for target, names, _, line in _imports(m)
        if target is not None and _owner(target) != m
        for name in names
        if name.startswith("_") and name != "__version__"
    ]
    assert not taken, "Private names imported across modules:\n" + "\n".join(taken)


def test_front_ends_import_only_the_public_api_and_never_each_other():
    bad = []
    for label, prefix in FRONT_ENDS.items():
        for m in MODULES:
            if m != prefix and not m.startswith(prefix + "."):
                continue
            for target, _, _, line in _imports(m):
                if target is None or target == prefix or target.startswith(prefix + "."):
                    continue
                if target not in FRONT_END_MAY_IMPORT and not target.startswith("spec."):
                    bad.append(f"{label}: {MODULES[m].relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "\n".join(bad)


def test_the_worker_side_imports_only_the_standard_library_cloudpickle_and_the_annotations():
    allowed_third_party = {"cloudpickle", "IPython", "traitlets", "threadpoolctl"}  # the last three: lazily,
    # only for a notebook pipeline that uses IPython syntax, or to cap loaded BLAS pools
    bad = []
    for m in MODULES:
        if not m.startswith("_worker"):
            continue
        for target, _, other, line in _imports(m):
            if target is not None and not target.startswith(WORKER_MAY_IMPORT):
                bad.append(f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}")
            if other and other not in sys.stdlib_module_names and other not in allowed_third_party:
                bad.append(f"{MODULES[m].relative_to(ROOT)}:{line} imports {other}")
    assert not bad, "\n".join(bad)


def _defined_in(target: str, names: list[str]) -> set[str]:
    """What an import depends on: a name taken from the package's face is the module defining it."""
    if target != "" or not names:
        return {_owner(target)}
    import py3r.behaviour.script as pbs

    return {_owner(getattr(pbs, n).__module__[len(PACKAGE) + 1 :]) for n in names}


def test_no_import_cycle():
    """Not even through imports made for annotations only: the layers stand one above the other."""
    graph = {
        m: set().union(
            *(_defined_in(t, names) for t, names, _, _ in _imports(m, typing_too=True) if t is not None)
        )
        - {m}
        for m in MODULES
    }
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            cycle = " -> ".join([*path[path.index(m) :], m])
            pytest.fail(f"Import cycle: {cycle}")
        if m in done:
            return
        for n in sorted(graph[m]):
            visit(n, [*path, m])
        done.add(m)

    for m in MODULES:
        visit(m, [])


def test_no_source_file_is_over_500_lines():
    long = {
        str(p.relative_to(ROOT)): n for p in MODULES.values() if (n := len(p.read_text().splitlines())) > 500
    }
    assert not long, long


def test_nobody_probes_an_engine():
    probes = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and "engine" in ast.unparse(node.args[0]).lower()
            ):
                probes.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not probes, probes


def test_the_core_never_loads_ipython_ipywidgets_or_matplotlib():
    core = [
        f"{PACKAGE}.{m}" if m else PACKAGE
        for m in MODULES
        if not m.startswith("frontends") and m != "__main__"
    ]
    code = (
        "import importlib, json, sys\n"
        f"for m in {core!r}:\n    importlib.import_module(m)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in "
        "('IPython', 'ipywidgets', 'matplotlib'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
