"""What Linux says of a process in ``/proc/<pid>/stat``: read by the engines (a session's
processes) and the run store (when a lease holder started). Standard library only."""

from __future__ import annotations

import sys

__all__ = ["stat_fields"]


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, session, ...),
    or None where they cannot be read (no such process, not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
