"""The warm engine: one long-lived worker per script forks a fresh child for every iteration.

The worker (:mod:`py3r.behaviour.script._worker.zygote`) has already imported the script's top-level
imports, so a child starts in milliseconds instead of re-importing pandas. Workers are kept between
calls in this Python session, keyed by the script's directory and imports, and replaced when they
die; they exit after an idle time and when this process ends, however it ends.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from typing import IO

from .._proc import stat_fields
from .._worker.protocol import MESSAGE, FrameReader, Task
from ..exceptions import WorkerStartError
from ..settings import env_number
from .base import Engine, Job, Preload

#: Seconds a worker waits for work before it exits (PY3R_SCRIPT_WORKER_IDLE overrides).
DEFAULT_IDLE = 600.0
#: Idle workers kept at once; the least recently used goes first. A worker with running iterations,
#: or one that a call is waiting for, is never closed: the pool grows past this while all are busy.
MAX_WORKERS = 4
#: Seconds a worker may take to import the script's imports (when the call has no earlier deadline).
READY_TIMEOUT = 180.0


class _WorkerGone(Exception):
    """The worker a call waited for was stopped by another call (which gave up its own wait)."""


class WarmWorker:
    """Owner-side handle of one warm worker process.

    Made without waiting: :meth:`wait_ready` waits for the worker's imports, within a deadline and
    a cancel descriptor, and kills the worker (with all it started) when it stops waiting early.
    """

    def __init__(self, script_dir: str, modules: list[tuple[str, tuple[str, ...]]], idle: float) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-P",  # never the caller's working directory on sys.path: see the worker's main()
                    "-m",
                    "py3r.behaviour.script._worker.zygote",
                    str(theirs.fileno()),
                    script_dir,
                    str(idle),
                ],
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=self._log,
                pass_fds=(theirs.fileno(),),
                # Its own session: a signal to our process group (a kernel restart) must not kill it
                # before it has killed its children; it follows us through the control socket.
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.sock = ours
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # one thread at a time reads the start-up frame
        self._reader = FrameReader()
        self.ready = False
        #: Why the worker could not start (once known): every waiter gets the same answer.
        self.start_error: str | None = None
        self.closed = False
        self.threaded: list[str] = []
        #: Iterations sent to it and not yet finished, and calls waiting for it to get ready.
        self.running = 0
        self.waiting = 0
        self.started = time.monotonic()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(modules).encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def busy(self) -> bool:
        """Whether an iteration runs on it or a call waits for it: then it must not be closed."""
        with self._lock:
            return self.running > 0 or self.waiting > 0

    def waiter(self, delta: int) -> None:
        """One more (+1) or one fewer (-1) call waiting for it."""
        with self._lock:
            self.waiting += delta

    def wait_ready(self, deadline: float | None = None, cancel_fd: int | None = None) -> bool:
        """Wait until the worker has imported the script's imports; True once it has.

        False when ``deadline`` (a :func:`time.monotonic` time) passes first or ``cancel_fd``
        becomes readable: the worker, and everything it started, is killed then (as on any
        exception, Ctrl-C, while waiting), unless another call still waits for it. Raises
        :class:`WorkerStartError` when the worker exits while starting or is not ready within
        :data:`READY_TIMEOUT`, and ``_WorkerGone`` when another call stopped it meanwhile.
        """
        limit = self.started + READY_TIMEOUT
        try:
            while not self.ready:
                if self.start_error is not None:
                    raise WorkerStartError(self.start_error)
                if self.closed:
                    raise _WorkerGone
                now = time.monotonic()
                if deadline is not None and deadline <= limit and now >= deadline:
                    return self._give_up()
                if now >= limit:
                    self._failed("did not get ready in time")
                    continue
                left = min(limit, deadline if deadline is not None else limit) - now
                if not self._reading.acquire(timeout=min(left, 0.05)):
                    if _readable(cancel_fd, 0):  # another caller reads the socket meanwhile
                        return self._give_up()
                    continue
                try:
                    if not self.ready and self.start_error is None and not self.closed:
                        watched: list[int] = [self.sock.fileno()]
                        if cancel_fd is not None:
                            watched.append(cancel_fd)
                        try:
                            readable = select.select(watched, [], [], left)[0]
                        except (OSError, ValueError):  # closed by another call just now
                            continue
                        if cancel_fd is not None and cancel_fd in readable:
                            return self._give_up()
                        if readable:
                            self._read_start()
                finally:
                    self._reading.release()
        except (WorkerStartError, _WorkerGone):
            raise
        except BaseException:
            if not self.ready:  # Ctrl-C, or a failure: never leave a worker importing
                self._give_up()
            raise
        return True

    def _give_up(self) -> bool:
        """Stop waiting for this worker: kill it with all it started, unless another call waits
        for it too (a panel's sweep while a newer slider move cancels a rerun). Returns False."""
        with self._lock:
            alone = self.waiting <= 1
        if alone:
            self.kill()
        return False

    def _read_start(self) -> None:
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._failed("exited while starting")
            return
        for kind, payload, _ in self._reader.feed(data):
            if kind == MESSAGE:
                import pickle

                message = pickle.loads(payload)
                if message[0] == "ready":
                    self.threaded = message[3]  # after the modules imported and those that failed
                    self.ready = True

    def _failed(self, why: str) -> None:
        self._log.seek(0)
        log = self._log.read().decode(errors="replace")[-2000:]
        self.start_error = f"The warm worker {why}.{' Its output: ' + log if log else ''}"
        self.kill()

    def submit(self, fds: list[int]) -> None:
        """Ask for an iteration: result channel, stdout, stderr and task file descriptors."""
        with self._lock:
            socket.send_fds(self.sock, [b"R"], fds)
            self.running += 1

    def finished(self) -> None:
        """One iteration sent to it has ended (its job is closed)."""
        with self._lock:
            self.running -= 1

    def alive(self) -> bool:
        return not self.closed and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the worker with everything it started (its session), and close it."""
        if self.proc.returncode is None:  # not reaped yet: its pid cannot have been reused
            _kill_session(self.proc.pid)
        self.close()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_session(self.proc.pid)
            self.proc.wait()
        with contextlib.suppress(OSError, ValueError):
            self._log.close()


def _readable(fd: int | None, wait: float) -> bool:
    return fd is not None and bool(select.select([fd], [], [], wait)[0])


def _kill_session(sid: int) -> None:
    """SIGKILL the process group ``sid`` and, on Linux, every other process of session ``sid``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fields = stat_fields(entry.name)
            if fields is None:
                continue
            if int(fields[3]) == sid:  # pid (comm) state ppid pgrp session ...
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)


