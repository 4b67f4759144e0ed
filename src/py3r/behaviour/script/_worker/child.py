"""What runs inside the fresh process of one iteration.

Entered either by the warm worker right after ``fork()`` (:func:`run_task`) or as
``python -P -m py3r.behaviour.script._worker.child TASK_FD RESULT_FD LIFE_FD`` by the plain subprocess engine.
The script runs as ``__main__`` with injected values; each captured output is cloudpickled and sent
the moment it is produced. Light imports only: this is the hot path of every iteration.
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import faulthandler
import linecache
import os
import pickle
import select
import signal
import sys
import threading
import traceback
import types
from pathlib import Path
from typing import Any, NoReturn

from .. import param as _param
from .._types import MISSING
from .protocol import PIPES_CLOSED_EXIT, PIPES_CLOSED_NOTE, Task, frame_message, output_header, write_all
from .transfer import Sender, pickled

_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed or replaced stream must not hide the result
            pass


def _hard_exit(code: int) -> NoReturn:
    """Leave now: no ``finally``, no ``except``, no atexit hook of the script runs.

    If the owner is gone, nobody is left to kill what the script started once this process has
    exited, so take the process group down with it: the script may end here (after a broken
    result pipe, say) before the watcher thread has acted on the closed life pipe.
    """
    _flush()
    if _owner_gone():
        _orphaned()
    os._exit(code)


def _orphaned() -> NoReturn:
    """End with everything this iteration started: nobody else may be left to do it."""
    try:
        os.killpg(os.getpgid(0), signal.SIGKILL)
    finally:
        os._exit(137)  # not reached when the group's SIGKILL (which includes this process) went out


#: The read end of the owner's life pipe, once :func:`prepare` has run.
_life_fd: int | None = None
#: (device, inode) of the library's own descriptors (life pipe, result pipe): a script that closes
#: them (``os.closerange(3, ...)``) may open files under the same numbers, which must never be
#: written to or read from as if they were ours.
_idents: dict[int, tuple[int, int]] = {}


def _remember(fd: int) -> None:
    info = os.fstat(fd)
    _idents[fd] = (info.st_dev, info.st_ino)


def _intact(fd: int) -> bool:
    """Whether ``fd`` is still the descriptor this library was given (not closed by the script)."""
    try:
        info = os.fstat(fd)
    except OSError:
        return False
    return _idents.get(fd, (info.st_dev, info.st_ino)) == (info.st_dev, info.st_ino)


def _pipes_closed() -> NoReturn:
    """The script closed our result pipe: say so where the owner looks (stderr), and leave."""
    _flush()
    with contextlib.suppress(OSError):
        os.write(2, PIPES_CLOSED_NOTE.encode())
    os._exit(PIPES_CLOSED_EXIT)


def _owner_gone() -> bool:
    """Whether the life pipe has closed (the owner never writes to it: readable means EOF)."""
    if _life_fd is None or not _intact(_life_fd):
        return False  # closed by the script: nothing to tell (the guard or the owner still acts)
    try:
        return bool(select.select([_life_fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _watch_owner(life_fd: int) -> None:
    """Kill this iteration's whole process group when the owner goes away (EOF on the life pipe)."""

    def watch() -> None:
        # A read already waiting is not disturbed when the script closes the descriptor; one not
        # yet started must not read a file the script opened under the same number.
        if not _intact(life_fd):
            return
        try:
            while os.read(life_fd, 1):
                pass
        except OSError:
            return  # closed by the script before the read began: the owner's state is unknown
        _orphaned()

    # A bare thread: starting it does not wait for a handshake, and shutdown does not join it.
    _thread.start_new_thread(watch, ())


def _nfc(name: str) -> str:
    """Names are compared in Unicode normal form C, as the owner's spec and plan hold them."""
    if name.isascii():
        return name
    import unicodedata

    return unicodedata.normalize("NFC", name)


