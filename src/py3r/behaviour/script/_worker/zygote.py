"""The warm worker: a process that has imported a script's imports and forks one child per iteration.

It never runs script code itself, so nothing of one iteration reaches the next: every child is a
fresh copy of this clean, pre-imported process. Started as
``python -P -m py3r.behaviour.script._worker.zygote CTRL_FD SCRIPT_DIR IDLE_SECONDS`` with the modules to
preload as JSON on stdin. Protocol on the control socket (owner -> worker): one byte ``R`` with four
file descriptors attached (result pipe, stdout file, stderr file, task file) asks for an iteration.
The worker answers once, at start, with a pickled ``("ready", imported, failed, threaded)`` frame.

The worker writes ``("exit", status)`` into an iteration's result pipe once it has reaped the child,
and kills the child's process group then. It exits when the owner closes the control socket (or
dies), killing any running children first, and after ``IDLE_SECONDS`` without work.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import selectors
import signal
import socket
import sys
import threading
import time
from typing import Any

from .protocol import frame_message, write_all

#: Known to start threads or otherwise misbehave across fork(): left for the child to import.
UNSAFE_TO_PRELOAD = frozenset(
    {"jax", "tensorflow", "torch", "ray", "distributed", "dask.distributed", "multiprocessing.pool"}
)


def preload(modules: list[tuple[str, list[str]]]) -> tuple[list[str], list[str], list[str]]:
    """Import what the script imports at top level; report what worked, failed or started threads."""
    imported, failed, threaded = [], [], []
    for module, names in modules:
        if module in UNSAFE_TO_PRELOAD or module.split(".")[0] in UNSAFE_TO_PRELOAD:
            continue
        before = threading.active_count()
        try:
            mod = importlib.import_module(module)
            for name in names:
                if not hasattr(mod, name):
                    with contextlib.suppress(Exception):
                        importlib.import_module(f"{module}.{name}")
        except BaseException:  # anything may happen in an import; the child will retry and report
            failed.append(module)
            continue
        if threading.active_count() > before:
            threaded.append(module)
        imported.append(module)
    return imported, failed, threaded


def _recv_request(ctrl: socket.socket) -> list[int] | None:
    msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1, 4)
    if not msg:
        for fd in fds:
            os.close(fd)
        return None
    return fds


def _spare(inherited: list[int], life_r: int, sock: socket.socket) -> None:
    """A pre-forked child: set up, then wait for an iteration's descriptors and run it.

    Forking and setting up ahead of time takes both off the critical path of the next iteration.
    """
    try:
        os.setsid()
        _set_pdeathsig()
        _set_name(SPARE_NAME)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        for fd in inherited:
            with contextlib.suppress(OSError):
                os.close(fd)
        import pickle

        from .child import prepare, rehearse, run_task

        prepare(life_r)
        rehearse()
        msg, fds, _flags, _addr = socket.recv_fds(sock, 1, 4)
        if not msg:  # the worker is shutting down
            os._exit(0)
        sock.close()
        _set_name(_name)
        result_fd, out_fd, err_fd, task_fd = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd):
            os.close(fd)
        with os.fdopen(task_fd, "rb") as f:
            task = pickle.load(f)
        run_task(task, result_fd, life_r, prepared=True)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(70)


def _load_prctl() -> Any:
    """libc's prctl, looked up once in the worker (Linux only), so children need not load ctypes."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = None
_name = b"python3"


