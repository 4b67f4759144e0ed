"""What a script declares: its parameters, outputs and imports (:class:`ScriptSpec`).

Plain data with a text and an HTML repr; :func:`~py3r.behaviour.script.spec.read_script` makes one.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._types import COMPUTED, MISSING
from .notebook import cell_at, cell_label, locate, place

__all__ = ["ImportSpec", "OutputSpec", "ParamSpec", "ScriptSpec", "TypeName"]

#: Limits and descriptions in ``inspect``'s lines are aligned after the reference's columns, unless
#: those are wider than this (a long computed default).
_WIDEST = 80

#: The type names a parameter can have. "any" is a parameter whose default is ``None`` or that is
#: required: it accepts any scalar. "computed" is a default that is an expression.
TypeName = Literal["bool", "int", "float", "str", "any", "computed"]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a script, as declared at its ``Param`` call site.

    Attributes
    ----------
    name : str
        The parameter's name.
    default : object
        The literal default; ``MISSING`` when required, ``COMPUTED`` when it is an expression.
    type : str
        ``"bool"``, ``"int"``, ``"float"``, ``"str"``, ``"any"`` (a ``None`` default, or none) or
        ``"computed"``: which values the parameter accepts.
    line, col : int
        Where the ``Param`` call stands.
    default_source : str
        The source text of the default expression.
    low, high : int or float or None
        Inclusive bounds declared with ``low=``/``high=`` (floats for a float parameter).
    step : int or float or None
        The spacing of sensible values (``step=``): a hint for sliders and grids, never enforced.
    choices : tuple or None
        The values allowed (``choices=``), in the parameter's type, each once.
    doc : str or None
        What the parameter means: ``doc=``, else the comment on the ``Param`` line or the
        comment line right above it.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> p = read_script("examples/open_field/pipeline.py").params["smooth_window"]
    >>> p.low, p.high, p.step, p.doc
    (1, 51, 2, 'frames in the centred rolling window')
    >>> p.describe_limits()
    'range=[1, 51]  step=2'
    """

    name: str
    #: The literal default, ``MISSING`` when required, ``COMPUTED`` when it is an expression.
    default: Any
    #: Which values the parameter accepts.
    type: TypeName
    line: int
    col: int = 0
    #: The source text of the default expression ("" when required).
    default_source: str = ""
    #: Inclusive lower bound of a number (``low=``), or None.
    low: int | float | None = None
    #: Inclusive upper bound of a number (``high=``), or None.
    high: int | float | None = None
    #: The spacing of sensible values (``step=``): a hint for sliders and grids, not a constraint.
    step: int | float | None = None
    #: The values allowed (``choices=``), or None for any value of the type.
    choices: tuple[Any, ...] | None = None
    #: What the parameter means: ``doc=``, else the comment on its line or the line above.
    doc: str | None = None

    @property
    def required(self) -> bool:
        """``True`` when the script gives no default: a value must always be supplied."""
        return self.default is MISSING

    @property
    def has_literal_default(self) -> bool:
        """``True`` when the default is a literal known without running the script."""
        return self.default is not MISSING and self.default is not COMPUTED

    @property
    def has_range(self) -> bool:
        """``True`` when ``low`` and ``high`` are both declared and finite (``high=inf`` is no range)."""
        return (
            self.low is not None
            and self.high is not None
            and math.isfinite(self.low)
            and math.isfinite(self.high)
        )

    @property
    def limited(self) -> bool:
        """``True`` when ``low``, ``high`` or ``choices`` restrict the values allowed."""
        return self.low is not None or self.high is not None or self.choices is not None

    def describe_limits(self) -> str:
        """``range=[1, 51]``, ``low=0`` or ``choices=['mean', 'median']``, and ``step=2``: for ``inspect``."""
        parts = []
        if self.choices is not None:
            parts.append(f"choices={list(self.choices)!r}")
        elif self.low is not None and self.high is not None:
            parts.append(f"range=[{self.low!r}, {self.high!r}]")
        elif self.low is not None:
            parts.append(f"low={self.low!r}")
        elif self.high is not None:
            parts.append(f"high={self.high!r}")
        if self.step is not None:
            parts.append(f"step={self.step!r}")
        return "  ".join(parts)

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
        return cell_label(cell["index"], cell.get("id"))

    def reference_text(self) -> str:
        """The layout :func:`inspect` prints: the reference's columns, then limits and description."""
        lines = [f"Script: {self.display_path}", "", "Parameters:"]
        rows = []
        for p in self.params.values():
            where = f"  [{self.cell_of(p.line)}]" if self.extra.get("cells") else ""
            if p.required:
                line = f"  {p.name:<20} required{where}"
            else:
                line = f"  {p.name:<20} {p.describe_default():<18}  type={p.type}{where}"
            rows.append((line, p.describe_limits(), f"# {p.doc}" if p.doc else ""))
        # The reference's columns as they were; what it did not know follows, in aligned columns.
        width = max((len(r[0]) for r in rows if (r[1] or r[2]) and len(r[0]) <= _WIDEST), default=0)
        limits = max((len(r[1]) for r in rows if r[2] and len(r[1]) <= _WIDEST // 2), default=0)
        for line, limit, doc in rows:
            if not (limit or doc):
                lines.append(line)
            else:
                lines.append(f"{line:<{width}}  {limit:<{limits if doc else 0}}  {doc}".rstrip())
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
        cells = self.extra.get("cells")
        return place(cells, line) if cells else str(line)

    def _repr_html_(self) -> str:
        esc = html.escape
        meta = any(p.limited or p.step is not None or p.doc for p in self.params.values())
        rows = "".join(
            f"<tr><td><code>{esc(p.name)}</code></td>"
            f"<td>{'' if p.required else esc(p.describe_default().removeprefix('default='))}</td>"
            f"<td>{esc(p.type)}</td><td>{'yes' if p.required else ''}</td>"
            f"<td>{esc(self._line(p.line))}</td>"
            + (f"<td>{esc(p.describe_limits())}</td><td>{esc(p.doc or '')}</td>" if meta else "")
            + "</tr>"
            for p in self.params.values()
        )
        outs = "".join(
            f"<tr><td><code>{esc(o.name)}</code></td><td>{esc(', '.join(map(self._line, o.lines)))}</td></tr>"
            for o in self.outputs.values()
        )
        return (
            f"<div class='py3r-spec'><p><b>Script:</b> <code>{esc(self.display_path)}</code></p>"
            "<table><thead><tr><th>parameter</th><th>default</th><th>type</th><th>required</th>"
            f"<th>line</th>{'<th>allowed</th><th>description</th>' if meta else ''}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            "<table><thead><tr><th>output</th><th>line</th></tr></thead>"
            f"<tbody>{outs}</tbody></table></div>"
        )
