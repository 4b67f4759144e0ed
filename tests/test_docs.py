"""The documentation site: it builds in strict mode, its links resolve, and Troubleshooting keeps up.

Troubleshooting must cover the library's failure vocabulary: every public exception and warning
class, every exception class the package defines, every exception type it raises, every warning
category it emits, every iteration status and failure kind, and the text of every message it
raises, warns or records. The source is read with ``ast``, so a new message fails this test until
the page explains it.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import py3r.behaviour.script as pbs
from helpers import ROOT
from py3r.behaviour.script import iteration

DOCS = ROOT / "docs"
SOURCE = ROOT / "src" / "py3r" / "behaviour" / "script"
TROUBLESHOOTING = DOCS / "troubleshooting.md"

#: Raised only for states the code rules out, or for control flow (the command line's exit status).
NOT_USER_FACING_TYPES = {"AssertionError", "KeyboardInterrupt", "SystemExit"}
#: Message text of internal checks that the public API makes first, with its own message.
NOT_USER_FACING_TEXT: set[str] = set()
#: Variables that hold a part of a message before it is raised, warned or recorded.
MESSAGE_PARTS = {"message", "problem", "why"}
#: Literal fragments shorter than this are too generic to look for.
MIN_FRAGMENT = 12


def _page() -> str:
    return TROUBLESHOOTING.read_text(encoding="utf-8")


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(SOURCE.rglob("*.py"))]


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _fragments(node: ast.expr) -> list[str]:
    """The literal text of a message: a string, the constant parts of an f-string, concatenations."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(node, ast.BinOp):
        return _fragments(node.left) + _fragments(node.right)
    return []


def _is_exception_type(name: str, defined: set[str]) -> bool:
    if name in defined:
        return True
    obj = getattr(builtins, name, None)
    return isinstance(obj, type) and issubclass(obj, BaseException)


# (a) The site builds -------------------------------------------------------------------------------
def test_site_builds_in_strict_mode(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stdout}\n{out.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "troubleshooting" / "index.html").is_file()
    # The API reference was generated from the docstrings, not left empty.
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    idents = ("sensitivity", "ScriptResults", "plot_results", "SweepPanel")
    for ident in idents:
        assert f'id="py3r.behaviour.script.{ident}"' in reference, ident


# (b) Troubleshooting covers the failure vocabulary -------------------------------------------------
def test_public_exception_and_warning_classes_are_explained():
    page = _page()
    public = [
        name
        for name in pbs.__all__
        if name in ("IterationFailedWarning", "StoreWarning", "SweepInterruptedWarning")
        or (isinstance(getattr(pbs, name), type) and issubclass(getattr(pbs, name), Exception))
    ]
    assert public, "the package exports no exception or warning class?"
    missing = [name for name in public if not re.search(rf"\b{name}\b", page)]
    assert not missing, f"troubleshooting.md does not explain: {missing}"


def test_exception_classes_defined_in_the_package_are_explained():
    trees = _trees()
    defined: set[str] = set()
    changed = True
    while changed:  # classes deriving from exceptions, also through each other
        changed = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in defined:
                    bases = [b for b in map(_name, node.bases) if b]
                    if any(_is_exception_type(b, defined) for b in bases):
                        defined.add(node.name)
                        changed = True
    public = sorted(n for n in defined if not n.startswith("_"))
    assert "WorkerStartError" in public and "IterationFailedWarning" in public
    page = _page()
    missing = [name for name in public if not re.search(rf"\b{name}\b", page)]
    assert not missing, f"troubleshooting.md does not mention these exception classes: {missing}"


def test_raised_exception_types_and_warning_categories_are_explained():
    raised: set[str] = set()
    categories: set[str] = set()
    for _, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                name = _name(target)
                if name and name[0].isupper() and not name.startswith("_"):
                    raised.add(name)
            elif isinstance(node, ast.Call) and _name(node.func) == "warn" and len(node.args) >= 2:
                name = _name(node.args[1])
                if name and name[0].isupper():  # a class, not the variable of a helper that passes it on
                    categories.add(name)
    assert {"ValueError", "TypeError", "SyntaxError"} <= raised
    assert {"IterationFailedWarning", "SweepInterruptedWarning", "StoreWarning"} <= categories
    page = _page()
    wanted = sorted((raised - NOT_USER_FACING_TYPES) | categories)
    missing = [name for name in wanted if not re.search(rf"\b{name}\b", page)]
    assert not missing, f"troubleshooting.md does not mention: {missing}"


