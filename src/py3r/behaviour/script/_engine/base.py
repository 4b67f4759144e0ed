"""The engine interface: how one iteration's fresh process is started.

An engine takes plain data only (a :class:`Preload` to get ready, a :class:`Task` per iteration) and
hands back a :class:`Job`: the owner's end of the iteration's result channel (a Unix socket pair from
:func:`channel`, so that an output's shared memory can travel with its frame), its stdout/stderr
files and a way to learn its exit status and to kill its process group. What an engine can do is declared on
its class (:attr:`Engine.retry_unstarted`), never probed. Scheduling, timeouts, cancellation and
turning what happened into results live in the execution loop, once for every engine.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, ClassVar

from .._worker.protocol import Task

#: Bytes of stdout/stderr kept per iteration (the tail; the rest is counted, not kept).
LOG_TAIL_BYTES = 256 * 1024
#: Descriptors one receive may bring (each output in shared memory brings one).
_MAX_FDS = 16
_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


def channel() -> tuple[int, int]:
    """A new result channel: ``(owner's end, iteration's end)``, both close-on-exec.

    A Unix stream socket pair: frames are written to it like to a pipe, and a frame may carry a
    file descriptor (an output's shared memory segment).
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ours.detach(), theirs.detach()


class Job(ABC):
    """One running iteration, seen from the owner."""

    def __init__(self, result_fd: int, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        """``result_fd``: the owner's end of a :func:`channel`; the job owns it from now on."""
        self.result_fd = result_fd
        self._sock = socket.socket(fileno=result_fd)
        self._sock.setblocking(False)
        self.stdout = stdout
        self.stderr = stderr
        #: The pid of the process running the script (leader of its process group), once known.
        self.pid: int | None = None
        self._status: int | None = None

    def receive_into(self, view: memoryview) -> tuple[int, list[int]]:
        """Receive into ``view`` without blocking: bytes received (0 at end of stream) and the
        descriptors that came with them. Raises :class:`BlockingIOError` when nothing is there."""
        n, ancillary, _flags, _ = self._sock.recvmsg_into([view], socket.CMSG_SPACE(_MAX_FDS * 4), _CLOEXEC)
        fds: list[int] = []
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                whole = len(data) - len(data) % 4
                fds.extend(int.from_bytes(data[i : i + 4], sys.byteorder) for i in range(0, whole, 4))
        return n, fds

    def set_status(self, status: int) -> None:
        """Record the wait status reported for the process."""
        self._status = status

    @abstractmethod
    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal) once the process has ended, else None."""

    def killpg(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the iteration's whole process group (the script and what it started)."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def read_logs(self) -> tuple[str, str, int, int]:
        """The tails of stdout and stderr, and their full sizes in bytes."""
        out, out_size = _tail(self.stdout)
        err, err_size = _tail(self.stderr)
        return out, err, out_size, err_size

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        self.stdout.close()
        self.stderr.close()


def _tail(f: IO[bytes]) -> tuple[str, int]:
    size = os.fstat(f.fileno()).st_size
    start = max(0, size - LOG_TAIL_BYTES)
    data = os.pread(f.fileno(), size - start, start)
    text = data.decode("utf-8", errors="replace")
    if start:
        text = f"[... {start} earlier bytes not kept ...]\n" + text[text.find("\n") + 1 :]
    return text, size


@dataclass(frozen=True)
class Preload:
    """What an engine may prepare ahead of a script's iterations: plain data, read off its spec."""

    #: The script's folder (first on ``sys.path`` in every iteration).
    script_dir: str
    #: The modules the script imports at top level, with the names taken from each, that may be
    #: imported ahead of time (never the script's own local modules).
    modules: tuple[tuple[str, tuple[str, ...]], ...] = ()


class Engine(ABC):
    """Starts fresh processes for iterations.

    Subclasses declare what they can do as class attributes, and are registered by name with
    :func:`~py3r.behaviour.script._engine.register_engine`.
    """

    #: The name the engine is registered and recorded under.
    name: ClassVar[str] = "engine"
    #: A job that ends without sending a single frame was never started (a warm worker that went
    #: idle at that moment): the loop may start it once more.
    retry_unstarted: ClassVar[bool] = False

    def prepare(
        self, preload: Preload, *, deadline: float | None = None, cancel_fd: int | None = None
    ) -> bool:
        """Get ready to run a script's iterations (e.g. start a warm worker and wait for its imports).

        Called before the first iteration of a call, and again whenever :meth:`ready` turns False.
        Waits at most until ``deadline`` (a :func:`time.monotonic` time: the timeout of the
        iterations waiting for it) and until ``cancel_fd`` becomes readable; returns False when
        either stopped the wait, after killing whatever it had started, and True once ready.
        Raises :class:`~py3r.behaviour.script.exceptions.WorkerStartError` when it cannot get
        ready; the loop then carries on with the ``"subprocess"`` engine.
        """
        return True

    def ready(self) -> bool:
        """Whether :meth:`start` may be called now; when False the loop calls :meth:`prepare` first."""
        return True

    @abstractmethod
    def start(self, task: Task) -> Job:
        """Start one iteration; must not block on the script."""

    @staticmethod
    @contextlib.contextmanager
    def handoff(task: Task) -> Iterator[Handoff]:
        """What an iteration is started with; the iteration's side is closed when the block ends.

        Yields a :class:`Handoff`: the pickled task in an anonymous file, anonymous files for stdout
        and stderr (never pipes: those deadlock) and a :func:`channel`. Whatever happens, the task
        file and the iteration's end of the channel are closed when the block ends (the process
        has its own copies by then); if the block raises, the owner's side is closed too, so a
        failed start leaks nothing.
        """
        # Each file is registered for closing as soon as it exists: ``always`` closes the
        # iteration's side, ``on_failure`` the owner's unless the block got through.
        with contextlib.ExitStack() as always, contextlib.ExitStack() as on_failure:
            task_file = always.enter_context(tempfile.TemporaryFile())
            pickle.dump(task, task_file, protocol=pickle.HIGHEST_PROTOCOL)
            task_file.flush()
            task_file.seek(0)
            out = on_failure.enter_context(tempfile.TemporaryFile())
            err = on_failure.enter_context(tempfile.TemporaryFile())
            read_fd, write_fd = channel()
            on_failure.callback(os.close, read_fd)
            always.callback(os.close, write_fd)
            yield Handoff(task_file, out, err, read_fd, write_fd)
            on_failure.pop_all()  # started: the job owns them now


@dataclass(frozen=True)
class Handoff:
    """The files and channel one iteration is started with (see :meth:`Engine.handoff`)."""

    #: The pickled :class:`Task`, at offset 0.
    task_file: IO[bytes]
    #: The iteration's stdout and stderr; the :class:`Job` owns them once started.
    out: IO[bytes]
    err: IO[bytes]
    #: The owner's end of the result channel (the :class:`Job`'s) and the iteration's end.
    read_fd: int
    write_fd: int
