"""Sweeps on a Dask cluster (or any ``concurrent.futures.Executor``): ``sensitivity(..., executor=)``.

Each iteration becomes one task. On the worker it runs exactly as it would locally: in a fresh
process made by the local loop and engine (a warm forked worker per script per Dask worker), with
the same output capture, failure recording and timeout. The task carries the script's source, so
workers need no copy of the script file; ``__file__`` still names the original path, and data files
the script opens must be reachable from the workers under the same paths. An iteration uses the
worker's working directory and environment.

Results stream back as tasks finish. Ctrl-C or a Cancel stops the sweep: pending tasks are
cancelled and running ones are told to kill their process (through a Dask ``Event``; with a thread
pool, directly). A worker that dies gives that iteration a recorded failure after Dask's own retries.
The user's client and cluster are never closed here; a client this module connects to a scheduler
address itself is closed when the sweep ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from .._engine import Preload, get_engine
from .._worker.protocol import Task
from ..iteration import Failure, Iteration, at_point
from ..payload import Payload
from ..plan import Point
from .cancel import CancelToken
from .local import LocalLoop
from .outcome import cancelled

__all__ = ["connected", "run_on_executor"]

_POLL = 0.2
#: Seconds a cancelled sweep waits for running tasks to stop their processes.
CANCEL_WAIT = 15.0


def _is_dask(executor: Any) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed"


@contextlib.contextmanager
def connected(executor: Any) -> Iterator[Any]:
    """The executor for ``executor=``: a scheduler address (str) is connected to here, and closed after."""
    if not isinstance(executor, str):
        yield executor
        return
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(
            "executor= with a scheduler address needs dask.distributed: "
            "pip install 'py3r-behaviour-script[dask]'."
        ) from None
    try:
        client = Client(executor, timeout=10)
    except OSError as exc:
        raise ConnectionError(
            f"Cannot reach the Dask scheduler at {executor} ({exc}). Check that the scheduler is "
            "running, and that its address and port are the ones it prints when it starts."
        ) from None
    try:
        yield client
    finally:
        client.close()


def _run_remote(
    point: Point,
    task: Task,
    preload: Preload,
    timeout: float | None,
    event: str | None = None,
    token: CancelToken | None = None,
) -> bytes:
    """Run one iteration where this is called (a Dask worker or a pool's thread); return its record.

    The record is cloudpickled so that objects of classes defined in the script travel back
    whatever the executor's own serialisation is.
    """
    import cloudpickle

    task = dataclasses.replace(task, cwd=os.getcwd(), env=dict(os.environ))  # the worker's own
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
    arrived: list[Iteration] = []
    loop = LocalLoop(get_engine("auto"), preload, on_iteration=arrived.append, timeout=timeout, cancel=token)
    try:
        loop.run([(point, task)])
    finally:
        finished.set()
    it = arrived[0] if arrived else cancelled(point, "The iteration was cancelled before it started.")
    it.info["worker"] = where
    for name, value in it.outputs.items():
        if isinstance(value, Payload):  # Dask's own transport takes it from here
            it.outputs[name] = value.value
            value.close()
    return cloudpickle.dumps(it.to_record())


def run_on_executor(
    executor: Any,
    work: list[tuple[Point, Task]],
    preload: Preload,
    *,
    on_iteration: Callable[[Iteration], None],
    timeout: float | None = None,
    cancel: CancelToken | None = None,
) -> tuple[bool, list[Point]]:
    """Run each ``(point, task)`` as one task on ``executor``; the same contract as the local loop's
    :meth:`~py3r.behaviour.script._exec.local.LocalLoop.run`."""
    dask = _is_dask(executor)
    event_name = f"py3r-cancel-{uuid.uuid4().hex}" if dask else None
    local_token = CancelToken() if not dask else None
    futures: dict[Any, Point] = {}
    for point, task in work:
        if dask:
            key = f"py3r-{point.index}-{uuid.uuid4().hex[:8]}"
            fut = executor.submit(_run_remote, point, task, preload, timeout, event_name, pure=False, key=key)
        else:
            thread_pool = type(executor).__name__ == "ThreadPoolExecutor"
            token = local_token if thread_pool else None
            fut = executor.submit(_run_remote, point, task, preload, timeout, None, token)
        futures[fut] = point
    pending = set(futures)
    interrupted = False
    try:
        while pending:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            for fut in _wait_some(pending, dask):
                pending.discard(fut)
                on_iteration(_collect(fut, futures[fut]))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if pending:
            _cancel(executor, pending, dask, event_name, local_token)
    return interrupted, sorted((futures[f] for f in pending), key=lambda p: p.index)


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


def _collect(fut: Any, point: Point) -> Iteration:
    try:
        it = Iteration.from_record(pickle.loads(fut.result()))
    except Exception as exc:  # the task itself failed: a worker died, or the cluster lost it
        name = type(exc).__name__
        why = (
            f"The worker running this iteration died ({name}: {exc}); Dask gave up after its retries."
            if name == "KilledWorker"
            else f"The executor could not run this iteration ({name}: {exc}). Most often the package, "
            "or what it needs such as cloudpickle, is not installed in the Python its workers run."
        )
        return Iteration.at(point, status="failed", failure=Failure("worker", why))
    return at_point(it, point)


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
