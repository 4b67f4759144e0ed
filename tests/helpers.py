"""Shared test helpers: finding the processes this test session started."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

#: Every process this session starts inherits this variable: that is how leftovers are found,
#: even those that were reparented away from us (a script's grandchildren).
MARK = "PY3R_TEST_SESSION"
os.environ.setdefault(MARK, uuid.uuid4().hex)
_TOKEN = f"{MARK}={os.environ[MARK]}".encode()

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "open_field" / "pipeline.py"
#: The example pipeline's scalar outputs (its first output, ``tracking``, is a DataFrame).
EXAMPLE_SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]

#: Roots of process trees that outlive a single test (a Dask cluster, a Jupyter server).
_long_lived: set[int] = set()


def allow_process_tree(pid: int) -> None:
    """Let ``pid`` and its descendants outlive a test (a module- or session-scoped fixture owns them)."""
    _long_lived.add(pid)


def disallow_process_tree(pid: int) -> None:
    _long_lived.discard(pid)


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    return rest[0], int(rest[1])


def session_processes() -> dict[int, tuple[int, str]]:
    """Live (not zombie) processes carrying this session's mark, other than this one: pid -> (ppid, cmd)."""
    found: dict[int, tuple[int, str]] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        try:
            if _TOKEN not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        st = _stat(pid)
        if st is None or st[0] in ("Z", "X"):
            continue
        found[pid] = (st[1], cmd)
    return found


def leftover_processes(allowed_roots: set[int], allowed: set[int]) -> dict[int, tuple[int, str]]:
    """Session processes that are neither ``allowed`` nor inside an allowed tree."""
    procs = session_processes()
    roots = allowed_roots | _long_lived

    def in_allowed_tree(pid: int) -> bool:
        seen = set()
        while pid > 1 and pid not in seen:
            if pid in roots:
                return True
            seen.add(pid)
            st = _stat(pid)
            if st is None:
                return False
            pid = st[1]
        return False

    roots = roots | {p for p, (_, cmd) in procs.items() if any(f in cmd for f in _allowed_commands)}
    return {p: v for p, v in procs.items() if p not in allowed and not in_allowed_tree(p)}


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until it is truthy (bounded); return its value or raise AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(interval)


def warm_workers() -> set[int]:
    """This process's live warm workers (their command line names the worker module)."""
    me = os.getpid()
    return {
        pid
        for pid, (ppid, cmd) in session_processes().items()
        if ppid == me and "py3r.behaviour.script._worker.zygote" in cmd
    }


def warm_processes() -> set[int]:
    """The idle warm workers, their pre-forked spares and their lifelines: the only processes
    allowed to stay."""
    workers = warm_workers()
    named: dict[int, tuple[str, int]] = {}
    for pid in session_processes():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        named[pid] = (comm, ppid)
    kept = {
        pid
        for pid, (comm, ppid) in named.items()
        if comm in ("py3r-spare", "py3r-lifeline") and ppid in workers
    }
    return workers | kept


def running_iterations() -> dict[int, tuple[int, str]]:
    """Processes of this session that run (or ran) a script: warm-worker children that are not idle
    spares, and children of the plain subprocess engine."""
    procs = session_processes()
    zygotes = {p for p, (_, cmd) in procs.items() if "py3r.behaviour.script._worker.zygote" in cmd}
    found = {}
    for pid, (ppid, cmd) in procs.items():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if (ppid in zygotes and pid not in zygotes and comm != "py3r-spare") or "script._worker.child" in cmd:
            found[pid] = (ppid, cmd)
    return found


#: Command-line fragments of processes a long-lived fixture owns (a cluster's restarted workers).
#: Python's own multiprocessing resource tracker outlives the pools that start it, by design.
_allowed_commands: set[str] = {"multiprocessing.resource_tracker"}


def allow_command(fragment: str) -> None:
    _allowed_commands.add(fragment)


def disallow_command(fragment: str) -> None:
    _allowed_commands.discard(fragment)