def _set_pdeathsig() -> None:
    """Die with the worker if it is killed outright."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


#: The name ``ps``/``top`` show for a spare, so that an idle spare is told from a running script.
SPARE_NAME = b"py3r-spare"
#: The name of the worker's lifeline (see :func:`_start_lifeline`).
LIFELINE_NAME = b"py3r-lifeline"


def _set_name(name: bytes) -> None:
    if _prctl is not None:
        _prctl(15, name)  # PR_SET_NAME


def _start_lifeline(life_r: int) -> int:
    """Fork the worker's lifeline; return the descriptor to tell it of process groups.

    A child (and every spare) dies with the worker by its parent-death signal, before it could take
    down what its script started, and its watcher thread needs the interpreter, which a script may
    hold. The lifeline is a small process beside the worker that holds only the worker's life pipe
    and a list of its children's process groups (``+``/``-`` and a pid, sent as they come and go):
    when the worker is gone, however it died and whoever died with it (the caller too, killed at
    the same moment), it kills every group on the list, then exits.
    """
    cmd_r, cmd_w = os.pipe()
    if os.fork() != 0:
        os.close(cmd_r)
        return cmd_w
    try:
        _set_name(LIFELINE_NAME)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # the worker's end is what ends it
        signal.set_wakeup_fd(-1)
        low, high = sorted((life_r, cmd_r))
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, 1 << 16)
        groups: set[int] = set()
        buf = b""
        while True:
            if life_r in select.select([life_r, cmd_r], [], [])[0]:
                break  # the worker is gone (nobody ever writes to the life pipe)
            data = os.read(cmd_r, 4096)
            if not data:
                break
            buf += data
            while len(buf) >= 5:
                pid = int.from_bytes(buf[1:5], "little")
                (groups.add if buf[:1] == b"+" else groups.discard)(pid)
                buf = buf[5:]
        for pgid in groups:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
    finally:
        os._exit(0)


def _tell(lifeline: int, what: bytes, pid: int) -> None:
    with contextlib.suppress(OSError):  # a lifeline that died: the other safeguards remain
        os.write(lifeline, what + pid.to_bytes(4, "little"))


def serve(ctrl: socket.socket, idle: float) -> None:
    life_r, life_w = os.pipe()  # children watch life_r: EOF means this worker is gone
    lifeline = _start_lifeline(life_r)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    children: dict[int, int] = {}  # pid -> result fd kept to write the exit frame
    pending: dict[int, bytes] = {}  # result fd -> bytes still to write (non-blocking)
    sel = selectors.DefaultSelector()
    sel.register(ctrl, selectors.EVENT_READ, "ctrl")
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    last_work = time.monotonic()
    gc.freeze()  # keep the imported heap shared between children (fewer copy-on-write faults)

    def make_spare() -> tuple[int, socket.socket]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            ours.close()
            inherited = [ctrl.fileno(), life_w, lifeline, wake_r, wake_w, sel.fileno()]
            _spare([*inherited, *children.values(), *pending], life_r, theirs)
        theirs.close()
        _tell(lifeline, b"+", pid)  # its own process group, once it has called setsid()
        return pid, ours

    spare: tuple[int, socket.socket] | None = make_spare()

    def reap() -> None:
        nonlocal spare
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # whatever the script started goes with it
            _tell(lifeline, b"-", pid)
            if spare is not None and pid == spare[0]:
                spare[1].close()
                spare = None
            fd = children.pop(pid, None)
            if fd is not None:
                # The child is gone, so the pipe's write side is ours alone: never block on it.
                os.set_blocking(fd, False)
                pending[fd] = frame_message("exit", status)
                flush(fd)

    def flush(fd: int) -> None:
        data = pending.get(fd, b"")
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            n = 0
        except OSError:  # the owner is gone
            n = len(data)
        rest = data[n:]
        if rest:
            pending[fd] = rest
            with contextlib.suppress(KeyError):
                sel.unregister(fd)
            sel.register(fd, selectors.EVENT_WRITE, "pending")
        else:
            pending.pop(fd, None)
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(fd)
            os.close(fd)

    try:
        while True:
            wait = None if children or pending else max(0.0, idle - (time.monotonic() - last_work))
            events = sel.select(wait)
            if not events and not children and not pending and time.monotonic() - last_work >= idle:
                return
            for key, _ in events:
                if key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        while os.read(wake_r, 4096):
                            pass
                    reap()
                elif key.data == "pending":
                    flush(key.fd)  # type: ignore[arg-type]
                else:
                    fds = _recv_request(ctrl)
                    if fds is None:
                        return
                    last_work = time.monotonic()
                    for attempt in range(2):
                        if spare is None:
                            spare = make_spare()
                        pid, sock = spare
                        spare = None
                        try:
                            socket.send_fds(sock, [b"R"], fds)
                        except OSError:
                            if attempt:
                                raise
                            continue  # that spare had died: fork another
                        finally:
                            sock.close()
                        break
                    children[pid] = fds[0]  # kept to write the exit frame once the child is reaped
                    for fd in fds[1:]:
                        os.close(fd)
            reap()
            if spare is None:
                spare = make_spare()
            reap()
    finally:
        if spare is not None:
            spare[1].close()  # it sees end-of-file and exits
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def main(argv: list[str]) -> None:
    ctrl = socket.socket(fileno=int(argv[0]))
    script_dir, idle = argv[1], float(argv[2])
    # Started with -P (safe path): the caller's working directory is not on sys.path, so a
    # pickle.py or selectors.py there shadows nothing. The script's folder comes first, as under
    # ``python script.py``.
    sys.path.insert(0, script_dir)
    os.environ["MPLBACKEND"] = "Agg"
    modules: list[Any] = json.loads(sys.stdin.read() or "[]")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    imported, failed, threaded = preload([(m, list(n)) for m, n in modules])
    import cloudpickle  # noqa: F401  (every child pickles its outputs with it)

    global _prctl, _name
    _prctl = _load_prctl()
    with contextlib.suppress(OSError), open("/proc/self/comm", "rb") as f:
        _name = f.read().strip()

    from . import child  # noqa: F401

    write_all(ctrl.fileno(), frame_message("ready", imported, failed, threaded))
    serve(ctrl, idle)


if __name__ == "__main__":
    main(sys.argv[1:])
