"""Sweeps on a Dask cluster (or any ``concurrent.futures.Executor``): ``sensitivity(..., executor=)``.

Each iteration becomes one task. On the worker it runs exactly as it would locally: in a fresh
process made by the local engine (a warm forked worker per script per Dask worker), with the same
output capture, failure recording and timeout. The task carries the script's source, so workers
need no copy of the script file; ``__file__`` still names the original path, and data files the
script opens must be reachable from the workers under the same paths.

Results stream back as tasks finish. Ctrl-C or a Cancel stops the sweep: pending tasks are
cancelled and running ones are told to kill their process (through a Dask ``Event``; with a thread
pool, directly). A worker that dies gives that iteration a recorded failure after Dask's own retries.
The user's client and cluster are never closed here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
import warnings
from typing import Any

from .exceptions import SweepInterruptedWarning
from .execute import CancelToken, mark_cancelled, new_results
from .plan import Plan, Point
from .results import Failure, Iteration, ScriptResults

__all__ = ["execute_on"]

_POLL = 0.2
#: Seconds a cancelled sweep waits for running tasks to stop their processes.
CANCEL_WAIT = 15.0


def _is_dask(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed"


def _run_remote(task: dict[str, Any], event: str | None = None, token: CancelToken | None = None) -> bytes:
    """Run one iteration where this is called (a Dask worker or a pool's thread); return it pickled.

    The iteration is returned cloudpickled so that objects of classes defined in the script travel
    back whatever the executor's own serialisation is.
    """
    import cloudpickle

    from .discovery import read_script
    from .engine import get_engine
    from .execute import execute

    spec = read_script(task["path"], source=task["source"])
    spec.extra["task"] = task["extra"]  # a notebook's cells, run one by one there too
    point = Point(0, task["key"], task["values"])
    plan = Plan(
        spec, list(task["key"]), [point], tuple(task["capture"]), task["explicit"], task["stop_after"]
    )
    token = token or CancelToken()
    finished = threading.Event()
    where = socket.gethostname()
    if event is not None:
        from distributed import Event, get_client, get_worker

        where = get_worker().address
        remote = Event(event, client=get_client())  # bound here: the watcher thread has no context

        def watch() -> None:  # a Cancel on the client reaches this task through the scheduler
            while not finished.is_set():
                try:
                    cancelled = remote.wait(timeout=_POLL)
                except Exception:  # the scheduler is gone (cluster closing): nobody is left to cancel
                    return
                if cancelled:
                    token.cancel()
                    return

        threading.Thread(target=watch, daemon=True).start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SweepInterruptedWarning)
            results = execute(plan, get_engine("auto"), timeout=task["timeout"], cancel=token)
    finally:
        finished.set()
    it = results.iterations[0]
    it.info["worker"] = where
    return cloudpickle.dumps(it)


def execute_on(
    plan: Plan,
    executor: Any,
    *,
    timeout: float | None = None,
    progress: bool = False,
    cancel: CancelToken | None = None,
    on_iteration: Any = None,
    results: ScriptResults | None = None,
    points: list[Point] | None = None,
) -> ScriptResults:
    """Run ``plan``'s points as tasks on ``executor``; the same contract as ``execute.execute``."""
    import pickle

    if results is None:
        results = new_results(plan)
    todo = list(plan.points if points is None else points)
    dask = _is_dask(executor)
    spec = plan.spec
    base = {
        "path": str(spec.path),
        "source": spec.source,
        "capture": list(plan.capture),
        "explicit": plan.explicit_outputs,
        "stop_after": plan.stop_after_outputs,
        "timeout": timeout,
        "extra": dict(spec.extra.get("task", {})),
    }
    event_name = f"py3r-cancel-{uuid.uuid4().hex}" if dask else None
    local_token = CancelToken() if not dask else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(plan.points), initial=len(plan.points) - len(todo), unit="it", desc=results.script
        )
    futures: dict[Any, Point] = {}
    for point in todo:
        task = {**base, "key": dict(point.key), "values": dict(point.values)}
        if dask:
            fut = executor.submit(
                _run_remote, task, event_name, pure=False, key=f"py3r-{point.index}-{uuid.uuid4().hex[:8]}"
            )
        else:
            thread_pool = type(executor).__name__ == "ThreadPoolExecutor"
            fut = executor.submit(_run_remote, task, None, local_token if thread_pool else None)
        futures[fut] = point
    pending = set(futures)
    interrupted = False
    failed = 0
    try:
        while pending:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            done = _wait_some(pending, dask)
            for fut in done:
                pending.discard(fut)
                point = futures[fut]
                it = _collect(fut, point, pickle)
                results._add(it)
                failed += not it.ok
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(failed=failed, refresh=False)
                if on_iteration is not None:
                    on_iteration(it, results)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if pending:
            _cancel(executor, pending, dask, event_name, local_token)
        if bar is not None:
            bar.close()
    if interrupted:
        mark_cancelled(
            results, plan, (futures[f] for f in pending), "The iteration was cancelled before it finished."
        )
    results._sort()
    return results


def _wait_some(pending: set[Any], dask: bool) -> set[Any]:
    if dask:
        from distributed import wait

        try:
            done, _ = wait(list(pending), timeout=_POLL, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)
    import concurrent.futures as cf

    done, _ = cf.wait(pending, timeout=_POLL, return_when=cf.FIRST_COMPLETED)
    return set(done)


def _collect(fut: Any, point: Point, pickle: Any) -> Iteration:
    try:
        it: Iteration = pickle.loads(fut.result())
    except Exception as exc:  # the task itself failed: a worker died, or the cluster lost it
        name = type(exc).__name__
        why = (
            f"The worker running this iteration died ({name}: {exc}); Dask gave up after its retries."
            if name == "KilledWorker"
            else f"The executor could not run this iteration: {name}: {exc}"
        )
        return Iteration(
            index=point.index,
            params=dict(point.key),
            values=dict(point.values),
            status="failed",
            failure=Failure("worker", why),
        )
    it.index = point.index
    it.params = dict(point.key)
    return it


def _cancel(
    executor: Any, pending: set[Any], dask: bool, event_name: str | None, token: CancelToken | None
) -> None:
    """Tell running tasks to kill their processes, let them end (bounded), cancel what is left."""
    if dask:
        from distributed import Event, wait

        Event(event_name, client=executor).set()
        with contextlib.suppress(TimeoutError):
            wait(list(pending), timeout=CANCEL_WAIT)
        executor.cancel(list(pending))
        return
    import concurrent.futures as cf

    for fut in pending:
        fut.cancel()  # those not started yet
    if token is not None:
        token.cancel()
    cf.wait(pending, timeout=CANCEL_WAIT)
