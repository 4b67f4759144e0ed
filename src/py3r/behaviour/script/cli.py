"""The command line: ``py3r-script`` (also ``python -m py3r.behaviour.script``).

A thin layer over :func:`read_script`, :func:`run` and :func:`sensitivity`. Values given with ``-p``
are parsed by the parameter's declared type (so ``-p flag=false`` works for a bool parameter), never
evaluated as code. Exit status: 0 success, 1 an iteration failed, 2 bad usage or bad input,
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .discovery import ParamSpec, ScriptSpec, read_script
from .exceptions import IterationFailedWarning, SweepInterruptedWarning
from .plan import check_value

__all__ = ["main", "parse_value"]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class UsageError(Exception):
    """Bad input on the command line: printed, exit status 2."""


def parse_value(spec: ScriptSpec, name: str, text: str) -> Any:
    """Parse ``text`` as a value of parameter ``name`` by its declared type.

    Parameters
    ----------
    spec : ScriptSpec
        The script.
    name : str
        The parameter's name.
    text : str
        The value as typed.

    Returns
    -------
    bool | int | float | str | None
        The checked value.

    Raises
    ------
    UsageError
        If ``name`` is not a parameter or ``text`` is not a value of its type.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.cli import parse_value
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> parse_value(spec, "interpolate_gaps", "false"), parse_value(spec, "threshold", "3")
    (False, 3.0)
    """
    param = _param(spec, name)
    kind = param.type
    value: Any
    try:
        if kind == "int":
            value = int(text)
        elif kind == "float":
            value = float(text)
        elif kind == "bool":
            low = text.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(text)
            value = low in _TRUE
        elif kind == "str":
            value = text
        else:
            value = _guess(text)
    except ValueError:
        wanted = {"int": "a whole number", "float": "a number", "bool": "true or false"}[kind]
        raise UsageError(
            f"Parameter {name!r} of {spec.where(param.line)} is {'an' if kind == 'int' else 'a'} {kind}; "
            f"{text!r} is not {wanted}."
        ) from None
    try:
        return check_value(spec, param, value)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _guess(text: str) -> Any:
    """A value for a parameter of no declared type: number, bool, none, else the text itself."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _param(spec: ScriptSpec, name: str) -> ParamSpec:
    if name not in spec.params:
        known = ", ".join(spec.params) or "none"
        close = difflib.get_close_matches(name, spec.params, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"Parameter {name!r} not found in script {spec.display_path}.{hint} Its parameters are: {known}."
        )
    return spec.params[name]


def _pairs(items: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} takes name=value; got {item!r}.")
        pairs.append((name.strip(), text))
    return pairs


def script_from_cache(args: argparse.Namespace) -> str | None:
    """The script path, given back where a bare ``--cache`` took it as its directory.

    ``--cache`` takes an optional DIR, so ``run --cache pipeline.py`` reads ``pipeline.py`` as the
    store. A script file is no store: it is the script, and the store is the default one.
    """
    if args.script is None and isinstance(args.cache, str) and args.cache.endswith((".py", ".ipynb")):
        args.script, args.cache = args.cache, True
    return args.script


