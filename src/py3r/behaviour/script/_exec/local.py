"""The local loop: scheduling, streaming outputs, timeouts, cancellation, failure causes.

One event loop in the calling thread watches every running iteration's result channel. It starts up
to ``workers`` iterations at once, loads outputs as they arrive (a large one's buffers mapped from
the shared memory it came in, not copied), enforces ``timeout=``, and turns
what happened (a terminal frame, an exit code, a signal) into an :class:`Iteration`. Whatever ends the
loop (normal end, Ctrl-C, a Cancel from another thread, an exception), every process it started is
killed with its process group before it returns.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .._engine import Engine, Job, Preload, get_engine
from .._worker.protocol import MESSAGE, OUTPUT, SHARED, FrameReader, ProtocolError, Task
from ..exceptions import WorkerStartError, warn
from ..iteration import Failure, Iteration
from ..payload import Payload
from ..plan import Point
from .cancel import CancelToken
from .outcome import Ending, failure_of

__all__ = ["CLAIM_POLL", "EXIT_GRACE", "REAP_TIMEOUT", "TERM_GRACE", "Claims", "LocalLoop"]

#: Seconds between SIGTERM and SIGKILL when an iteration times out.
TERM_GRACE = 1.0
#: Seconds an iteration that has finished (all outputs in) may take to exit before it is killed:
#: covers a non-daemon thread or an atexit hook that hangs.
EXIT_GRACE = 2.0
#: Seconds to wait for killed processes to be reaped.
REAP_TIMEOUT = 10.0
#: Seconds between asking again about points another process is computing.
CLAIM_POLL = 0.2


class Claims(Protocol):
    """Who computes which point, when several processes share a run store (its leases)."""

    def claim(self, point: Point) -> Iteration | bool:
        """True: run ``point`` here; False: another process runs it, ask again later; an
        Iteration: its result, stored meanwhile."""
        ...  # pragma: no cover - a protocol


def _memory_size() -> int | None:
    """Bytes of memory this machine has: no frame can be larger (a larger length is garbage)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


_MAX_FRAME = _memory_size()


class _Cancelled(Exception):
    pass


@dataclass
class _Run:
    """What the loop knows about one running iteration."""

    point: Point
    task: Task
    job: Job
    t0: float
    deadline: float | None
    ending: Ending = field(default_factory=Ending)
    reader: FrameReader = field(default_factory=lambda: FrameReader(_MAX_FRAME))
    frames: int = 0
    t_end: float | None = None
    eof: bool = False
    kill_at: float | None = None
    finish_by: float | None = None
    retries: int = 0
    iteration: Iteration | None = None

    @property
    def terminal(self) -> bool:
        return self.ending.done is not None or self.ending.error is not None


