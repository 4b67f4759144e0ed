"""What a script declares: its parameters, outputs and imports (:class:`ScriptSpec`).

Plain data with a text and an HTML repr; :func:`~py3r.behaviour.script.spec.read_script` makes one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._types import COMPUTED, MISSING
from .notebook import cell_at, locate

__all__ = ["ImportSpec", "OutputSpec", "ParamSpec", "ScriptSpec", "TypeName"]

#: The type names a parameter can have. "any" is a parameter whose default is ``None`` or that is
#: required: it accepts any scalar. "computed" is a default that is an expression.
TypeName = Literal["bool", "int", "float", "str", "any", "computed"]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a script, as declared at its ``Param`` call site."""

    name: str
    #: The literal default, ``MISSING`` when required, ``COMPUTED`` when it is an expression.
    default: Any
    #: Which values the parameter accepts.
    type: TypeName
    line: int
    col: int = 0
    #: The source text of the default expression ("" when required).
    default_source: str = ""

    @property
    def required(self) -> bool:
        """``True`` when the script gives no default: a value must always be supplied."""
        return self.default is MISSING

    @property
    def has_literal_default(self) -> bool:
        """``True`` when the default is a literal known without running the script."""
        return self.default is not MISSING and self.default is not COMPUTED

    def describe_default(self) -> str:
        """The default as ``inspect`` shows it."""
        if self.default is MISSING:
            return "required"
        if self.default is COMPUTED:
            return f"default=<computed at run time: {self.default_source}>"
        return f"default={self.default!r}"


@dataclass(frozen=True)
class OutputSpec:
    """One output name of a script; a name may stand at several call sites."""

    name: str
    #: Every line where an ``Output`` call with this name stands, in source order.
    lines: tuple[int, ...]

    @property
    def line(self) -> int:
        """The line of the first call site."""
        return self.lines[0]


@dataclass(frozen=True)
class ImportSpec:
    """A module the script imports at top level (the warm engine preloads these)."""

    module: str
    #: For ``from module import a, b``: the names, some of which may be submodules.
    names: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class ScriptSpec:
    """Everything known about a script without running it.

    Build one with :func:`read_script`. ``str(spec)`` gives the text table of parameters and
    outputs; in a notebook the spec renders as an HTML table.
    """

    path: Path
    #: The path as the user gave it, for messages and ``inspect``'s header.
    display_path: str
    source: str
    params: dict[str, ParamSpec]
    outputs: dict[str, OutputSpec]
    imports: tuple[ImportSpec, ...] = ()
    #: Top-level module names that resolve to files beside the script (never preloaded).
    local_modules: tuple[str, ...] = ()
    #: The top-level name of every module the script imports anywhere (in functions too).
    imported: tuple[str, ...] = ()
    #: Free-form extra data of other front ends (notebook cell maps).
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def param_names(self) -> list[str]:
        """Parameter names in source order."""
        return list(self.params)

    @property
    def output_names(self) -> list[str]:
        """Output names in source order (first call site)."""
        return list(self.outputs)

    def where(self, line: int) -> str:
        """``'pipeline.py, line 12'``, or ``'pipeline.ipynb, cell 3 (id …), line 2'``: a place."""
        return locate(self.display_path, self.extra.get("cells"), line)

    def cell_of(self, line: int) -> str | None:
        """For a notebook, ``'cell 3'`` (with its id where it has one) holding ``line``; else None."""
        cells = self.extra.get("cells")
        if not cells:
            return None
        cell, _ = cell_at(cells, line)
        return f"cell {cell['index']}" + (f" (id {cell['id']})" if cell.get("id") else "")

    def reference_text(self) -> str:
        """The layout :func:`inspect` prints."""
        lines = [f"Script: {self.display_path}", "", "Parameters:"]
        for p in self.params.values():
            where = f"  [{self.cell_of(p.line)}]" if self.extra.get("cells") else ""
            if p.required:
                lines.append(f"  {p.name:<20} required{where}")
            else:
                lines.append(f"  {p.name:<20} {p.describe_default():<18}  type={p.type}{where}")
        if not self.params:
            lines.append("  (none)")
        lines += ["", "Outputs:"]
        for o in self.outputs.values():
            where = (
                f"  [{', '.join(dict.fromkeys(str(self.cell_of(n)) for n in o.lines))}]"
                if self.extra.get("cells")
                else ""
            )
            lines.append(f"  {o.name}{where}")
        if not self.outputs:
            lines.append("  (none)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.reference_text()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.reference_text())

    def _line(self, line: int) -> str:
        return self.where(line).split(", ", 1)[1] if self.extra.get("cells") else str(line)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td><code>{esc(p.name)}</code></td>"
            f"<td>{'' if p.required else esc(p.describe_default().removeprefix('default='))}</td>"
            f"<td>{esc(p.type)}</td><td>{'yes' if p.required else ''}</td>"
            f"<td>{esc(self._line(p.line))}</td></tr>"
            for p in self.params.values()
        )
        outs = "".join(
            f"<tr><td><code>{esc(o.name)}</code></td><td>{esc(', '.join(map(self._line, o.lines)))}</td></tr>"
            for o in self.outputs.values()
        )
        return (
            f"<div class='py3r-spec'><p><b>Script:</b> <code>{esc(self.display_path)}</code></p>"
            "<table><thead><tr><th>parameter</th><th>default</th><th>type</th><th>required</th>"
            f"<th>line</th></tr></thead><tbody>{rows}</tbody></table>"
            "<table><thead><tr><th>output</th><th>line</th></tr></thead>"
            f"<tbody>{outs}</tbody></table></div>"
        )
