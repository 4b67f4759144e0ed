"""IPython magics: ``%inspect_script`` and ``%%sweep`` (``%load_ext py3r.behaviour.script``).

A thin parser over :func:`read_script` and :func:`sensitivity`: everything a magic does, a function
call does too. IPython is imported here only, never by the package's core.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .. import ScriptSpec, read_script, sensitivity
from ..spec import parse_python
from ..values import is_scalar, split_names
from .options import SAMPLED_MODES, SWEEP_MODES, split_script_and_cache

__all__ = ["ScriptMagics", "load_ipython_extension", "unload_ipython_extension"]

_SEQUENCES = (list, tuple, range)


def _strip(path: str) -> str:
    path = path.strip()
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        return path[1:-1]
    return path


def _spec(path: str) -> ScriptSpec:
    try:
        return read_script(path)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _as_values(name: str, value: Any) -> tuple[str, Any]:
    """``("sweep", [values])`` for a list-like (a tuple stays a tuple: a sampled design's range),
    ``("nominal", value)`` for a scalar."""
    if isinstance(value, tuple):
        return "sweep", value
    if isinstance(value, _SEQUENCES) or type(value).__name__ in ("ndarray", "Series", "Index"):
        values = value.tolist() if hasattr(value, "tolist") else list(value)
        return "sweep", values
    if is_scalar(value):
        return "nominal", value
    raise UsageError(
        f"{name} = {type(value).__name__}: a %%sweep cell assigns a parameter either a list, tuple, range "
        "or array of values to sweep, or a single value (its nominal value)."
    )


def parse_sweep_cell(
    spec: ScriptSpec, cell: str, namespace: Mapping[str, Any]
) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Run a ``%%sweep`` cell against a copy of ``namespace``; return ``(swept, nominal)``.

    Every top-level statement must assign one of the script's parameters (imports are allowed too).

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.magics import parse_sweep_cell
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> parse_sweep_cell(spec, "threshold = [1, 2]\\nseed = 7", {})
    ({'threshold': [1, 2]}, {'seed': 7})
    """
    known = ", ".join(spec.params) or "none"
    try:
        tree = parse_python(cell, filename="<%%sweep cell>")
    except SyntaxError as exc:
        raise UsageError(f"The %%sweep cell does not parse: {exc.msg} (line {exc.lineno}).") from None
    names: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        target = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target = stmt.target
        if not isinstance(target, ast.Name):
            raise UsageError(
                f"Line {stmt.lineno} of the %%sweep cell is not an assignment to a parameter name. "
                f"Write one `name = values` per line; the parameters of {spec.display_path} are: {known}."
            )
        if target.id not in spec.params:
            raise UsageError(
                f"{target.id!r} (line {stmt.lineno} of the %%sweep cell) not found in script "
                f"{spec.display_path}. Its parameters are: {known}."
            )
        names.append(target.id)
    ns = dict(namespace)
    try:
        exec(compile(tree, "<%%sweep cell>", "exec"), ns)
    except Exception as exc:
        raise UsageError(f"The %%sweep cell raised {type(exc).__name__}: {exc}") from None
    swept: dict[str, list[Any]] = {}
    nominal: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        how, value = _as_values(name, ns[name])
        (swept if how == "sweep" else nominal)[name] = value
    return swept, nominal


@magics_class
class ScriptMagics(Magics):
    """``%inspect_script`` and ``%%sweep``."""

    @line_magic
    def inspect_script(self, line: str) -> ScriptSpec:
        """Show a script's parameters and outputs; return its :class:`ScriptSpec`.

        Usage: ``%inspect_script PATH``
        """
        if not line.strip():
            raise UsageError("Usage: %inspect_script PATH (the script to inspect).")
        return _spec(_strip(line))

    @magic_arguments()
    @argument("script", nargs="?", help="the script to sweep")
    @argument("--mode", choices=[*SWEEP_MODES, *SAMPLED_MODES], default="independent", help="sweep mode")
    @argument("-n", type=int, help="size of a sampled design (points, base samples, trajectories)")
    @argument("--seed", type=int, help="seed of a sampled design (default: a new one)")
    @argument("--second-order", action="store_true", help="--mode sobol: second-order indices too")
    @argument("--levels", type=int, help="--mode morris: grid levels (even; default 4)")
    @argument("--outputs", metavar="A,B", help="outputs to capture (default: all)")
    @argument("--workers", type=int, default=-1, help="iterations at once (default -1: one per core)")
    @argument("--timeout", type=float, help="seconds before an iteration is stopped")
    @argument("-o", "--out", metavar="NAME", default="_sweep", help="store the results as NAME")
    @argument("--no-plot", action="store_true", help="do not draw the sensitivity plot")
    @argument("--scheduler", metavar="ADDRESS", help="run the iterations on this Dask scheduler")
    @argument(
        "--cache",
        nargs="?",
        const=True,
        default=None,
        metavar="DIR",
        help="reuse and keep results in a run store (default: .py3r-runs)",
    )
    @cell_magic
    def sweep(self, line: str, cell: str) -> None:
        """Sweep a script: each line of the cell assigns a parameter its values or nominal value.

        A list, tuple, range or array is swept; a single value is the parameter's nominal value. The
        cell runs against a copy of the notebook's namespace, so variables and numpy can be used::

            %%sweep examples/open_field/pipeline.py --mode grid -o sr
            smooth_window = [3, 5, 7]
            threshold = np.linspace(0.5, 1.0, 6)

        A sampled design (``--mode sobol|morris|lhs|random -n N [--seed S]``) takes a range per line,
        ``threshold = (0.5, 8.0)``, or a list of choices; with no line, every declared range. It shows
        the table of sensitivity indices and their plot::

            %%sweep examples/open_field/pipeline.py --mode morris -n 20 --seed 1 -o sr
            threshold = (0.5, 8.0)
            smooth_window = (1, 21)
        """
        try:
            args = parse_argstring(self.sweep, line)
        except SystemExit:  # argparse on bad input
            raise UsageError(f"Bad %%sweep options: {line!r}. See %%sweep? for usage.") from None
        args.script, args.cache = split_script_and_cache(args.script, args.cache)
        if args.script is None:
            raise UsageError("Usage: %%sweep PATH [options] (the script to sweep). See %%sweep? for usage.")
        path = _strip(args.script)
        spec = _spec(path)
        swept, nominal = parse_sweep_cell(spec, cell, self.shell.user_ns if self.shell else {})
        # In a sampled design, a cell line name = (low, high) is a range, a list gives choices.
        sampled = args.mode in SAMPLED_MODES
        if not swept and not sampled:
            raise UsageError(
                "Nothing to sweep: assign a list of values to at least one parameter of "
                f"{spec.display_path}, e.g. {next(iter(spec.params), 'name')} = [1, 2, 3]."
            )
        try:
            sr = sensitivity(
                path,
                swept or None,
                nominal=nominal,
                mode=args.mode,
                n=args.n,
                seed=args.seed,
                second_order=args.second_order,
                levels=args.levels,
                outputs=split_names(args.outputs),
                workers=args.workers,
                timeout=args.timeout,
                progress=True,
                cache=args.cache,
                executor=args.scheduler or None,
            )
        except (TypeError, ValueError, OSError, ImportError) as exc:
            raise UsageError(str(exc)) from None
        if self.shell is not None:
            self.shell.user_ns[args.out] = sr
        from IPython.display import display

        if sampled:
            try:
                display(sr.indices())
            except ValueError as exc:  # failed points or an interrupted design
                print(f"(No indices: {exc})")
        else:
            display(sr)
        if not args.no_plot:
            try:
                fig = sr.plot()
            except ValueError as exc:
                print(f"(No plot: {exc})")
            else:
                display(fig)


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics with ``ipython``."""
    ipython.register_magics(ScriptMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics from ``ipython``."""
    manager = ipython.magics_manager
    for kind, names in (("line", ["inspect_script"]), ("cell", ["sweep"])):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop("ScriptMagics", None)
