"""Who is computing a point right now: the identity of this process, and whether another lives.

A lease row names its holder by host, process id and the process's start time (so that a reused
process id is not taken for the holder). A holder on this host that is gone is taken over at once;
one on another host (a store on a shared disk, which the store does not support well) is trusted
for :data:`FOREIGN_LEASE` seconds.
"""

from __future__ import annotations

import os
import socket
import time

from .._proc import stat_fields

__all__ = ["FOREIGN_LEASE", "HOST", "holder_alive", "own_process", "process_start"]

#: Seconds a lease held on another host is trusted (its holder's life cannot be checked from here).
FOREIGN_LEASE = 3600.0
HOST = socket.gethostname()


def process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), or "" where unknown."""
    fields = stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else ""


_own: tuple[int, str] | None = None


def own_process() -> tuple[int, str]:
    """This process's id and start time: read once per process (a forked child reads its own)."""
    global _own
    pid = os.getpid()
    if _own is None or _own[0] != pid:
        _own = (pid, process_start(pid))
    return _own


def holder_alive(host: str, pid: int, start: str, taken: float) -> bool:
    """Whether the process that took a lease still runs."""
    if host != HOST:
        return time.time() - taken < FOREIGN_LEASE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return not start or process_start(pid) in (start, "")
