"""The command line: ``py3r-script`` (also ``python -m py3r.behaviour.script``).

A thin layer over the public API. Values given with ``-p`` are parsed by the parameter's declared
type (so ``-p flag=false`` works for a bool parameter), never evaluated as code. Everything a user
can get wrong is checked before anything runs and reported in one line; an error after that is the
library's own, reported with its traceback. Ctrl-C, SIGTERM (a cluster's time limit) and SIGHUP
stop a running command alike: what finished is printed, written and kept in the store. Exit status:
0 success, 1 an iteration failed (or a library error), 2 bad usage or bad input, 128 + the signal
when stopped by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import (
    CancelToken,
    Outputs,
    ScriptResults,
    ScriptSpec,
    execute_plan,
    history,
    open_store,
    plan_design,
    plan_run,
    plan_sweep,
    read_script,
)
from ..exceptions import IterationFailedWarning, StoreWarning, SweepInterruptedWarning, UsageError
from ..values import is_scalar, parse_value, split_names
from .options import (
    SAMPLED_MODES,
    SWEEP_MODES,
    design_values,
    listed_values,
    parse_size,
    split_script_and_cache,
)

__all__ = ["main"]


class _Stop:
    """While a command runs, SIGINT, SIGTERM and SIGHUP cancel it instead of killing this process.

    The call then returns what had finished (printed, written to ``--csv`` and kept in the store)
    and the command exits with 128 + the first signal. A second signal changes nothing: the
    running iterations are already being killed, and the report follows at once. Run as the
    program (``program=True``), the signals stay ignored afterwards, while the process exits and
    closes its warm workers; called from Python, the caller's handlers are restored.
    """

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))

    def __init__(self, *, active: bool = True, program: bool = False) -> None:
        self.token = CancelToken()
        self.signum: int | None = None
        self._active = active
        self._program = program
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        # Handlers live in the main thread; commands that run nothing keep the default ones.
        if self._active and threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, signal.SIG_IGN if self._program else old)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
        self.token.cancel()

    @property
    def status(self) -> int:
        """The exit status of a stopped command: 128 + the signal (130 for Ctrl-C)."""
        return 128 + (self.signum or signal.SIGINT)


#: What a command does once its input is checked: returns the exit status.
Job = Callable[[_Stop], int]

#: Raised by checking a command's input: the user's to fix (exit status 2).
USER_ERRORS = (OSError, SyntaxError, ValueError, TypeError, ImportError)


def _pairs(items: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} takes name=value; got {item!r}.")
        pairs.append((name.strip(), text))
    return pairs


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
    common.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="large outputs held in memory at most, e.g. 2G; beyond it they are kept on disk "
        "(default: $PY3R_SCRIPT_MAX_MEMORY, else 1G; none: no limit)",
    )

    p = sub.add_parser("run", parents=[common], help="run a script once with parameter values")
    p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="a parameter value")
    p.add_argument("--stop-after-outputs", action="store_true", help="stop once the outputs are captured")

    p = sub.add_parser("sweep", parents=[common], help="run a script over parameter values")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=V1,V2",
        help="values to sweep; for a sampled design NAME=LOW:HIGH (a range), NAME=A,B (choices) or NAME "
        "(its declared range); without -p a design samples every declared range",
    )
    p.add_argument("--nominal", action="append", metavar="NAME=VALUE", help="a nominal (fixed) value")
    p.add_argument("--mode", choices=[*SWEEP_MODES, *SAMPLED_MODES], default="independent")
    p.add_argument(
        "-n", type=int, metavar="N", help="size of a sampled design (points, base samples, trajectories)"
    )
    p.add_argument("--seed", type=int, metavar="S", help="seed of a sampled design (default: a new one)")
    p.add_argument("--second-order", action="store_true", help="--mode sobol: second-order indices too")
    p.add_argument("--levels", type=int, metavar="L", help="--mode morris: grid levels (even; default 4)")
    p.add_argument(
        "--workers", type=int, default=-1, metavar="N", help="iterations at once (default -1: one per core)"
    )
    p.add_argument("--stop-after-outputs", action="store_true", help="stop once the outputs are captured")
    p.add_argument("--csv", metavar="PATH", help="write the table (with failed iterations) to a CSV file")
    p.add_argument("--plot", metavar="PATH", help="write the sensitivity plot to an image file")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the iterations on this Dask scheduler")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 an iteration failed (or a library error), 2 bad usage or input, 128 + the
        signal when stopped by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

    Examples
    --------
    >>> from py3r.behaviour.script.frontends.cli import main
    >>> main(["inspect", "tests/scripts/reference_pipeline.py"])  # doctest: +ELLIPSIS
    Script: tests/scripts/reference_pipeline.py
    ...
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("run", "sweep"):
        args.script, args.cache = split_script_and_cache(args.script, args.cache)
        if args.script is None:
            parser.error("the following arguments are required: script")
    with warnings.catch_warnings():
        # Failures are reported by this command itself, as a summary and an exit status.
        warnings.simplefilter("ignore", IterationFailedWarning)
        warnings.simplefilter("ignore", SweepInterruptedWarning)
        warnings.showwarning = _show_warning
        try:
            job = _COMMANDS[args.command](args)
        except USER_ERRORS as exc:
            # Bad paths, stores, values or a missing optional dependency: the message says what to do.
            print(f"py3r-script: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        with _Stop(active=args.command in ("run", "sweep"), program=argv is None) as stop:
            try:
                return job(stop)
            except KeyboardInterrupt:
                return stop.status
            except (UsageError, ConnectionError) as exc:
                # A setting read when the job starts (an environment variable), or a Dask scheduler
                # that cannot be reached.
                print(f"py3r-script: error: {exc}", file=sys.stderr)
                return 2
            except Exception:
                traceback.print_exc()
                print(
                    "py3r-script: this is a bug in py3r-behaviour-script, not in your script or input. "
                    "Please report it with the traceback above.",
                    file=sys.stderr,
                )
                return 1


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """A run store's trouble (read-only, full disk, a damaged entry) as one line; others as usual."""
    if issubclass(category, StoreWarning):
        print(f"py3r-script: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, *args[:2]))


def _inspect(args: argparse.Namespace) -> Job:
    spec = read_script(args.script)

    def job(stop: _Stop) -> int:
        print(spec.reference_text())
        return 0

    return job


def _run(args: argparse.Namespace) -> Job:
    spec = read_script(args.script)
    params = {name: parse_value(spec, name, text) for name, text in _pairs(args.param, "-p")}
    plan = plan_run(
        spec, params, outputs=split_names(args.outputs), stop_after_outputs=args.stop_after_outputs
    )
    store = open_store(args.cache)
    budget = _max_memory(args)

    def job(stop: _Stop) -> int:
        sr = execute_plan(
            plan,
            timeout=args.timeout,
            engine=args.engine,
            cache=store,
            retry_failed=args.retry_failed,
            max_memory=budget,
            cancel=stop.token,
        )
        it = sr.iterations[0]
        for name, value in Outputs(it).items():  # one kept on disk is loaded to be shown
            text = repr(value) if is_scalar(value) else f"{type(value).__name__}\n{value!r}"
            print(f"{name} = {text}")
        if it.failure is not None and it.status == "cancelled":
            print(f"\nThe run was stopped before it finished: {it.failure}", file=sys.stderr)
            return stop.status
        if it.failure is not None:
            print(f"\nThe run failed: {it.failure}", file=sys.stderr)
            return 1
        return 0

    return job


def _design_params(spec: ScriptSpec, items: Sequence[str] | None) -> dict[str, Any] | None:
    """``-p`` of a sampled design: ``name=low:high`` a range, ``name=a,b`` choices, ``name`` declared."""
    if not items:
        return None
    params: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        params[name] = design_values(spec, name, text) if sep else None
    return params


def _sweep(args: argparse.Namespace) -> Job:
    spec = read_script(args.script)
    nominal = {name: parse_value(spec, name, text) for name, text in _pairs(args.nominal, "--nominal")}
    sampled = args.mode in SAMPLED_MODES  # its report is a table of sensitivity indices
    if sampled:
        if args.n is None:
            raise UsageError(f"--mode {args.mode} needs -n N, the size of the design.")
        plan = plan_design(
            spec,
            _design_params(spec, args.param),
            mode=args.mode,
            n=args.n,
            seed=args.seed,
            second_order=args.second_order,
            levels=args.levels,
            nominal=nominal,
            outputs=split_names(args.outputs),
            stop_after_outputs=args.stop_after_outputs,
        )
    else:
        if (args.n, args.seed, args.second_order, args.levels) != (None, None, False, None):
            raise UsageError(
                "-n, --seed, --second-order and --levels are options of sampled designs "
                f"(--mode {'|'.join(SAMPLED_MODES)})."
            )
        swept: dict[str, list[Any]] = {}
        for name, text in _pairs(args.param, "-p"):
            swept[name] = listed_values(spec, name, text)
        if not swept:
            raise UsageError("sweep needs at least one -p NAME=V1,V2,... to sweep.")
        plan = plan_sweep(
            spec,
            swept,
            nominal=nominal,
            mode=args.mode,
            outputs=split_names(args.outputs),
            stop_after_outputs=args.stop_after_outputs,
        )
    store = open_store(args.cache)
    budget = _max_memory(args)
    if args.plot:
        _need(
            "matplotlib",
            "--plot needs matplotlib; install it with: pip install 'py3r-behaviour-script[notebook]'.",
        )
    if args.scheduler:
        _need("distributed", "--scheduler needs dask.distributed: pip install 'py3r-behaviour-script[dask]'.")

    def job(stop: _Stop) -> int:
        sr = execute_plan(
            plan,
            cancel=stop.token,
            workers=args.workers,
            timeout=args.timeout,
            progress=not args.no_progress,
            engine=args.engine,
            cache=store,
            retry_failed=args.retry_failed,
            executor=args.scheduler or None,
            max_memory=budget,
        )
        return _report(args, sr, stop, sampled=sampled)

    return job


def _print_table(sr: ScriptResults, *, sampled: bool) -> int:
    """Print the table of iterations, or a sampled design's indices; 1 when there are none to print."""
    import pandas as pd

    scalars = sr.scalar_outputs()
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500):
        if not sampled:
            table = sr.to_dataframe(outputs=scalars)
            print(table.to_string(index=False) if len(table) else "(no completed iterations)")
        else:
            try:
                table = sr.indices()
            except ValueError as exc:  # failed points or an interrupted design: listed below
                print(f"(no indices: {exc})")
                return 1
            runs = len(sr.design.sample) if sr.design else len(sr)
            print(f"{table.attrs['method']} indices of {runs} runs ({len(sr)} distinct points):")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    others = [n for n in sr.output_names if n not in scalars]
    if others:
        print(f"\nNot shown (not scalars): {', '.join(others)}")
    return 0


