"""Discovery: one parse of a script gives a :class:`ScriptSpec`.

The spec is the single description of a script that every layer reads: ``inspect``, value
checking, ``run``/``sensitivity``, the warm engine (which imports to preload), the CLI, the magics
and the panel. Nothing else parses a script.

The walk is a single in-order traversal of the tree. Call sites are resolved against the script's
imports after the walk, so ``Param`` imported inside a function, or under an alias, is still found.
"""

from __future__ import annotations

import ast
import html
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._types import COMPUTED, MISSING, ScriptPath

__all__ = [
    "ImportSpec",
    "OutputSpec",
    "ParamSpec",
    "ScriptSpec",
    "discover_outputs",
    "discover_params",
    "read_script",
    "validate_names",
]

#: CPython 3.11's AST conversion is not safe in several threads at once ("AST constructor recursion
#: depth mismatch"); parses run one at a time (they take a millisecond).
_AST_LOCK = threading.Lock()

_PACKAGE = "py3r.behaviour.script"
_ANNOTATION_MODULES = (_PACKAGE, f"{_PACKAGE}.param")

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
        return _locate(self.display_path, self.extra.get("cells"), line)

    def cell_of(self, line: int) -> str | None:
        """For a notebook, ``'cell 3'`` (with its id where it has one) holding ``line``; else None."""
        cells = self.extra.get("cells")
        if not cells:
            return None
        cell, _ = _cell_at(cells, line)
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


class _Site:
    """A call that may be ``Param``/``Output``, recorded during the walk and resolved after it."""

    __slots__ = ("call", "callee")

    def __init__(self, callee: tuple[str, ...], call: ast.Call) -> None:
        self.callee = callee
        self.call = call


