"""Executing a plan: scheduling, streaming outputs, timeouts, cancellation, failure causes.

One event loop in the calling thread watches every running iteration's result pipe. It starts up to
``workers`` iterations at once, unpickles outputs as they arrive, enforces ``timeout=``, and turns
what happened (a terminal frame, an exit code, a signal) into an :class:`Iteration`. Whatever ends the
loop (normal end, Ctrl-C, a Cancel from another thread, an exception), every process it started is
killed with its process group before it returns.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._protocol import DEFAULT_OUTPUT_LIMIT, MESSAGE, OUTPUT, FrameReader, Task
from .engine.base import Engine, Job
from .exceptions import SweepInterruptedWarning
from .plan import Plan, Point, check_value
from .results import Failure, Iteration, ScriptResults

#: Seconds between SIGTERM and SIGKILL when an iteration times out.
TERM_GRACE = 1.0
#: Seconds an iteration that has finished (all outputs in) may take to exit before it is killed:
#: covers a non-daemon thread or an atexit hook that hangs.
EXIT_GRACE = 2.0
#: Seconds to wait for killed processes to be reaped.
REAP_TIMEOUT = 10.0


class CancelToken:
    """Cancels a running call from another thread (the panel's Cancel button, a newer slider move)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)

    def cancel(self) -> None:
        """Ask the call to stop: running iterations are killed, finished ones are kept."""
        self._event.set()
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"x")

    def is_set(self) -> bool:
        return self._event.is_set()

    def fileno(self) -> int:
        return self._r

    def __del__(self) -> None:
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)


class _Cancelled(Exception):
    pass


@dataclass
class _Run:
    """What the loop knows about one running iteration."""

    point: Point
    job: Job
    t0: float
    deadline: float | None
    reader: FrameReader = field(default_factory=FrameReader)
    outputs: dict[str, Any] = field(default_factory=dict)
    frames: int = 0
    done: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    t_end: float | None = None
    eof: bool = False
    timed_out: bool = False
    cancelled: bool = False
    kill_at: float | None = None
    finish_by: float | None = None
    retries: int = 0
    iteration: Iteration | None = None

    @property
    def terminal(self) -> bool:
        return self.done is not None or self.error is not None


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def make_task(plan: Plan, point: Point, *, threads: int | None) -> Task:
    spec = plan.spec
    return Task(
        script_path=str(spec.path),
        source=spec.source,
        values=dict(point.values),
        capture=plan.capture,
        stop_after=plan.stop_after_outputs,
        cwd=os.getcwd(),
        env=dict(os.environ),
        output_limit=int(os.environ.get("PY3R_SCRIPT_MAX_OUTPUT_BYTES", DEFAULT_OUTPUT_LIMIT)),
        threads=threads,
        extra=dict(spec.extra.get("task", {})),
    )


def new_results(plan: Plan) -> ScriptResults:
    """An empty :class:`ScriptResults` for ``plan``, able to normalise lookups by its spec."""
    spec = plan.spec
    results = ScriptResults(plan.param_names, list(plan.capture))
    results.script = spec.display_path
    results.mode = plan.mode
    results.nominal = dict(plan.nominal) if plan.nominal else None

    def normalise(query: Mapping[str, Any]) -> dict[str, Any]:
        return {n: check_value(spec, spec.params[n], v) if n in spec.params else v for n, v in query.items()}

    results._normalise = normalise
    return results


def failure_of(run: _Run, plan: Plan, timeout: float | None, code: int | None, stderr: str) -> Failure | None:
    """Why an iteration failed, or ``None`` when it succeeded."""
    if run.cancelled:
        return Failure("cancelled", "The iteration was cancelled while it ran.", stderr_tail=stderr)
    if run.timed_out:
        return Failure(
            "timeout",
            f"The iteration timed out after {timeout:g} s and was stopped (its process group was sent "
            "SIGTERM, then SIGKILL). Raise timeout= if it needs longer.",
            stderr_tail=stderr,
        )
    if run.error is not None:
        info = run.error
        if info["kind"] == "exception":
            return Failure(
                "exception",
                f"The script raised {info['exc_type']}: {info['exc_message']}",
                exc_type=info["exc_type"],
                exc_message=info["exc_message"],
                traceback=info["traceback"],
                exit_code=code,
                stderr_tail=stderr,
            )
        return Failure(info["kind"], info["message"], exit_code=code, stderr_tail=stderr)
    if run.done is None:
        if code is None:
            return Failure(
                "worker",
                "The process running this iteration was lost before it reported an exit status "
                "(its warm worker died). Run it again; if it recurs, use engine='subprocess'.",
                stderr_tail=stderr,
            )
        if code < 0:
            name = _signal_name(-code)
            hint = " (possibly out of memory)" if -code == signal.SIGKILL else ""
            return Failure(
                "signal",
                f"The script's process was killed by signal {name} ({-code}){hint}.",
                exit_code=code,
                signal=name,
                stderr_tail=stderr,
            )
        if code > 0:
            return Failure("exit", f"The script exited with code {code}.", exit_code=code, stderr_tail=stderr)
    missing = [n for n in plan.capture if n not in run.outputs] if plan.explicit_outputs else []
    if missing:
        return Failure(
            "missing_outputs",
            f"The script ended before producing the requested output{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}.",
            exit_code=code,
            stderr_tail=stderr,
        )
    return None