def _recorded_kinds_and_statuses() -> tuple[set[str], set[str]]:
    """Failure kinds and iteration statuses the code records, as literals in the source.

    Kinds: the first argument of ``Failure(...)`` and of the child's ``fail(...)``, and the
    ``"kind"`` of the error messages a child sends. Statuses: ``Iteration(status=...)``.
    """
    kinds: set[str] = set()
    statuses: set[str] = set()
    for _, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                first = node.args[0] if node.args else None
                if name in ("Failure", "fail") and isinstance(first, ast.Constant):
                    kinds.add(first.value)
                if name == "Iteration":
                    statuses.update(
                        k.value.value
                        for k in node.keywords
                        if k.arg == "status" and isinstance(k.value, ast.Constant)
                    )
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    is_kind = isinstance(key, ast.Constant) and key.value == "kind"
                    if is_kind and isinstance(value, ast.Constant):
                        kinds.add(value.value)
    return kinds, statuses


def test_iteration_statuses_and_failure_kinds_are_explained():
    statuses = set(typing.get_args(iteration.Status))
    kinds = set(typing.get_args(iteration.FailureKind))
    assert {"ok", "failed", "cancelled"} <= statuses
    assert {"exception", "exit", "signal", "timeout", "missing_outputs", "worker"} <= kinds
    # What the code records must be among the declared values, so that checking those is enough.
    recorded_kinds, recorded_statuses = _recorded_kinds_and_statuses()
    assert {"unpicklable", "too_large", "cancelled"} <= recorded_kinds
    assert recorded_kinds <= kinds, f"failure kinds recorded but not declared: {recorded_kinds - kinds}"
    undeclared = recorded_statuses - statuses
    assert not undeclared, f"statuses recorded but not declared: {undeclared}"
    page = _page()
    missing = [value for value in sorted(statuses | kinds) if f"`{value}`" not in page]
    assert not missing, f"troubleshooting.md does not explain these statuses or failure kinds: {missing}"


def test_every_message_text_is_in_troubleshooting():
    """The literal text of every raised, warned or recorded message appears on the page.

    For each message, the longest constant part (of a string or an f-string) must be quoted.
    """
    page = _normalised(_page())
    missing = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            message = None
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                message = node.exc.args[0]
            elif isinstance(node, ast.Call):
                name = _name(node.func)
                if name in ("Failure", "fail") and len(node.args) >= 2:
                    message = node.args[1]
                elif name == "warn" and node.args:
                    message = node.args[0]
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in MESSAGE_PARTS for t in node.targets
            ):
                message = node.value  # a part a message is built from
            if message is None:
                continue
            fragments = [_normalised(f) for f in _fragments(message)]
            fragments = [f for f in fragments if len(f) >= MIN_FRAGMENT]
            if not fragments:
                continue
            longest = max(fragments, key=len)
            if longest not in page and longest not in NOT_USER_FACING_TEXT:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {longest!r}")
    assert not missing, "troubleshooting.md does not quote these messages:\n" + "\n".join(missing)


# (c) Relative links point to files that exist ------------------------------------------------------
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_LINK = re.compile(r"""<(?:a|img|source)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)


def _relative_links(path: Path) -> list[str]:
    text = _CODE_SPAN.sub("", _FENCE.sub("", path.read_text(encoding="utf-8")))
    links = []
    for target in [*_LINK.findall(text), *_HTML_LINK.findall(text)]:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue  # a URL, an anchor on the same page, or a site-absolute path
        links.append(target)
    return links


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    broken = []
    for target in _relative_links(path):
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if not file_part:
            continue
        if not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to files that do not exist: {broken}"


def test_link_checker_sees_links():
    """The link checker finds ordinary links and ignores code (so the test above is not vacuous)."""
    readme_links = _relative_links(ROOT / "README.md")
    assert "docs/performance.md" in readme_links
    assert any(t.endswith(".png") for t in _relative_links(DOCS / "how-to" / "panel.md"))  # ![...](...)
    assert any(t.startswith("how-to/") for t in _relative_links(DOCS / "index.md"))
