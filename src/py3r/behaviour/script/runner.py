"""``inspect``, ``run``, ``sensitivity`` and ``execute_plan``: the public API every front end uses.

``run`` is a sweep of one point: both build a :class:`~py3r.behaviour.script.plan.Plan` from the one
:class:`~py3r.behaviour.script.spec.ScriptSpec` and hand it to :func:`execute_plan`, which serves
what a run store holds and runs the rest, locally or on a cluster.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._engine import Engine, EngineName
from ._exec import CancelToken, execute
from ._types import ScriptPath
from .design import SAMPLED_MODES, plan_design
from .exceptions import IterationFailedWarning, SweepInterruptedWarning, warn
from .iteration import Iteration
from .plan import Plan, plan_run, plan_sweep
from .results import ScriptResults
from .spec import ScriptSpec, read_script
from .spill import resolve_max_memory

if TYPE_CHECKING:
    from collections.abc import Callable

    from .store import RunStore

__all__ = ["execute_plan", "inspect", "run", "sensitivity"]


def inspect(script_path: str | Path) -> None:
    """Print a summary of the ``Param`` and ``Output`` calls in a script.

    Useful for quickly checking what parameters a script exposes, which have defaults, and what
    outputs it produces, without running it. For the same information as an object, use
    :func:`read_script`.

    Parameters
    ----------
    script_path : str or Path
        Path to a Python script containing ``Param`` and/or ``Output`` calls.

    Examples
    --------
    >>> from py3r.behaviour.script import inspect
    >>> inspect("tests/scripts/reference_pipeline.py")  # doctest: +NORMALIZE_WHITESPACE
    Script: tests/scripts/reference_pipeline.py
    <BLANKLINE>
    Parameters:
      data_path            default='/my/data'  type=str
      smooth_window        default=5           type=int
      threshold            required
    <BLANKLINE>
    Outputs:
      tracking
      summary
    """
    print(read_script(script_path).reference_text())


#: Specs of recently read scripts, by (path as given, resolved path, working directory, mtime of the
#: script's directory): see :func:`_read`.
_SPECS: dict[tuple[str, str, str, int], tuple[bytes, ScriptSpec]] = {}
_SPECS_LOCK = threading.Lock()


def _read(script_path: ScriptPath) -> ScriptSpec:
    """:func:`read_script`, reusing the spec while the script's bytes are unchanged.

    A cache hit of ``run`` is mostly the time to parse the script; the panel reruns the same script
    again and again. The script is read every time and compared byte for byte, and a file added to
    or removed from its directory (which changes what counts as a local module) changes the
    directory's mtime: a reused spec is always the one ``read_script`` would return.
    """
    display = os.fspath(script_path)
    if display.endswith(".ipynb"):
        return read_script(script_path)  # a notebook's source is its code cells, not its bytes
    try:
        path = Path(display).expanduser().resolve()
        data = path.read_bytes()
        key = (display, str(path), os.getcwd(), path.parent.stat().st_mtime_ns)
        source = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text does
    except (OSError, UnicodeDecodeError):
        return read_script(script_path)  # with its own error messages
    known = _SPECS.get(key)
    if known is not None and known[0] == data:
        return known[1]
    spec = read_script(script_path, source=source)
    with _SPECS_LOCK:  # the panel reruns from threads
        if len(_SPECS) >= 32:
            _SPECS.pop(next(iter(_SPECS)))
        _SPECS[key] = (data, spec)
    return spec


def _workers_of(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers == 0 or workers < -1:
        raise ValueError(f"workers must be a positive int or -1 (all cores); got {workers!r}.")
    return os.cpu_count() or 1 if workers == -1 else workers


def _timeout(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None; got {timeout!r}.")
    return float(timeout)


def _warn_failures(results: ScriptResults, plan: Plan) -> None:
    failed = [it for it in results.iterations if it.status == "failed"]
    if not failed:
        return
    if len(plan.points) == 1:
        message = f"Running {plan.spec.display_path} failed: {failed[0].failure}"
    else:
        message = (
            f"{len(failed)} of {len(plan.points)} iterations of {plan.spec.display_path} failed; "
            f"the first: {failed[0].params}: "
            f"{(failed[0].failure.message if failed[0].failure else '').rstrip('.')}. "
            "See .errors for every cause."
        )
    warn(message, IterationFailedWarning)


def execute_plan(
    plan: Plan,
    *,
    engine: str | Engine = "auto",
    workers: int = 1,
    timeout: float | None = None,
    progress: bool = False,
    cancel: CancelToken | None = None,
    cache: bool | str | os.PathLike[str] | RunStore | None = None,
    retry_failed: bool = False,
    executor: Any = None,
    on_iteration: Callable[[Iteration, ScriptResults], None] | None = None,
    max_memory: int | str | None = "auto",
) -> ScriptResults:
    """Run a checked plan: serve what the run store holds, run the rest, store what arrives.

    What :func:`run` and :func:`sensitivity` do after checking their arguments into a plan; front
    ends (the command line, the magics, the panel) call it with plans of their own. It never raises
    for a failing iteration; an interrupted call returns the finished iterations with a
    :class:`SweepInterruptedWarning`.

    Parameters
    ----------
    plan : Plan
        From :func:`~py3r.behaviour.script.plan_run`, :func:`~py3r.behaviour.script.plan_sweep` or
        :func:`~py3r.behaviour.script.plan_design`.
    engine, workers, timeout, progress, cancel, cache, retry_failed, executor, max_memory
        As for :func:`sensitivity`. ``executor`` may also be a Dask scheduler address (a str):
        a client is connected for the call and closed after it.
    on_iteration : callable, optional
        Called as ``on_iteration(iteration, results)`` in the calling thread as each iteration
        finishes (not for those the store held when the call began; yes for those another process
        was computing, which arrive from the store marked ``cached``).

    Returns
    -------
    ScriptResults
        Every point of the plan, in plan order.

    Examples
    --------
    >>> from py3r.behaviour.script import execute_plan, plan_sweep, read_script
    >>> plan = plan_sweep(read_script("examples/open_field/pipeline.py"), {"threshold": [1.0, 4.0]})
    >>> seen = []
    >>> sr = execute_plan(plan, on_iteration=lambda it, results: seen.append(it.params["threshold"]))
    >>> sorted(seen), len(sr)
    ([1.0, 2.0, 4.0], 3)
    """
    from .store import open_store
    from .store.lookup import lookup

    timeout = _timeout(timeout)
    workers = _workers_of(workers)
    budget = resolve_max_memory(max_memory)
    store = open_store(cache)
    results = ScriptResults.for_plan(plan, max_memory=budget)
    points = list(plan.points)
    save = None
    claims = None
    if store is not None:  # stored before the results keep them: they may refer to the store's copy
        points, save, claims = lookup(store, plan, results, retry_failed=retry_failed, timeout=timeout)

    if points:
        try:
            execute(
                plan,
                results,
                points,
                engine=engine,
                workers=workers,
                timeout=timeout,
                progress=progress,
                cancel=cancel,
                on_iteration=on_iteration,
                executor=executor,
                before_add=save,
                claims=claims,
            )
        finally:
            if claims is not None:
                claims.close()
    if results.interrupted:
        statuses = [it.status for it in results.iterations]
        failed, cancelled = statuses.count("failed"), statuses.count("cancelled")
        warn(
            f"Interrupted: {len(statuses) - cancelled} of {len(plan.points)} iterations of "
            f"{plan.spec.display_path} ran and are kept{f' ({failed} failed)' if failed else ''}; "
            f"the other {cancelled} did not run to the end and are marked cancelled, not failed.",
            SweepInterruptedWarning,
        )
    return results


def run(
    script_path: ScriptPath,
    params: dict[str, Any] | None = None,
    *,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    timeout: float | None = None,
    engine: EngineName | Engine = "auto",
    cancel: CancelToken | None = None,
    cache: bool | str | os.PathLike[str] | RunStore | None = None,
    retry_failed: bool = False,
    max_memory: int | str | None = "auto",
) -> ScriptResults:
    """Run a parameterised script exactly once, in a fresh process, with the given parameter values.

    Unspecified parameters use their script default. Parameters with no default must be provided.
    Values are checked against each parameter's type and declared limits (``low``/``high``,
    ``choices``) before anything runs: a bad value is a ``TypeError`` or ``ValueError``. If the
    script fails, the failure is recorded in ``errors`` and an :class:`IterationFailedWarning` is
    emitted.

    Parameters
    ----------
    script_path : str or Path
        Path to a Python script containing ``Param`` and/or ``Output`` calls.
    params : dict, optional
        Parameter values to inject, keyed by name. Unspecified params use their script default.
    outputs : list of str, optional
        Names of ``Output`` values to capture. Defaults to all outputs. Naming an output makes it
        required: an iteration that ends without producing it fails.
    stop_after_outputs : bool, default False
        If True, the process stops inside the ``Output`` call that completes the requested outputs:
        no statement after it runs.
    timeout : float, optional
        Seconds after which the script is stopped and the run recorded as timed out.
    engine : str or Engine, default "auto"
        How the fresh process is made: "fork" (a warm worker that has already imported the script's
        imports; the default on Linux and macOS) or "subprocess" (a new interpreter). "auto" picks
        "fork" where it is available, unless the environment variable ``PY3R_SCRIPT_ENGINE`` names
        another.
    cancel : CancelToken, optional
        Lets another thread stop the run.
    cache : bool or path or RunStore, optional
        A run store: a stored result for the same script sources, values and outputs is returned
        without running anything (marked ``cached``); a new one is stored, failures included. True
        uses ``.py3r-runs/`` in the working directory (or ``$PY3R_SCRIPT_STORE``). Loading a store
        unpickles objects: use only stores you wrote yourself.
    retry_failed : bool, default False
        Run again an iteration whose stored result is a failure.
    max_memory : int, None or "auto", default "auto"
        Bytes of large outputs the results hold in memory. Beyond them, each large output is kept
        on disk (in the run store with ``cache=``, else in a private spill file removed with the
        results) and loaded when it is looked up: ``sr[params][name]``. Scalars and small outputs
        always stay in memory. ``"auto"``: the environment variable ``PY3R_SCRIPT_MAX_MEMORY``
        (bytes, or a size such as ``2G``), else 1 GiB. ``None`` keeps everything in memory, with a
        ``ResourceWarning`` past 1 GiB.

    Returns
    -------
    ScriptResults
        Single-entry results container. Access outputs via ``sr[params]["output_name"]``.

    Examples
    --------
    >>> from py3r.behaviour.script import run
    >>> sr = run("tests/scripts/reference_pipeline.py", {"data_path": "/data/session1", "threshold": 0.8})
    >>> summary = sr[{"data_path": "/data/session1", "threshold": 0.8}]["summary"]
    >>> summary["threshold"]
    0.8

    Capture only an early output and stop the process before downstream stages run:

    >>> sr = run("examples/open_field/pipeline.py", {"threshold": 0.8}, outputs=["tracking"],
    ...          stop_after_outputs=True)
    >>> list(sr[{"threshold": 0.8}])
    ['tracking']
    """
    spec = _read(script_path)
    plan = plan_run(spec, params, outputs=outputs, stop_after_outputs=stop_after_outputs)
    results = execute_plan(
        plan,
        cache=cache,
        retry_failed=retry_failed,
        engine=engine,
        timeout=timeout,
        cancel=cancel,
        max_memory=max_memory,
    )
    _warn_failures(results, plan)
    return results


def sensitivity(
    script_path: ScriptPath,
    params: Mapping[str, Any] | Iterable[str] | None,
    *,
    nominal: dict[str, Any] | None = None,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    mode: Literal["independent", "grid", "random", "lhs", "sobol", "morris"] = "independent",
    n: int | None = None,
    seed: int | None = None,
    second_order: bool = False,
    levels: int | None = None,
    workers: int = 1,
    timeout: float | None = None,
    executor: Any = None,
    progress: bool = True,
    engine: EngineName | Engine = "auto",
    cancel: CancelToken | None = None,
    cache: bool | str | os.PathLike[str] | RunStore | None = None,
    retry_failed: bool = False,
    max_memory: int | str | None = "auto",
) -> ScriptResults:
    """Run a parameterised script repeatedly, sweeping flagged ``Param`` values.

    Each iteration runs in a fresh process. ``Output`` values are collected and returned in a
    :class:`ScriptResults` container. Failed iterations are recorded but do not stop the run.

    For each swept parameter, its script default is automatically included in the sweep
    (deduplicated silently) and used as the nominal value for independent-mode sweeps. Use
    ``nominal`` to override this. Every swept and nominal value is checked against its
    parameter's type and declared limits before anything runs.

    Parameters
    ----------
    script_path : str or Path
        Path to a Python script containing ``Param`` and ``Output`` calls.
    params : dict of str to list
        Mapping of parameter name to list of values to sweep. For a sampled design (below), each
        parameter's range ``(low, high)`` (a tuple) or list of choices (None: the range or choices
        its ``Param`` declares), or a list of names whose declared ranges are used.
    nominal : dict, optional
        Nominal (baseline) values. Overrides script defaults. Required for any swept parameter that
        has no script default (independent mode), and for any required parameter not swept.
    outputs : list of str, optional
        Names of ``Output`` values to capture. Defaults to all outputs.
    stop_after_outputs : bool, default False
        If True, each process is stopped after the last requested output is captured.
    mode : {"independent", "grid", "random", "lhs", "sobol", "morris"}, default "independent"
        "independent" varies one parameter at a time, holding the others at their nominal value;
        "grid" tests every combination. The others are sampled designs (SALib; no nominal point is
        added), analysed by :meth:`ScriptResults.indices`: "random" and "lhs" (Latin hypercube)
        run ``n`` points, "sobol" Saltelli's design of ``n`` base samples (``n * (D + 2)`` runs for
        D parameters), "morris" ``n`` trajectories (``n * (D + 1)`` runs). Int parameters take
        values of their step grid, choices are equally likely, and identical rows run once.
    n : int, optional
        The size of a sampled design (required there): points, base samples (a power of 2) or
        trajectories.
    seed : int, optional
        Makes a sampled design reproducible (and served again from a run store); drawn at random
        when omitted and kept in ``results.design.seed``.
    second_order : bool, default False
        ``mode="sobol"``: also estimate second-order indices (``n * (2D + 2)`` runs).
    levels : int, optional
        ``mode="morris"``: the number of grid levels (even; default 4).
    workers : int, default 1
        Iterations run at once on this machine (-1: one per core). Results do not depend on it.
    timeout : float, optional
        Seconds after which an iteration is stopped and recorded as timed out.
    executor : dask.distributed.Client, str or concurrent.futures.Executor, optional
        Run the iterations there instead of locally (each still in a fresh process). A str is a
        Dask scheduler address (``"tcp://host:8786"``): a client is connected for this call only.
    progress : bool, default True
        Show a progress bar (tqdm.auto: a widget in notebooks, text in terminals).
    engine : str or Engine, default "auto"
        How fresh processes are made locally: "auto", "fork" or "subprocess"; see :func:`run`.
    cancel : CancelToken, optional
        Lets another thread stop the sweep; finished iterations are kept.
    cache : bool or path or RunStore, optional
        A run store (see :func:`run`). Each iteration is stored as it finishes, so a sweep run
        again after an interruption runs only the iterations that have no stored result.
    retry_failed : bool, default False
        Run again the iterations whose stored result is a failure.
    max_memory : int, None or "auto", default "auto"
        Bytes of large outputs the results hold in memory; beyond them, large outputs are kept on
        disk and loaded on access (see :func:`run`). The progress bar shows the bytes of large
        outputs received.

    Returns
    -------
    ScriptResults
        Results keyed by parameter combination. Access individual outputs via
        ``sr[{"param": value}]["output_name"]``, or flatten scalar outputs with
        ``sr.to_dataframe()`` (which raises ``TypeError`` while a captured output is not a scalar:
        name the scalar ones, ``sr.to_dataframe(outputs=[...])``, or sweep with ``outputs=[...]``).

    Examples
    --------
    Independent sweep (default mode): one parameter varies at a time.

    >>> from py3r.behaviour.script import sensitivity
    >>> sr = sensitivity("examples/open_field/pipeline.py",
    ...                  {"smooth_window": [3, 5, 7], "threshold": [0.5, 0.8]}, progress=False)
    >>> len(sr)  # 3 + 3 points (the default 2.0 is added to threshold), nominal point once
    5
    >>> df = sr.to_dataframe(outputs=["fraction_moving", "distance_cm"])
    >>> list(df.columns)
    ['smooth_window', 'threshold', 'fraction_moving', 'distance_cm']

    Grid sweep: every combination of parameter values.

    >>> sr = sensitivity("examples/open_field/pipeline.py",
    ...                  {"smooth_window": [3, 5, 7], "threshold": [0.5, 0.8]}, mode="grid", progress=False)
    >>> len(sr)
    9

    Sampled design: Morris screening of two declared ranges, 4 trajectories of 3 points each.

    >>> sr = sensitivity("examples/open_field/pipeline.py", ["threshold", "centre_fraction"],
    ...                  mode="morris", n=4, seed=1, outputs=["fraction_moving"], progress=False)
    >>> sr.indices()[["param", "mu_star"]].round(3).values.tolist()
    [['threshold', 0.969], ['centre_fraction', 0.0]]
    """
    spec = _read(script_path)
    sampled = (n, seed, second_order, levels) != (None, None, False, None)
    if mode in SAMPLED_MODES:
        plan = plan_design(
            spec,
            params,
            mode=mode,
            n=n,  # type: ignore[arg-type]  # plan_design refuses None, asking for n=
            seed=seed,
            second_order=second_order,
            levels=levels,
            nominal=nominal,
            outputs=outputs,
            stop_after_outputs=stop_after_outputs,
        )
    elif sampled:
        raise ValueError(
            f"n=, seed=, second_order= and levels= are options of sampled designs (mode='random', "
            f"'lhs', 'sobol' or 'morris'); mode={mode!r} sweeps the lists of values given."
        )
    else:
        plan = plan_sweep(
            spec,
            params,  # type: ignore[arg-type]  # plan_sweep refuses anything but a dict, saying so
            nominal=nominal,
            mode=mode,
            outputs=outputs,
            stop_after_outputs=stop_after_outputs,
        )
    results = execute_plan(
        plan,
        cache=cache,
        retry_failed=retry_failed,
        executor=executor,
        engine=engine,
        workers=workers,
        timeout=timeout,
        progress=progress,
        cancel=cancel,
        max_memory=max_memory,
    )
    _warn_failures(results, plan)
    return results