class _Walker(ast.NodeVisitor):
    """The one in-order walk: collects imports, candidate call sites and top-level imports."""

    def __init__(self) -> None:
        self.func_aliases: dict[str, str] = {}  # local name -> "Param" | "Output"
        self.module_aliases: set[tuple[str, ...]] = set()  # dotted paths naming our package
        self.sites: list[_Site] = []
        self.top_imports: list[ImportSpec] = []
        self._depth = 0  # >0 inside a function or class body

    # Imports -----------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in _ANNOTATION_MODULES:
                if alias.asname:
                    self.module_aliases.add((alias.asname,))
                else:
                    self.module_aliases.add(tuple(alias.name.split(".")))
            if self._depth == 0:
                self.top_imports.append(ImportSpec(alias.name, (), node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0:
            for alias in node.names:
                if module in _ANNOTATION_MODULES:
                    if alias.name in ("Param", "Output"):
                        self.func_aliases[alias.asname or alias.name] = alias.name
                    elif alias.name == "*":
                        self.func_aliases.setdefault("Param", "Param")
                        self.func_aliases.setdefault("Output", "Output")
                    elif alias.name == "param":
                        self.module_aliases.add((alias.asname or alias.name,))
                elif f"{module}.{alias.name}" in _ANNOTATION_MODULES:
                    self.module_aliases.add((alias.asname or alias.name,))
            if self._depth == 0:
                names = tuple(a.name for a in node.names if a.name != "*")
                self.top_imports.append(ImportSpec(module, names, node.lineno))

    # Scopes ------------------------------------------------------------------------------
    def _nested(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _nested

    # Calls -------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        callee = _dotted(node.func)
        # Bare names may be aliases (``P(...)``); dotted ones must end in Param/Output.
        if callee is not None and (len(callee) == 1 or callee[-1] in ("Param", "Output")):
            self.sites.append(_Site(callee, node))
        self.generic_visit(node)


def _dotted(node: ast.expr) -> tuple[str, ...] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return None


def _literal(node: ast.expr) -> tuple[bool, Any]:
    """``(True, value)`` for a scalar literal (``-1.5`` is a UnaryOp, still a literal)."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if value is None or type(value) in (bool, int, float, str):
        return True, value
    return False, value


def _type_of(default: Any) -> TypeName:
    if default is MISSING or default is None:
        return "any"
    if default is COMPUTED:
        return "computed"
    return type(default).__name__  # type: ignore[return-value]


def _is_local(module: str, script_dir: Path) -> bool:
    top = module.split(".")[0]
    return (
        (script_dir / f"{top}.py").is_file()
        or (script_dir / top).is_dir()
        or any(script_dir.glob(f"{top}.*.so"))
    )


def read_script(script_path: ScriptPath, *, source: str | None = None) -> ScriptSpec:
    """Read a script's parameters and outputs without running it.

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to a Python script containing ``Param`` and/or ``Output`` calls.
    source : str, optional
        The script's text, when it is already in hand (it is otherwise read from ``script_path``).

    Returns
    -------
    ScriptSpec
        Parameters (name, default, type, line, required) and outputs in source order. Its
        ``str()`` is the table :func:`inspect` prints; in a notebook it renders as HTML.

    Raises
    ------
    FileNotFoundError
        If the script does not exist.
    SyntaxError
        If the script does not parse (the error names the file and line).
    ValueError
        If a ``Param``/``Output`` call has no literal identifier ``name=``, a parameter name stands
        at two call sites, or one name is used both as a parameter and as an output.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> spec.params["smooth_window"].default
    5
    >>> spec.output_names[0]
    'tracking'
    """
    display = os.fspath(script_path)
    path = Path(display).expanduser()
    extra: dict[str, Any] = {}
    if source is None and path.suffix == ".ipynb" and path.is_file():
        source, extra = _read_notebook(path, display)
    if source is None:
        if not path.exists():
            raise FileNotFoundError(
                f"Script {display!r} does not exist (looked in {Path.cwd()}). Check the path."
            )
        if path.is_dir():
            raise IsADirectoryError(f"Script {display!r} is a directory; pass the path of a .py file.")
        try:
            source = path.read_text(encoding="utf-8")
        except PermissionError as exc:
            raise PermissionError(f"Script {display!r} cannot be read: {exc.strerror}.") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"Script {display!r} is not UTF-8 text: {exc}.") from exc
    path = path.resolve()
    cells = extra.get("cells")
    with _AST_LOCK:
        try:
            tree = ast.parse(source, filename=display)
        except SyntaxError as exc:
            where = _locate(display, cells, exc.lineno or 1)
            raise SyntaxError(
                f"Script {where} does not parse: {exc.msg}. Fix the script.",
                (display, exc.lineno, exc.offset, exc.text, exc.end_lineno, exc.end_offset),
            ) from None
        walker = _Walker()
        walker.visit(tree)
        spec = _spec_of(walker, source, path, display, lambda line: _locate(display, cells, line))
    spec.extra.update(extra)
    return spec


# Compatibility helpers of the reference API: thin views of the one parse above.
def discover_params(script_path: ScriptPath) -> dict[str, Any]:
    """A script's parameters and their defaults, without running it (compatibility helper).

    :func:`read_script` gives more (types, lines, required); this is the reference API's view.

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to a script containing ``Param`` calls.

    Returns
    -------
    dict of str to object
        ``{name: default}`` in source order; ``None`` for a required parameter and for a default
        computed at run time (as in the reference; use :func:`read_script` to tell them apart).

    Raises
    ------
    ValueError, SyntaxError, FileNotFoundError
        As :func:`read_script`: e.g. a ``Param`` call missing the 'name' keyword.

    Examples
    --------
    >>> from py3r.behaviour.script.discovery import discover_params
    >>> discover_params("tests/scripts/reference_pipeline.py")
    {'data_path': '/my/data', 'smooth_window': 5, 'threshold': None}
    """
    spec = read_script(script_path)
    return {n: p.default if p.has_literal_default else None for n, p in spec.params.items()}


def discover_outputs(script_path: ScriptPath) -> list[str]:
    """A script's output names in source order, each once, without running it (compatibility helper).

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to a script containing ``Output`` calls.

    Returns
    -------
    list of str
        The names, in the order of their first call site.

    Examples
    --------
    >>> from py3r.behaviour.script.discovery import discover_outputs
    >>> discover_outputs("tests/scripts/reference_pipeline.py")
    ['tracking', 'summary']
    """
    return read_script(script_path).output_names


def validate_names(script_path: ScriptPath) -> None:
    """Raise ``ValueError`` for a name problem in a script's ``Param``/``Output`` calls (compatibility).

    The problems are those :func:`read_script` refuses: a call missing the 'name' keyword, a name that
    is not an identifier string literal, a duplicate Param name, and a name collision between a
    Param and an Output. One Output name at several call sites is allowed (if/else branches).

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to the script.

    Raises
    ------
    ValueError
        Naming the problem, the file and the line.

    Examples
    --------
    >>> from py3r.behaviour.script.discovery import validate_names
    >>> validate_names("tests/scripts/reference_pipeline.py")
    >>> validate_names("tests/scripts/bad_duplicate_param.py")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Duplicate Param name 'x' in ...
    """
    read_script(script_path)


def _cell_at(cells: list[dict[str, Any]], line: int) -> tuple[dict[str, Any], int]:
    """The cell holding combined line ``line``, and the line within that cell."""
    for cell in cells:
        if cell["start"] <= line < cell["start"] + cell["lines"]:
            return cell, line - cell["start"] + 1
    return cells[-1], line - cells[-1]["start"] + 1


def _locate(display: str, cells: list[dict[str, Any]] | None, line: int) -> str:
    if not cells:
        return f"{display}, line {line}"
    cell, within = _cell_at(cells, line)
    ident = f" (id {cell['id']})" if cell.get("id") else ""
    return f"{display}, cell {cell['index']}{ident}, line {within}"


def _read_notebook(path: Path, display: str) -> tuple[str, dict[str, Any]]:
    """A notebook's code cells, in order, as one Python source (IPython syntax transformed).

    Markdown and raw cells are ignored, so are outputs and execution counts. Each cell keeps its
    own file name, so that the child runs it as a cell and tracebacks name it.
    """
    try:
        import nbformat
    except ImportError:
        raise ImportError(
            f"Reading the notebook {display} needs nbformat: pip install 'py3r-behaviour-script[notebook]'."
        ) from None
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        transform: Any = TransformerManager().transform_cell
    except ImportError:
        transform = None
    nb = nbformat.read(path, as_version=4)
    cells: list[dict[str, Any]] = []
    line = 1
    needs_ipython = False
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        raw = cell.source if cell.source.endswith("\n") else cell.source + "\n"
        ident = cell.get("id")
        label = f"cell {index}" + (f" (id {ident})" if ident else "")
        if transform is None:
            try:
                ast.parse(raw)
            except SyntaxError:
                raise ImportError(
                    f"{display}, {label} uses IPython syntax (magics, ! or ?), which needs IPython: "
                    "pip install ipython."
                ) from None
            python = raw
        else:
            python = transform(raw)
            python = python if python.endswith("\n") else python + "\n"
        uses = python.strip() != raw.strip()
        needs_ipython |= uses
        n = python.count("\n")
        cells.append(
            {
                "index": index,
                "id": ident,
                "start": line,
                "lines": n,
                "filename": f"{path.resolve()}, {label}",
                "source": python,
                "ipython": uses,
            }
        )
        line += n
    source = "".join(c["source"] for c in cells)
    task = {"cells": [(c["filename"], c["source"]) for c in cells], "ipython": needs_ipython}
    return source, {"cells": cells, "task": task}


def _spec_of(
    walker: _Walker, source: str, path: Path, display: str, locate: Callable[[int], str]
) -> ScriptSpec:
    def at(line: int) -> str:  # "line 3", or "cell 2 (id …), line 1" in a notebook
        return locate(line)[len(display) + 2 :]

    params: dict[str, ParamSpec] = {}
    outputs: dict[str, list[int]] = {}
    output_pos: dict[str, tuple[int, int]] = {}
    for site in walker.sites:
        kind = _resolve(site.callee, walker)
        if kind is None:
            continue
        call = site.call
        where = locate(call.lineno)
        name_nodes = [k.value for k in call.keywords if k.arg == "name"]
        if not name_nodes:
            raise ValueError(
                f"{kind}() call in {where} is missing the 'name' keyword. Give it one, e.g. "
                f'{kind}({"5" if kind == "Param" else "value"}, name="window").'
            )
        ok, name = _literal(name_nodes[0])
        if not ok or not isinstance(name, str):
            raise ValueError(
                f"{kind}() call in {where} has a name= that is not a string literal "
                f'({ast.unparse(name_nodes[0])}). Write the name out, e.g. name="window".'
            )
        if not name.isidentifier():
            raise ValueError(
                f"{kind}() call in {where} has the name {name!r}, which is not a Python identifier. "
                'Use letters, digits and underscores, e.g. name="smooth_window".'
            )
        if kind == "Param":
            if name in params:
                raise ValueError(
                    f"Duplicate Param name {name!r} in {display}: on {at(params[name].line)} and on "
                    f"{at(call.lineno)}. Give each parameter one call site (reuse the variable where the "
                    "value is needed again), or different names."
                )
            params[name] = _param_spec(name, call, locate)
        else:
            outputs.setdefault(name, []).append(call.lineno)
            output_pos.setdefault(name, (call.lineno, call.col_offset))
    for name in params:
        if name in outputs:
            raise ValueError(
                f"Name collision in {display}: {name!r} is used both as a Param ({at(params[name].line)}) "
                f"and as an Output ({at(outputs[name][0])}). Rename one of them."
            )
    # Order by position, not by walk order: an Output nested in an `if` stays before later ones.
    ordered_outputs = sorted(outputs, key=output_pos.__getitem__)
    ordered_params = dict(sorted(params.items(), key=lambda kv: (kv[1].line, kv[1].col)))
    script_dir = path.parent
    locals_ = tuple(
        dict.fromkeys(
            imp.module.split(".")[0]
            for imp in walker.top_imports
            if imp.module and _is_local(imp.module, script_dir)
        )
    )
    return ScriptSpec(
        path=path,
        display_path=display,
        source=source,
        params=ordered_params,
        outputs={n: OutputSpec(n, tuple(sorted(outputs[n]))) for n in ordered_outputs},
        imports=tuple(walker.top_imports),
        local_modules=locals_,
    )


def _resolve(callee: tuple[str, ...], walker: _Walker) -> str | None:
    if len(callee) == 1:
        return walker.func_aliases.get(callee[0])
    if callee[-1] in ("Param", "Output") and callee[:-1] in walker.module_aliases:
        return callee[-1]
    return None


def _param_spec(name: str, call: ast.Call, locate: Callable[[int], str]) -> ParamSpec:
    default_node: ast.expr | None = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg == "default":
            default_node = kw.value
    if default_node is None:
        return ParamSpec(name, MISSING, "any", call.lineno, call.col_offset)
    ok, value = _literal(default_node)
    text = ast.unparse(default_node)
    if not ok:
        if value is not None:  # a literal, but a list/dict/tuple/...: never a valid default
            raise ValueError(
                f"Param {name!r} in {locate(call.lineno)} has the default {text}, a "
                f"{type(value).__name__}; a default must be a scalar: a bool, int, float, str or None."
            )
        return ParamSpec(name, COMPUTED, "computed", call.lineno, call.col_offset, text)
    return ParamSpec(name, value, _type_of(value), call.lineno, call.col_offset, text)