class _Pool:
    """The warm workers of this session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: OrderedDict[tuple[object, ...], WarmWorker] = OrderedDict()
        #: Modules seen to start threads at import: never preloaded again this session.
        self.threaded: set[str] = set()

    def _get(self, preload: Preload, idle: float) -> WarmWorker:
        """The worker for ``preload`` (started if need be, without waiting), marked as waited for."""
        modules = [m for m in preload.modules if m[0] not in self.threaded]
        key = (sys.executable, preload.script_dir, tuple(modules), os.environ.get("PYTHONPATH"))
        with self._lock:
            worker = self._workers.pop(key, None)
            if worker is not None and not worker.alive():
                worker.close()
                worker = None
            if worker is None:
                worker = WarmWorker(preload.script_dir, modules, idle)
            worker.waiter(+1)
            self._workers[key] = worker
            self._evict()
            return worker

    def _evict(self) -> None:
        """Close the least recently used idle workers beyond :data:`MAX_WORKERS` (lock held)."""
        excess = len(self._workers) - MAX_WORKERS
        for key, worker in list(self._workers.items()):  # least recently used first
            if excess <= 0:
                return
            if not worker.busy():
                del self._workers[key]
                worker.close()
                excess -= 1

    def acquire(
        self, preload: Preload, *, idle: float, deadline: float | None, cancel_fd: int | None
    ) -> WarmWorker | None:
        """A ready worker for ``preload``, or None when ``deadline`` or ``cancel_fd`` stopped the wait
        (the starting worker is killed then). Raises :class:`WorkerStartError` when it cannot start."""
        while True:
            worker = self._get(preload, idle)
            try:
                ok = worker.wait_ready(deadline, cancel_fd)
            except _WorkerGone:
                continue  # stopped by another call that gave up on it: start another
            finally:
                worker.waiter(-1)
            if not ok:
                return None
            if not worker.threaded:
                return worker
            # Forking a process that runs threads is unsafe: start again without those modules.
            with self._lock:
                self.threaded.update(worker.threaded)
                for key, known in list(self._workers.items()):
                    if known is worker:
                        del self._workers[key]
            worker.close()

    def close(self) -> None:
        with self._lock:
            while self._workers:
                _, worker = self._workers.popitem()
                worker.close()

    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        with self._lock:
            return [w.proc.pid for w in self._workers.values() if w.alive()]


POOL = _Pool()
atexit.register(POOL.close)


class ForkJob(Job):
    def __init__(self, result_fd: int, out: IO[bytes], err: IO[bytes], worker: WarmWorker | None) -> None:
        super().__init__(result_fd, out, err)
        self._worker = worker

    def poll(self) -> int | None:
        return None if self._status is None else os.waitstatus_to_exitcode(self._status)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.finished()
            self._worker = None
        super().close()


class ForkEngine(Engine):
    """Run each iteration in a child forked from the script's warm worker."""

    name = "fork"
    retry_unstarted = True  # the worker may go idle and exit just as a request is sent

    def __init__(self) -> None:
        self.worker: WarmWorker | None = None
        #: Seconds a new worker waits for work before it exits (read now: a bad value is reported
        #: before anything runs).
        self.idle = env_number("PY3R_SCRIPT_WORKER_IDLE", DEFAULT_IDLE, what="seconds")

    def prepare(
        self, preload: Preload, *, deadline: float | None = None, cancel_fd: int | None = None
    ) -> bool:
        self.worker = POOL.acquire(preload, idle=self.idle, deadline=deadline, cancel_fd=cancel_fd)
        return self.worker is not None

    def ready(self) -> bool:
        return self.worker is not None and self.worker.alive()

    def start(self, task: Task) -> Job:
        worker = self.worker
        assert worker is not None, "prepare() comes first"
        job_worker: WarmWorker | None = worker
        with self.handoff(task) as h:
            try:
                worker.submit([h.write_fd, h.out.fileno(), h.err.fileno(), h.task_file.fileno()])
            except OSError:
                # The worker has just gone (idle exit, or closed): the job ends at once without a
                # frame, and the loop starts it again on a ready worker (retry_unstarted).
                worker.closed = True
                job_worker = None
        return ForkJob(h.read_fd, h.out, h.err, job_worker)


def fork_available() -> bool:
    """Whether the warm engine can run here (Linux or macOS with ``fork``)."""
    return hasattr(os, "fork") and sys.platform in ("linux", "darwin")
