"""The one parse of a script: a single in-order walk of its syntax tree gives its :class:`ScriptSpec`.

Every layer reads the spec (``inspect``, value checks, plans, the engines' preloading, the run
store's key, the command line, the magics and the panel); nothing else parses a script. Call sites
are resolved against the script's imports after the walk, so ``Param`` imported inside a function,
or under an alias, is still found.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._types import COMPUTED, MISSING, ScriptPath
from ..values import nfc
from .meta import comments, description, metadata
from .model import ImportSpec, OutputSpec, ParamSpec, ScriptSpec, TypeName
from .notebook import locate as locate_in
from .notebook import place, read_notebook
from .syntax import parse_python

__all__ = ["imported_names", "read_script"]

_PACKAGE = "py3r.behaviour.script"
_ANNOTATION_MODULES = (_PACKAGE, f"{_PACKAGE}.param")


def imported_names(source: str) -> tuple[str, ...]:
    """The top-level name of every module ``source`` imports, anywhere in it; () if it does not parse."""
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        return ()
    walker = _Walker()
    walker.visit(tree)
    return tuple(dict.fromkeys(n for n in walker.imported if n))


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
        self.imported: list[str] = []  # the top-level name of every absolute import, at any depth
        self._depth = 0  # >0 inside a function or class body

    # Imports -----------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imported.append(alias.name.split(".")[0])
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
            self.imported.append(module.split(".")[0])
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
        source, extra = read_notebook(path, display)
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
    try:
        tree = parse_python(source, filename=display)
    except SyntaxError as exc:
        where = locate_in(display, cells, exc.lineno or 1)
        raise SyntaxError(
            f"Script {where} does not parse: {exc.msg}. Fix the script.",
            (display, exc.lineno, exc.offset, exc.text, exc.end_lineno, exc.end_offset),
        ) from None
    walker = _Walker()
    walker.visit(tree)
    spec = _spec_of(walker, source, path, display, cells)
    spec.extra.update(extra)
    return spec


def _spec_of(
    walker: _Walker, source: str, path: Path, display: str, cells: list[dict[str, Any]] | None
) -> ScriptSpec:
    def locate(line: int) -> str:  # "pipeline.py, line 3", or "n.ipynb, cell 2 (id …), line 1"
        return locate_in(display, cells, line)

    def at(line: int) -> str:  # "line 3", or "cell 2 (id …), line 1" in a notebook
        return place(cells, line)

    params: dict[str, ParamSpec] = {}
    calls: dict[str, ast.Call] = {}
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
        if ok and isinstance(name, str):
            name = nfc(name)  # "größe" is one name however its letters were composed
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
            calls[name] = call
        else:
            outputs.setdefault(name, []).append(call.lineno)
            output_pos.setdefault(name, (call.lineno, call.col_offset))
    for name in params:
        if name in outputs:
            raise ValueError(
                f"Name collision in {display}: {name!r} is used both as a Param ({at(params[name].line)}) "
                f"and as an Output ({at(outputs[name][0])}). Rename one of them."
            )
    params = _described(params, calls, source, locate)
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
        imported=tuple(dict.fromkeys(n for n in walker.imported if n)),
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
        default, text = MISSING, ""
    else:
        ok, default = _literal(default_node)
        text = ast.unparse(default_node)
        if not ok:
            if default is not None:  # a literal, but a list/dict/tuple/...: never a valid default
                raise ValueError(
                    f"Param {name!r} in {locate(call.lineno)} has the default {text}, a "
                    f"{type(default).__name__}; a default must be a scalar: a bool, int, float, str or None."
                )
            default = COMPUTED
    kind = _type_of(default)
    extra = metadata(name, call, kind, default, locate(call.lineno))
    return ParamSpec(name, default, kind, call.lineno, call.col_offset, text, **extra)


def _described(
    params: dict[str, ParamSpec], calls: dict[str, ast.Call], source: str, locate: Callable[[int], str]
) -> dict[str, ParamSpec]:
    """``params`` with the comment of each call that has no ``doc=`` as its description."""
    bare = [n for n, p in params.items() if p.doc is None]
    if not bare:
        return params
    lines = {n for name in bare for n in (calls[name].lineno - 1, calls[name].lineno, calls[name].end_lineno)}
    found = comments(source, (n for n in lines if n))
    if not found:
        return params

    def same_block(a: int, b: int) -> bool:  # in a notebook, the same cell
        return locate(a).rsplit(", line ", 1)[0] == locate(b).rsplit(", line ", 1)[0]

    for name in bare:
        doc = description(calls[name], found, same_block)
        if doc is not None:
            params[name] = dataclasses.replace(params[name], doc=doc)
    return params
