"""A Griffe extension for this site: Sphinx roles in docstrings become Markdown cross-references.

The library's docstrings use roles such as :func:`run` and :meth:`save`, which read well in
``help()`` but which Markdown shows as they are. This extension rewrites each role in every
docstring: into a link when its target is an object the API reference renders (the ``:::``
lines of ``reference.md`` and their public members), into inline code otherwise. It also turns the
reStructuredText ``::`` that introduces a literal block into a plain colon.

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``); it changes
nothing in the source.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|mod|data|exc|obj):`(~?)([^`]+)`")
LITERAL_BLOCK = re.compile(r"(?<=\S)::(?=\n)")
REFERENCE = Path(__file__).with_name("reference.md")
PACKAGE = "py3r.behaviour.script"


def rendered_identifiers() -> set[str]:
    """The identifiers the reference page renders with ``::: identifier``."""
    text = REFERENCE.read_text(encoding="utf-8")
    return set(re.findall(r"^:::\s+(\S+)", text, flags=re.M))


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles into Markdown once the whole package is loaded."""

    def __init__(self) -> None:
        super().__init__()
        self.rendered = rendered_identifiers()

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.path != PACKAGE.split(".")[0]:
            return
        try:
            package = pkg[PACKAGE.split(".", 1)[1]]
        except KeyError:
            return
        self._visit(package, package)

    # Walking ---------------------------------------------------------------------------------------
    def _visit(self, obj: griffe.Object | griffe.Alias, package: Any) -> None:
        if obj.is_alias:
            return
        if obj.docstring is not None:
            obj.docstring.value = self._rewrite(obj.docstring.value, obj, package)
        for member in obj.members.values():
            if not member.is_alias:
                self._visit(member, package)

    def _rewrite(self, text: str, obj: Any, package: Any) -> str:
        def replace(match: re.Match[str]) -> str:
            role, tilde, target = match.groups()
            target = target.strip().lstrip(".")
            shown = target.rsplit(".", 1)[-1] if tilde else target
            if role in ("func", "meth"):
                shown += "()"
            path = self._resolve(target, role, obj, package)
            return f"[`{shown}`][{path}]" if path else f"`{shown}`"

        return LITERAL_BLOCK.sub(":", ROLE.sub(replace, text))

    # Resolving -------------------------------------------------------------------------------------
    def _resolve(self, target: str, role: str, obj: Any, package: Any) -> str | None:
        """The canonical path of ``target`` if the reference renders it, else None."""
        for candidate in self._candidates(target, role, obj, package):
            if self._is_rendered(candidate):
                return candidate
        return None

    def _candidates(self, target: str, role: str, obj: Any, package: Any) -> list[str]:
        found: list[str] = []
        head, _, rest = target.partition(".")
        # A method or attribute of the class the docstring belongs to (``:meth:`save```).
        owner = obj if obj.is_class else obj.parent
        if role in ("meth", "attr") and owner is not None and owner.is_class and target in owner.members:
            found.append(f"{owner.path}.{target}")
        # A public name of the package (``:func:`run```, ``:attr:`ScriptResults.errors```).
        if head in package.members:
            member = package.members[head]
            try:
                base = member.final_target.path if member.is_alias else member.path
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                base = None
            if base:
                found.append(f"{base}.{rest}" if rest else base)
        # A name of the module the docstring is in.
        module = obj.module
        if head in module.members and not module.members[head].is_alias:
            found.append(f"{module.path}.{target}")
        # A full dotted path.
        if target.startswith(f"{PACKAGE}."):
            found.append(self._canonical(target, package) or target)
        return found

    @staticmethod
    def _canonical(path: str, package: Any) -> str | None:
        parts = path[len(PACKAGE) + 1 :].split(".")
        try:
            member = package[".".join(parts)]
        except KeyError:
            return None
        try:
            return member.final_target.path if member.is_alias else member.path
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None

    def _is_rendered(self, path: str) -> bool:
        if path in self.rendered:
            return True
        parent, _, name = path.rpartition(".")
        return parent in self.rendered and not name.startswith("_")
