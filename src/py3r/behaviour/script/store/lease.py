"""Who is computing a point right now: the identity of this process, and whether another lives.

A lease row names its holder by host, process id and the process's start time (so that a reused
process id is not taken for the holder). A holder on this host that is gone is taken over at once;
one on another host (a store on a shared disk, which the store does not support well) is trusted
for :data:`FOREIGN_LEASE` seconds.
"""

from __future__ import annotations

import os
import socket
import sys
import time

__all__ = ["FOREIGN_LEASE", "HOST", "holder_alive", "process_start"]

#: Seconds a lease held on another host is trusted (its holder's life cannot be checked from here).
FOREIGN_LEASE = 3600.0
HOST = socket.gethostname()


def process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), or "" where unknown."""
    if not sys.platform.startswith("linux"):
        return ""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


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
