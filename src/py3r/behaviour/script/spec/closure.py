"""The local-module closure of a script: the files beside it that it imports, followed from module to
module, each with a digest of its bytes.

What a stored result depends on besides the script itself (the run store keys on it). Imports are
read by the one parser (:func:`~py3r.behaviour.script.spec.parse.imported_names`), anywhere in a
file, functions included.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .model import ScriptSpec
from .parse import imported_names

__all__ = ["local_sources"]

#: Imported names of a local module's source, by the digest of its bytes.
_names_cache: dict[str, tuple[str, ...]] = {}


def _names(digest: str, data: bytes) -> tuple[str, ...]:
    names = _names_cache.get(digest)
    if names is None:
        if len(_names_cache) > 4096:
            _names_cache.clear()
        names = _names_cache[digest] = imported_names(data.decode("utf-8", "replace"))
    return names


def _module_files(base: Path, entries: set[str], name: str) -> list[Path]:
    """The files of a module beside the script: ``name.py``, a package ``name/`` or an extension."""
    if f"{name}.py" in entries and (base / f"{name}.py").is_file():
        return [base / f"{name}.py"]
    if name in entries and (base / name).is_dir():
        return sorted(
            f
            for f in (base / name).rglob("*.py")
            if not any(p == "__pycache__" or p.startswith(".") for p in f.relative_to(base).parts)
        )
    return sorted(base / e for e in entries if e.startswith(f"{name}.") and e.endswith(".so"))


def local_sources(spec: ScriptSpec) -> list[tuple[str, str]]:
    """``(path relative to the script's folder, sha256)`` of every local module the script uses.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.spec.closure import local_sources
    >>> [path for path, _ in local_sources(read_script("tests/scripts/local_class.py"))]
    ['helper_mod.py']
    """
    base = spec.path.parent
    todo = [*spec.local_modules, *spec.imported]
    try:
        entries = set(os.listdir(base))  # one listing, however many names are looked up
    except OSError:
        entries = set()
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for f in _module_files(base, entries, name):
            try:
                data = f.read_bytes()
            except OSError:
                continue
            digest = hashlib.sha256(data).hexdigest()
            found.append((f.relative_to(base).as_posix(), digest))
            if f.suffix == ".py":
                todo.extend(_names(digest, data))
    return sorted(found)