def _report(args: argparse.Namespace, sr: ScriptResults, stop: _Stop, *, sampled: bool = False) -> int:
    status = _print_table(sr, sampled=sampled)
    if args.csv:
        sr.to_dataframe(outputs=sr.scalar_outputs(), include_failed=True).to_csv(args.csv, index=False)
        print(f"\nWrote {args.csv}")
    if args.plot and any(it.ok for it in sr.iterations):
        try:
            fig = sr.plot()
        except ValueError as exc:  # nothing numeric to plot: the table above still stands
            print(f"py3r-script: no plot written: {exc}", file=sys.stderr)
            status = 1
        else:
            fig.savefig(args.plot, dpi=120, bbox_inches="tight")
            print(f"Wrote {args.plot}")
    if stop.signum is not None:
        print(
            f"\nStopped by {signal.Signals(stop.signum).name}: the table shows what had finished.",
            file=sys.stderr,
        )
    failures = sr.failures
    if failures:
        print(  # cancelled iterations never ran: listed with their cause, but not counted as failed
            f"\n{(failed := sum(it.status == 'failed' for it in failures))} of {len(sr)} iterations failed"
            f"{f'; {len(failures) - failed} were cancelled' if len(failures) > failed else ''}:",
            file=sys.stderr,
        )
        for it in failures:
            assert it.failure is not None
            print(f"  {it.params}: {it.failure.message}", file=sys.stderr)
        return stop.status if sr.interrupted else 1
    return status


def _max_memory(args: argparse.Namespace) -> int | None:
    """``--max-memory``, checked now, as is the environment variable it defaults to."""
    if args.max_memory is None:
        return ScriptResults([], []).max_memory  # what "auto" means: PY3R_SCRIPT_MAX_MEMORY, else 1 GiB
    return parse_size(args.max_memory, "--max-memory")


def _need(module: str, message: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise UsageError(message)


def _history(args: argparse.Namespace) -> Job:
    import pandas as pd

    table = history(args.script, store=args.store or True)

    def job(stop: _Stop) -> int:
        if table.empty:
            print(f"No stored iterations of {args.script}.")
            return 0
        with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 1000):
            print(table.to_string(index=False))
        return 0

    return job


_COMMANDS: dict[str, Callable[[argparse.Namespace], Job]] = {
    "history": _history,
    "inspect": _inspect,
    "run": _run,
    "sweep": _sweep,
}