class _Hook:
    """Supplies injected values to ``Param`` and streams ``Output`` values to the owner."""

    def __init__(self, task: Task, result_fd: int, script_dir: str) -> None:
        self.task = task
        self.fd = result_fd
        self.sender = Sender(result_fd)
        self.script_dir = script_dir
        self.delivered: set[str] = set()
        self.wanted = set(task.capture) if task.capture is not None else None
        self._by_value: set[str] = set(_baseline_modules if _baseline_modules is not None else sys.modules)

    def param(self, name: str, default: Any) -> Any:
        name = _nfc(name)
        if name in self.task.values:
            return self.task.values[name]
        if default is MISSING:
            raise RuntimeError(f"Param {name!r} has no default and no value was given for it.")
        return default

    def _register_local_modules(self, cloudpickle: Any) -> None:
        """Pickle classes of modules beside the script by value: the owner may not import them."""
        prefix = self.script_dir + os.sep
        for name in sys.modules.keys() - self._by_value:
            module = sys.modules.get(name)
            if name == "__main__" or module is None:
                continue
            file = vars(module).get("__file__") or ""
            if file.startswith(prefix) and "site-packages" not in file:
                with contextlib.suppress(ValueError, TypeError):
                    cloudpickle.register_pickle_by_value(module)
            self._by_value.add(name)

    def output(self, name: str, value: Any) -> None:
        name = _nfc(name)
        if self.wanted is not None and name not in self.wanted:
            return
        import cloudpickle

        self._register_local_modules(cloudpickle)
        try:
            data, buffers = pickled(value, cloudpickle)
        except Exception as exc:
            self.fail(
                "unpicklable",
                f"Output {name!r} (a {type(value).__name__}) could not be pickled to send it back: "
                f"{type(exc).__name__}: {exc}. Output a picklable value instead (e.g. a list, a "
                "DataFrame or a summary number).",
                name=name,
            )
        size = len(data) + sum(b.nbytes for b in buffers)
        limit = self.task.output_limit
        if limit is not None and size > limit:
            self.fail(
                "too_large",
                f"Output {name!r} is {size:,} bytes ({size / 2**20:.1f} MiB) when pickled, above the "
                f"limit of {limit:,} bytes ({limit / 2**20:.1f} MiB) set by the environment variable "
                "PY3R_SCRIPT_MAX_OUTPUT_BYTES. Output a smaller value, or raise the limit (or unset "
                "the variable: by default there is none).",
                name=name,
            )
        if not _intact(self.fd):
            _pipes_closed()
        try:
            self.sender.send(name, data, buffers)
        except OSError:  # the owner stopped reading (it died, or gave up on this iteration)
            _orphaned()
        del data, buffers
        self.delivered.add(name)
        if self.task.stop_after and self.delivered >= (self.wanted or set()) and self.wanted is not None:
            # The value is in the channel: stop here, inside the Output call, before the next statement.
            self.send("done", {"stopped": True})
            _hard_exit(0)

    def send(self, *message: Any) -> None:
        self._write(frame_message(*message))

    def _write(self, data: bytes | memoryview) -> None:
        if not _intact(self.fd):
            _pipes_closed()
        try:
            write_all(self.fd, data)
        except OSError:  # the owner stopped reading (it died, or gave up on this iteration)
            _orphaned()

    def fail(self, kind: str, message: str, **info: Any) -> NoReturn:
        self.send("error", {"kind": kind, "message": message, **info})
        _hard_exit(1)


def _script_traceback(exc: BaseException) -> str:
    """The traceback from the script's first frame on (the runner's own frame is dropped)."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


#: Modules loaded before the script runs: ours or preloaded, never the script's own.
_baseline_modules: set[str] | None = None


def prepare(life_fd: int) -> None:
    """The task-independent setup of a child (a warm worker's spare does it ahead of time)."""
    global _baseline_modules, _life_fd
    _life_fd = life_fd
    os.set_inheritable(life_fd, False)
    _remember(life_fd)
    _watch_owner(life_fd)
    faulthandler.enable(file=2, all_threads=False)  # fd 2 is the stderr file: a crash shows the stack
    _baseline_modules = set(sys.modules)


def rehearse() -> None:
    """Walk the runner's own hot path once with dummy data; no script code runs.

    In a forked spare, every page the path writes (reference counts) is copied now, while the spare
    waits, instead of one copy-on-write fault at a time once an iteration has started.
    """
    import cloudpickle

    task = Task("/rehearsal.py", "x = 1\n", {"a": 1.0}, ("y",), False, os.getcwd(), dict(os.environ))
    task = pickle.loads(pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL))
    pickled({"a": [1.0, "x"], "b": None}, cloudpickle)
    frame_message("started", 0)
    output_header(ord("O"), "y", 1, [])
    _ = os.environ.keys() - task.env.keys()
    exec(compile(task.source, task.script_path, "exec", dont_inherit=True), {"__builtins__": __builtins__})
    types.ModuleType("__main__")
    str(Path(task.script_path).parent)