def mark_cancelled(results: ScriptResults, plan: Plan, points: Iterable[Point], why: str) -> None:
    """Record ``points`` as cancelled, mark ``results`` interrupted and say what was kept."""
    for point in points:
        results._add(
            Iteration(
                index=point.index,
                params=dict(point.key),
                values=dict(point.values),
                status="cancelled",
                failure=Failure("cancelled", why),
            )
        )
    results.interrupted = True
    done = sum(it.ok for it in results.iterations)
    warnings.warn(
        f"Interrupted: {done} of {len(plan.points)} iterations of {plan.spec.display_path} had "
        "finished and are kept; the others are marked cancelled.",
        SweepInterruptedWarning,
        stacklevel=5,  # mark_cancelled < execute < _execute < run/sensitivity < the caller
    )


def execute(
    plan: Plan,
    engine: Engine,
    *,
    workers: int = 1,
    timeout: float | None = None,
    progress: bool = False,
    cancel: CancelToken | None = None,
    on_iteration: Callable[[Iteration, ScriptResults], None] | None = None,
    results: ScriptResults | None = None,
    points: list[Point] | None = None,
) -> ScriptResults:
    """Run ``plan``'s points with ``engine``; never raises for a failing iteration.

    ``points`` restricts the run to some of the plan's points (the others are expected to be in
    ``results`` already, e.g. from a store).

    An iteration is recorded as soon as its outcome is known (its last frame arrived, or its process
    ended), and its slot goes to the next one; its process is reaped, and its logs read, once it has
    exited. Every process has exited, or been killed with its process group, before this returns.
    """
    if results is None:
        results = new_results(plan)
    todo = list(plan.points if points is None else points)
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}.")
    workers = max(1, min(workers, len(todo) or 1))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    bar = _progress_bar(len(plan.points), len(plan.points) - len(todo), results) if progress else None
    sel = selectors.DefaultSelector()
    if cancel is not None:
        sel.register(cancel.fileno(), selectors.EVENT_READ, None)
    pending = deque(todo)
    running: dict[int, _Run] = {}  # every process not yet reaped, by result fd
    failed = 0
    interrupted = False

    def start(point: Point, retries: int = 0) -> None:
        job = engine.start(plan.spec, make_task(plan, point, threads=threads))
        now = time.monotonic()
        run = _Run(point, job, now, now + timeout if timeout else None, retries=retries)
        running[job.result_fd] = run
        sel.register(job.result_fd, selectors.EVENT_READ, run)

    def record(run: _Run, code: int | None = None) -> None:
        """Turn what is known of ``run`` into its Iteration (once)."""
        nonlocal failed
        failure = failure_of(run, plan, timeout, code, "")
        status = "ok" if failure is None else ("cancelled" if failure.kind == "cancelled" else "failed")
        run.iteration = Iteration(
            index=run.point.index,
            params=dict(run.point.key),
            values=dict(run.point.values),
            outputs=run.outputs,
            status=status,  # type: ignore[arg-type]
            failure=failure,
            wall_time=(run.t_end or time.monotonic()) - run.t0,
            info={"engine": engine.name, "cwd": os.getcwd()},
        )
        results._add(run.iteration)
        failed += status != "ok"
        if bar is not None:
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)

    def reap(run: _Run) -> None:
        """The process has ended (or is lost): clean up, complete its record."""
        sel.unregister(run.job.result_fd)
        del running[run.job.result_fd]
        run.job.killpg(signal.SIGKILL)  # anything the script left running goes too
        if (
            not run.frames
            and not run.cancelled
            and run.retries < 1
            and getattr(engine, "retry_unstarted", False)
        ):
            run.job.close()  # the worker never saw the request (it had just gone idle)
            start(run.point, retries=run.retries + 1)
            return
        code = run.job.poll()
        stdout, stderr, _, _ = run.job.read_logs()
        run.job.close()
        if run.iteration is None:
            record(run, code)
        it = run.iteration
        assert it is not None
        it.stdout, it.stderr = stdout, stderr
        it.info["pid"] = run.job.pid
        if it.failure is not None:
            it.failure.stderr_tail = stderr
            if it.failure.exit_code is None:
                it.failure.exit_code = code
        if on_iteration is not None:
            on_iteration(it, results)

    def read(run: _Run) -> None:
        fd = run.job.result_fd
        while True:
            try:
                data = os.read(fd, 1 << 20)
            except BlockingIOError:
                return
            if not data:
                run.eof = True
                return
            for kind, payload in run.reader.feed(data):
                run.frames += 1
                if kind == OUTPUT:
                    name, _, blob = payload.partition(b"\0")
                    try:
                        run.outputs[name.decode()] = pickle.loads(blob)
                    except Exception as exc:
                        run.error = run.error or {
                            "kind": "unpicklable",
                            "message": f"Output {name.decode()!r} arrived but could not be loaded in this "
                            f"process: {type(exc).__name__}: {exc}.",
                        }
                        run.t_end = time.monotonic()
                elif kind == MESSAGE:
                    message = pickle.loads(payload)
                    what = message[0]
                    if what == "started":
                        run.job.pid = message[1]
                    elif what == "done":
                        run.done = message[1]
                        run.t_end = time.monotonic()
                    elif what == "error":
                        run.error = run.error or message[1]
                        run.t_end = time.monotonic()
                    elif what == "exit":
                        run.job.set_status(message[1])

    def active() -> int:
        return sum(1 for r in running.values() if r.iteration is None)

    try:
        engine.prepare(plan.spec)
        while pending or running:
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            while pending and active() < workers:
                start(pending.popleft())
            now = time.monotonic()
            marks = [
                m
                for r in running.values()
                for m in (r.deadline if not r.timed_out else None, r.kill_at, r.finish_by)
                if m is not None
            ]
            wait = min([0.25, *(m - now for m in marks)])
            if any(r.eof or r.terminal for r in running.values()):
                wait = min(wait, 0.01)  # an ending process: poll its exit status soon
            for key, _ in sel.select(max(0.0, wait)):
                if key.data is not None:
                    read(key.data)
            now = time.monotonic()
            for run in list(running.values()):
                if (
                    run.deadline is not None
                    and now >= run.deadline
                    and not run.terminal
                    and not run.timed_out
                ):
                    run.timed_out = True
                    run.t_end = now
                    run.job.killpg(signal.SIGTERM)
                    run.kill_at = now + TERM_GRACE
                if run.kill_at is not None and now >= run.kill_at:
                    run.job.killpg(signal.SIGKILL)
                    run.kill_at = None
                if run.terminal and run.iteration is None:
                    record(run)  # outcome known: free the slot while the process exits
                if run.terminal or run.eof:
                    if run.finish_by is None:
                        run.finish_by = now + (EXIT_GRACE if run.terminal else TERM_GRACE)
                    elif now >= run.finish_by and run.job.poll() is None:
                        run.job.killpg(signal.SIGKILL)
                        run.finish_by = now + REAP_TIMEOUT
                if run.job.poll() is not None:
                    read(run)  # whatever is still in the pipe
                    reap(run)
                elif run.eof and getattr(engine, "retry_unstarted", False):
                    reap(run)  # the worker closed the pipe without a status: it was lost
    except (KeyboardInterrupt, _Cancelled):
        interrupted = True
    finally:
        # Whatever happened, nothing we started may outlive the call.
        for run in running.values():
            if run.iteration is None:
                run.cancelled = True
            run.job.killpg(signal.SIGKILL)
        deadline = time.monotonic() + REAP_TIMEOUT
        while running and time.monotonic() < deadline:
            for key, _ in sel.select(0.05):
                if key.data is not None:
                    read(key.data)
            for run in list(running.values()):
                run.job.killpg(signal.SIGKILL)  # again: a warm child's pid may only now be known
                if run.job.poll() is not None or run.eof:
                    reap(run)
        for run in list(running.values()):
            reap(run)
        sel.close()
        if bar is not None:
            bar.close()
    if interrupted:
        mark_cancelled(results, plan, pending, "The iteration was cancelled before it started.")
    results._sort()
    return results


def _progress_bar(total: int, initial: int, results: ScriptResults) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="it", desc=results.script or "sweep", leave=True)