class LocalLoop:
    """Runs tasks on this machine with an engine; reports each iteration once its outcome is known.

    An iteration is reported as soon as its outcome is known (its last frame arrived, or its
    process ended), and its slot goes to the next one; its process is reaped, and its logs read,
    once it has exited (the report's ``stdout``/``stderr`` are filled in then, before
    ``on_iteration`` is called). Every process has exited, or been killed with its process group,
    before :meth:`run` returns.
    """

    def __init__(
        self,
        engine: Engine,
        preload: Preload,
        *,
        on_iteration: Callable[[Iteration], None],
        workers: int = 1,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
        label: str = "the script",
        on_output: Callable[[int], None] | None = None,
        claims: Claims | None = None,
    ) -> None:
        self.engine = engine
        self.preload = preload
        self.on_iteration = on_iteration
        self.workers = max(1, workers)
        self.timeout = timeout
        self.cancel = cancel
        self.label = label
        #: Called with the pickled size of each output as it arrives (progress of bytes received).
        self.on_output = on_output
        self.sel = selectors.DefaultSelector()
        self.running: dict[int, _Run] = {}  # every process not yet reaped, by result fd
        self.pending: deque[tuple[Point, Task, int]] = deque()  # (point, task, retries) not started
        #: Points another process is computing (their results are awaited in the store).
        self.waiting: list[tuple[Point, Task, int]] = []
        self.claims = claims
        self._next_claim = 0.0
        self._prepared = False

    # Starting ----------------------------------------------------------------------------------
    def _prepare(self, since: float) -> bool:
        """Get the engine ready (a warm worker's imports), within the waiting iterations' timeout.

        Returns False when their timeout ran out first: the engine has killed what it started, and
        those iterations are reported timed out. Ctrl-C and a Cancel stop the wait as well.
        """
        deadline = since + self.timeout if self.timeout else None
        cancel_fd = self.cancel.fileno() if self.cancel is not None else None
        try:
            ok = self.engine.prepare(self.preload, deadline=deadline, cancel_fd=cancel_fd)
        except WorkerStartError as exc:
            warn(
                f"{exc} Running {self.label} with a new interpreter per iteration instead "
                "(engine='subprocess').",
                RuntimeWarning,
            )
            self.engine = get_engine("subprocess")
            ok = self.engine.prepare(self.preload, deadline=deadline, cancel_fd=cancel_fd)
        if self.cancel is not None and self.cancel.is_set():
            raise _Cancelled
        self._prepared = ok
        if not ok:
            waiting = min(self.workers - self._active(), len(self.pending))
            for _ in range(waiting):
                point, task, _ = self.pending.popleft()
                self.on_iteration(
                    Iteration.at(
                        point,
                        status="failed",
                        failure=Failure(
                            "timeout",
                            f"The iteration timed out after {self.timeout:g} s before the script started: "
                            "the warm worker was still importing the script's imports, and was stopped "
                            "with everything it had started. Raise timeout= to allow for the imports, or "
                            "find the import that hangs (run the script with python -X importtime).",
                        ),
                        wall_time=time.monotonic() - since,
                        info={"engine": self.engine.name, "cwd": task.cwd},
                    )
                )
        return ok

    def _fill(self) -> None:
        """Start pending iterations while slots are free (getting the engine ready first if need be).

        With claims, a point another process is computing waits aside, and the next one starts.
        """
        if self.waiting and time.monotonic() >= self._next_claim:
            self._ask_again()
        since: float | None = None
        while self.pending and self._active() < self.workers:
            if not self._prepared or not self.engine.ready():
                since = time.monotonic()
                if not self._prepare(since):
                    continue
            point, task, retries = self.pending.popleft()
            if self.claims is not None and not retries:
                got = self.claims.claim(point)
                if got is False:
                    self.waiting.append((point, task, retries))
                    self._next_claim = time.monotonic() + CLAIM_POLL
                    continue
                if isinstance(got, Iteration):
                    self.on_iteration(got)
                    continue
            self._start(point, task, retries, since=since)

    def _ask_again(self) -> None:
        """Ask about the points that wait for another process: stored now, or theirs to run."""
        assert self.claims is not None
        still, ready = [], []
        for point, task, retries in self.waiting:
            got = self.claims.claim(point)
            if got is False:
                still.append((point, task, retries))
            elif isinstance(got, Iteration):
                self.on_iteration(got)
            else:
                ready.append((point, task, retries))
        self.waiting = still
        self.pending.extendleft(reversed(ready))
        self._next_claim = time.monotonic() + CLAIM_POLL

    def _start(self, point: Point, task: Task, retries: int = 0, *, since: float | None = None) -> None:
        job = self.engine.start(task)
        now = time.monotonic()
        t0 = since if since is not None else now  # waiting for the engine counts against the timeout
        run = _Run(point, task, job, t0, t0 + self.timeout if self.timeout else None, retries=retries)
        self.running[job.result_fd] = run
        self.sel.register(job.result_fd, selectors.EVENT_READ, run)

    def _active(self) -> int:
        return sum(1 for r in self.running.values() if r.iteration is None)

    # Outcomes ----------------------------------------------------------------------------------
    def _record(self, run: _Run, code: int | None = None, stderr: str = "") -> None:
        """Turn what is known of ``run`` into its Iteration (once)."""
        failure = failure_of(
            run.ending,
            code=code,
            capture=run.task.capture or (),
            required=run.task.required,
            timeout=self.timeout,
            stderr=stderr,
        )
        status = "ok" if failure is None else ("cancelled" if failure.kind == "cancelled" else "failed")
        run.iteration = Iteration.at(
            run.point,
            outputs=run.ending.outputs,
            status=status,
            failure=failure,
            wall_time=(run.t_end or time.monotonic()) - run.t0,
            info={"engine": self.engine.name, "cwd": run.task.cwd},
        )

    def _reap(self, run: _Run) -> None:
        """The process has ended (or is lost): clean up, complete its record, report it."""
        self.sel.unregister(run.job.result_fd)
        del self.running[run.job.result_fd]
        run.job.killpg(signal.SIGKILL)  # anything the script left running goes too
        if not run.frames and not run.ending.cancelled and run.retries < 1 and self.engine.retry_unstarted:
            run.reader.close()
            run.job.close()  # the worker never saw the request (it had just gone idle)
            self.pending.appendleft((run.point, run.task, run.retries + 1))
            return
        code = run.job.poll()
        stdout, stderr, _, _ = run.job.read_logs()
        run.reader.close()  # segments of outputs whose frames were cut short
        run.job.close()
        if run.iteration is None:
            self._record(run, code, stderr)
        it = run.iteration
        assert it is not None
        it.stdout, it.stderr = stdout, stderr
        it.info["pid"] = run.job.pid
        if it.failure is not None:
            it.failure.stderr_tail = stderr
            if it.failure.exit_code is None:
                it.failure.exit_code = code
        self.on_iteration(it)

    def _read(self, run: _Run) -> None:
        ending = run.ending
        while not run.eof:
            try:
                n, fds = run.job.receive_into(run.reader.buffer())
            except BlockingIOError:
                return
            except OSError:  # the channel broke: as good as its end
                n, fds = 0, []
            run.reader.fds.extend(fds)
            if not n:
                run.eof = True
                run.reader.close()
                return
            try:
                frames = run.reader.received(n)
            except ProtocolError as exc:
                self._garbled(run, exc)
                return
            for kind, body, fd in frames:
                run.frames += 1
                if kind in (OUTPUT, SHARED):
                    self._output(run, kind, body, fd)
                elif kind == MESSAGE:
                    message = pickle.loads(body)
                    what = message[0]
                    if what == "started":
                        run.job.pid = message[1]
                    elif what == "done":
                        ending.done = message[1]
                        run.t_end = time.monotonic()
                    elif what == "error":
                        ending.error = ending.error or message[1]
                        run.t_end = time.monotonic()
                    elif what == "exit":
                        run.job.set_status(message[1])

    def _output(self, run: _Run, kind: int, body: bytearray, fd: int | None) -> None:
        ending = run.ending
        try:
            name, payload = Payload.received(kind, body, fd)
        except ProtocolError as exc:
            if fd is not None:
                os.close(fd)
            self._garbled(run, exc)
            return
        try:
            payload.value  # noqa: B018 (loaded now: an output that cannot be is a failure now)
        except Exception as exc:
            payload.close()
            ending.error = ending.error or {
                "kind": "unpicklable",
                "message": f"Output {name!r} arrived but could not be loaded in this "
                f"process: {type(exc).__name__}: {exc}.",
            }
            run.t_end = time.monotonic()
            return
        old = ending.outputs.get(name)
        if isinstance(old, Payload):
            old.close()  # output again: the last value wins
        ending.outputs[name] = payload
        if self.on_output is not None:
            self.on_output(payload.nbytes)

    def _garbled(self, run: _Run, exc: ProtocolError) -> None:
        """Something that is no frame came down the channel: nothing after it can be trusted."""
        run.ending.error = run.ending.error or {
            "kind": "worker",
            "message": "The result channel of this iteration carried data that is not the library's "
            f"({exc}): something in the script's process wrote to a file descriptor it did not open. "
            "Outputs sent after that point are lost.",
        }
        run.t_end = time.monotonic()
        run.eof = True
        run.reader.close()
        run.job.killpg(signal.SIGKILL)

    # The loop ------------------------------------------------------------------------------------
    def _wait(self) -> float:
        now = time.monotonic()
        marks = [
            m
            for r in self.running.values()
            for m in (r.deadline if not r.ending.timed_out else None, r.kill_at, r.finish_by)
            if m is not None
        ]
        if self.waiting:
            marks.append(self._next_claim)
        wait = min([0.25, *(m - now for m in marks)])
        if any(r.eof or r.terminal for r in self.running.values()):
            wait = min(wait, 0.01)  # an ending process: poll its exit status soon
        return max(0.0, wait)

    def _tend(self, run: _Run, now: float) -> None:
        """Enforce the deadlines of one running iteration and reap it once it has ended."""
        if run.deadline is not None and now >= run.deadline and not run.terminal and not run.ending.timed_out:
            run.ending.timed_out = True
            run.t_end = now
            run.job.killpg(signal.SIGTERM)
            run.kill_at = now + TERM_GRACE
        if run.kill_at is not None and now >= run.kill_at:
            run.job.killpg(signal.SIGKILL)
            run.kill_at = None
        if run.terminal and run.iteration is None:
            self._record(run)  # outcome known: free the slot while the process exits
        if run.terminal or run.eof:
            if run.finish_by is None:
                run.finish_by = now + (EXIT_GRACE if run.terminal else TERM_GRACE)
            elif now >= run.finish_by and run.job.poll() is None:
                run.job.killpg(signal.SIGKILL)
                run.finish_by = now + REAP_TIMEOUT
        if run.job.poll() is not None:
            self._read(run)  # whatever is still in the pipe
            self._reap(run)
        elif run.eof and self.engine.retry_unstarted:
            self._reap(run)  # the worker closed the pipe without a status: it was lost

    def run(self, work: list[tuple[Point, Task]]) -> tuple[bool, list[Point]]:
        """Run every ``(point, task)``; return whether the call was interrupted, and the points that
        never started then (running ones are reported cancelled)."""
        if self.cancel is not None:
            self.sel.register(self.cancel.fileno(), selectors.EVENT_READ, None)
        self.pending.extend((point, task, 0) for point, task in work)
        interrupted = False
        try:
            while self.pending or self.running or self.waiting:
                if self.cancel is not None and self.cancel.is_set():
                    raise _Cancelled
                self._fill()
                for key, _ in self.sel.select(self._wait()):
                    if key.data is not None:
                        self._read(key.data)
                now = time.monotonic()
                for run in list(self.running.values()):
                    self._tend(run, now)
        except (KeyboardInterrupt, _Cancelled):
            interrupted = True
        finally:
            self._stop_all()
        return interrupted, [point for point, _, _ in [*self.pending, *self.waiting]]

    def _stop_all(self) -> None:
        """Whatever happened, nothing this loop started may outlive it."""
        for run in self.running.values():
            if run.iteration is None:
                run.ending.cancelled = True
            run.job.killpg(signal.SIGKILL)
        deadline = time.monotonic() + REAP_TIMEOUT
        while self.running and time.monotonic() < deadline:
            for key, _ in self.sel.select(0.05):
                if key.data is not None:
                    self._read(key.data)
            for run in list(self.running.values()):
                run.job.killpg(signal.SIGKILL)  # again: a warm child's pid may only now be known
                if run.job.poll() is not None or run.eof:
                    self._reap(run)
        for run in list(self.running.values()):
            self._reap(run)
        self.sel.close()