def _outputs(text: str | None) -> list[str] | None:
    return [o.strip() for o in text.split(",") if o.strip()] if text else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="py3r-script",
        description="Inspect, run and sweep Python scripts annotated with Param and Output.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("inspect", help="list a script's parameters and outputs without running it")
    p.add_argument("script")

    p = sub.add_parser("history", help="list the iterations of a script kept in a run store")
    p.add_argument("script")
    p.add_argument("--store", metavar="DIR", default=None, help="the run store (default: .py3r-runs)")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("script", nargs="?")  # required; optional here only for script_from_cache
    common.add_argument("--outputs", metavar="A,B", help="outputs to capture (default: all)")
    common.add_argument("--timeout", type=float, metavar="S", help="seconds before an iteration is stopped")
    common.add_argument(
        "--engine", choices=["auto", "fork", "subprocess"], default="auto", help="how processes are made"
    )
    common.add_argument(
        "--cache",
        nargs="?",
        const=True,
        default=None,
        metavar="DIR",
        help="reuse and keep results in a run store (default DIR: .py3r-runs, or $PY3R_SCRIPT_STORE)",
    )
    common.add_argument("--retry-failed", action="store_true", help="rerun iterations stored as failed")

    p = sub.add_parser("run", parents=[common], help="run a script once with parameter values")
    p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="a parameter value")
    p.add_argument("--stop-after-outputs", action="store_true", help="stop once the outputs are captured")

    p = sub.add_parser("sweep", parents=[common], help="run a script over parameter values")
    p.add_argument("-p", "--param", action="append", metavar="NAME=V1,V2", help="values to sweep")
    p.add_argument("--nominal", action="append", metavar="NAME=VALUE", help="a nominal (fixed) value")
    p.add_argument("--mode", choices=["independent", "grid"], default="independent")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="iterations at once (-1: all cores)")
    p.add_argument("--stop-after-outputs", action="store_true", help="stop once the outputs are captured")
    p.add_argument("--csv", metavar="PATH", help="write the table (with failed iterations) to a CSV file")
    p.add_argument("--plot", metavar="PATH", help="write the sensitivity plot to an image file")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the iterations on this Dask scheduler")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Examples
    --------
    >>> from py3r.behaviour.script.cli import main
    >>> main(["inspect", "tests/scripts/reference_pipeline.py"])  # doctest: +ELLIPSIS
    Script: tests/scripts/reference_pipeline.py
    ...
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("run", "sweep") and script_from_cache(args) is None:
        parser.error("the following arguments are required: script")
    try:
        with warnings.catch_warnings():
            # Failures are reported by this command itself, as a summary and an exit status.
            warnings.simplefilter("ignore", IterationFailedWarning)
            warnings.simplefilter("ignore", SweepInterruptedWarning)
            return _COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"py3r-script: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, SyntaxError, ValueError, TypeError, ImportError, RuntimeError) as exc:
        # Bad paths, stores, values or a missing optional dependency: the message says what to do.
        print(f"py3r-script: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _inspect(args: argparse.Namespace) -> int:
    print(read_script(args.script).reference_text())
    return 0


def _run(args: argparse.Namespace) -> int:
    from .runner import run

    spec = read_script(args.script)
    params = {name: parse_value(spec, name, text) for name, text in _pairs(args.param, "-p")}
    sr = run(
        args.script,
        params,
        outputs=_outputs(args.outputs),
        stop_after_outputs=args.stop_after_outputs,
        timeout=args.timeout,
        engine=args.engine,
        cache=args.cache,
        retry_failed=args.retry_failed,
    )
    it = sr.iterations[0]
    for name, value in it.outputs.items():
        text = repr(value) if _is_scalar(value) else f"{type(value).__name__}\n{value!r}"
        print(f"{name} = {text}")
    if it.failure is not None:
        print(f"\nThe run failed: {it.failure}", file=sys.stderr)
        return 130 if sr.interrupted else 1
    return 0


def _is_scalar(value: Any) -> bool:
    from .results import is_scalar

    return is_scalar(value)


def _sweep(args: argparse.Namespace) -> int:
    spec = read_script(args.script)
    swept: dict[str, list[Any]] = {}
    for name, text in _pairs(args.param, "-p"):
        swept[name] = [parse_value(spec, name, part) for part in text.split(",")]
    if not swept:
        raise UsageError("sweep needs at least one -p NAME=V1,V2,... to sweep.")
    nominal = {name: parse_value(spec, name, text) for name, text in _pairs(args.nominal, "--nominal")}
    if args.plot:
        _need_matplotlib()
    with _client(args.scheduler) as client:
        sr = _sweep_with(args, swept, nominal, client)
    return _report(args, sr)


@contextlib.contextmanager
def _client(address: str | None) -> Iterator[Any]:
    """A Dask client for ``--scheduler`` (this command owns it and closes it), or None."""
    if not address:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "--scheduler needs dask.distributed: pip install 'py3r-behaviour-script[dask]'."
        ) from None
    try:
        client = Client(address, timeout=10)
    except OSError as exc:
        raise UsageError(f"Cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client
    finally:
        client.close()


def _sweep_with(
    args: argparse.Namespace, swept: dict[str, list[Any]], nominal: dict[str, Any], client: Any
) -> Any:
    from .runner import sensitivity

    return sensitivity(
        args.script,
        swept,
        nominal=nominal,
        mode=args.mode,
        outputs=_outputs(args.outputs),
        stop_after_outputs=args.stop_after_outputs,
        workers=args.workers,
        timeout=args.timeout,
        progress=not args.no_progress,
        engine=args.engine,
        cache=args.cache,
        retry_failed=args.retry_failed,
        executor=client,
    )


def _report(args: argparse.Namespace, sr: Any) -> int:
    import pandas as pd

    scalars = sr.scalar_outputs()
    table = sr.to_dataframe(outputs=scalars)
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500):
        print(table.to_string(index=False) if len(table) else "(no completed iterations)")
    others = [n for n in sr.output_names if n not in scalars]
    if others:
        print(f"\nNot shown (not scalars): {', '.join(others)}")
    if args.csv:
        sr.to_dataframe(outputs=scalars, include_failed=True).to_csv(args.csv, index=False)
        print(f"\nWrote {args.csv}")
    status = 0
    if args.plot and len(table):
        try:
            fig = sr.plot()
        except ValueError as exc:  # nothing numeric to plot: the table above still stands
            print(f"py3r-script: no plot written: {exc}", file=sys.stderr)
            status = 1
        else:
            fig.savefig(args.plot, dpi=120, bbox_inches="tight")
            print(f"Wrote {args.plot}")
    failures = sr.failures
    if failures:
        print(f"\n{len(failures)} of {len(sr)} iterations failed:", file=sys.stderr)
        for it in failures:
            assert it.failure is not None
            print(f"  {it.params}: {it.failure.message}", file=sys.stderr)
        return 130 if sr.interrupted else 1
    return status


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib; install it with: pip install 'py3r-behaviour-script[notebook]'."
        ) from None


def _history(args: argparse.Namespace) -> int:
    import pandas as pd

    from .store import history

    table = history(args.script, store=args.store or True)
    if table.empty:
        print(f"No stored iterations of {args.script}.")
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 1000):
        print(table.to_string(index=False))
    return 0


_COMMANDS = {"history": _history, "inspect": _inspect, "run": _run, "sweep": _sweep}