def run_task(task: Task, result_fd: int, life_fd: int, *, prepared: bool = False) -> NoReturn:
    """Run one iteration in this (fresh) process and exit."""
    os.set_inheritable(result_fd, False)
    _remember(result_fd)
    if not prepared:
        prepare(life_fd)
    env = dict(task.env)
    env["MPLBACKEND"] = "Agg"  # a notebook's inline backend cannot work here
    if task.threads is not None:
        for var in _THREAD_VARS:
            env.setdefault(var, str(task.threads))
        _limit_loaded_threadpools(task.threads)
    # Apply the owner's environment as a difference: most of it is already in place.
    for key in os.environ.keys() - env.keys():
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    script_path = task.script_path
    script_dir = str(Path(script_path).parent)
    os.chdir(task.cwd)
    sys.argv[:] = [script_path]
    if not sys.path or sys.path[0] != script_dir:
        # As under ``python script.py``: the script's folder first. A warm worker has put it there
        # already; a plain child (started with -P) has no working directory on sys.path to replace.
        sys.path.insert(0, script_dir)
    hook = _Hook(task, result_fd, script_dir)
    hook.send("started", os.getpid())
    _param.install_hook(hook)

    module = types.ModuleType("__main__")
    module.__file__ = script_path
    module.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    # A notebook runs cell by cell: each cell is its own "file", so tracebacks name the cell.
    cells = task.extra.get("cells") or [(script_path, task.source)]
    for filename, text in cells:
        linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exit_code = 0
    try:
        if task.extra.get("ipython"):
            module.__dict__["get_ipython"] = _minimal_shell(module)
        for filename, text in cells:
            exec(compile(text, filename, "exec", dont_inherit=True), module.__dict__)
    except SystemExit as exc:
        code_ = exc.code
        if code_ is None or code_ == 0:
            exit_code = 0
        elif isinstance(code_, int):
            exit_code = code_
        else:
            print(code_, file=sys.stderr)
            exit_code = 1
        if exit_code:
            _flush()
            _finish(exit_code)
    except BaseException as exc:
        text = _script_traceback(exc)
        with contextlib.suppress(Exception):  # a broken stderr must not hide the error frame
            print(text, file=sys.stderr, end="")
        hook.send(
            "error",
            {
                "kind": "exception",
                "exc_type": type(exc).__qualname__,
                "exc_message": str(exc),
                "traceback": text,
            },
        )
        _hard_exit(1)
    hook.send("done", {"stopped": False, "delivered": sorted(hook.delivered)})
    _finish(exit_code)


def _minimal_shell(module: types.ModuleType) -> Any:
    """An IPython shell whose namespace is the notebook's, so magics, ``!`` and ``?`` work."""
    try:
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
    except ImportError:
        raise ImportError(
            "This notebook uses IPython syntax (magics, ! or ?), which needs IPython: pip install ipython."
        ) from None

    class HeadlessShell(InteractiveShell):  # type: ignore[misc]
        def enable_gui(self, gui: Any = None) -> None:
            """There is no event loop to integrate with here: ``%matplotlib inline`` just works."""

    config = Config()
    config.HistoryManager.enabled = False  # nothing written to the user's IPython history
    shell = HeadlessShell.instance(config=config, user_module=module, user_ns=module.__dict__)
    return shell.get_ipython


def _finish(code: int) -> NoReturn:
    """End as the interpreter would (join threads, run atexit), but skip the costly teardown."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    finally:
        _hard_exit(code)


def _limit_loaded_threadpools(n: int) -> None:
    """Cap thread pools of native libraries already loaded (preloaded by the warm worker)."""
    if "numpy" not in sys.modules:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def main(argv: list[str]) -> NoReturn:
    """Entry of the plain subprocess engine: ``TASK_FD RESULT_FD LIFE_FD``."""
    task_fd, result_fd, life_fd = (int(a) for a in argv)
    with os.fdopen(task_fd, "rb") as f:
        task = pickle.load(f)
    run_task(task, result_fd, life_fd)


if __name__ == "__main__":
    main(sys.argv[1:])
