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
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from typing import IO

from .._worker.protocol import MESSAGE, FrameReader, Task
from ..exceptions import WorkerStartError
from .base import Engine, Job, Preload

#: Seconds a worker waits for work before it exits (PY3R_SCRIPT_WORKER_IDLE overrides).
DEFAULT_IDLE = 600.0
#: Workers kept at once; the least recently used goes first.
MAX_WORKERS = 4
#: Seconds a worker may take to import the script's imports.
READY_TIMEOUT = 180.0


class WarmWorker:
    """Owner-side handle of one warm worker process."""

    def __init__(self, script_dir: str, modules: list[tuple[str, tuple[str, ...]]]) -> None:
        idle = float(os.environ.get("PY3R_SCRIPT_WORKER_IDLE", DEFAULT_IDLE))
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
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(modules).encode())
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.imported, self.failed, self.threaded = self._wait_ready()
        self.last_used = time.monotonic()

    def _wait_ready(self) -> tuple[list[str], list[str], list[str]]:
        reader = FrameReader()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.sock], [], [], max(0.0, left))
            data = self.sock.recv(65536) if ready else b""
            if not data:
                self._log.seek(0)
                log = self._log.read().decode(errors="replace")[-2000:]
                self.close()
                why = "did not get ready in time" if not ready else "exited while starting"
                raise WorkerStartError(f"The warm worker {why}.{' Its output: ' + log if log else ''}")
            for kind, payload in reader.feed(data):
                if kind == MESSAGE:
                    import pickle

                    message = pickle.loads(payload)
                    if message[0] == "ready":
                        return message[1], message[2], message[3]

    def submit(self, fds: list[int]) -> None:
        """Ask for an iteration: result pipe, stdout, stderr and task file descriptors."""
        with self._lock:
            socket.send_fds(self.sock, [b"R"], fds)
        self.last_used = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class _Pool:
    """The warm workers of this session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: OrderedDict[tuple[object, ...], WarmWorker] = OrderedDict()
        #: Modules seen to start threads at import: never preloaded again this session.
        self.threaded: set[str] = set()

    def get(self, preload: Preload, *, fresh: bool = False) -> WarmWorker:
        modules = [m for m in preload.modules if m[0] not in self.threaded]
        key = (sys.executable, preload.script_dir, tuple(modules), os.environ.get("PYTHONPATH"))
        with self._lock:
            worker = self._workers.pop(key, None)
            if worker is not None and (fresh or not worker.alive()):
                worker.close()
                worker = None
            if worker is None:
                worker = WarmWorker(preload.script_dir, modules)
                if worker.threaded:
                    # Forking a process that runs threads is unsafe: start again without them.
                    worker.close()
                    self.threaded.update(worker.threaded)
                    kept = [m for m in modules if m[0] not in self.threaded]
                    worker = WarmWorker(preload.script_dir, kept)
            self._workers[key] = worker
            while len(self._workers) > MAX_WORKERS:
                _, old = self._workers.popitem(last=False)
                old.close()
            return worker

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
    def poll(self) -> int | None:
        return None if self._status is None else os.waitstatus_to_exitcode(self._status)


class ForkEngine(Engine):
    """Run each iteration in a child forked from the script's warm worker."""

    name = "fork"
    retry_unstarted = True  # the worker may go idle and exit just as a request is sent

    def __init__(self) -> None:
        self.worker: WarmWorker | None = None
        self.preload: Preload | None = None

    def prepare(self, preload: Preload) -> None:
        self.preload = preload
        self.worker = POOL.get(preload)

    def start(self, task: Task) -> Job:
        assert self.preload is not None, "prepare() comes first"
        if self.worker is None or not self.worker.alive():
            self.worker = POOL.get(self.preload, fresh=True)
        task_file, out, err = self.files(task)
        read_fd, write_fd = os.pipe()
        try:
            fds = [write_fd, out.fileno(), err.fileno(), task_file.fileno()]
            try:
                self.worker.submit(fds)
            except OSError:
                self.worker = POOL.get(self.preload, fresh=True)
                self.worker.submit(fds)
        except BaseException:
            os.close(read_fd)
            out.close()
            err.close()
            raise
        finally:
            os.close(write_fd)
            task_file.close()
        return ForkJob(read_fd, out, err)


def fork_available() -> bool:
    """Whether the warm engine can run here (Linux or macOS with ``fork``)."""
    return hasattr(os, "fork") and sys.platform in ("linux", "darwin")
