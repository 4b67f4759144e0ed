"""The owner's life pipe: children watch its read end, and its EOF means the owner is gone.

The write end stays open in this process only (it is close-on-exec and never passed on), so when
this process dies, for any reason, every child sees end-of-file and kills its process group.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_fds: tuple[int, int] | None = None


def life_read_fd() -> int:
    """The read end to hand to a child (created on first use)."""
    global _fds
    with _lock:
        if _fds is None or os.getpid() != _owner_pid:
            _create()
        assert _fds is not None
        return _fds[0]


_owner_pid = -1


def _create() -> None:
    global _fds, _owner_pid
    _fds = os.pipe()
    _owner_pid = os.getpid()
