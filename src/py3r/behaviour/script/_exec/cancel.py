"""Cancelling a running call from another thread."""

from __future__ import annotations

import contextlib
import os
import threading

__all__ = ["CancelToken"]


class CancelToken:
    """Cancels a running call from another thread (the panel's Cancel button, a newer slider move).

    Pass it as ``cancel=`` to :func:`~py3r.behaviour.script.run` or
    :func:`~py3r.behaviour.script.sensitivity` and call :meth:`cancel` from another thread: running
    iterations are killed, finished ones kept, and the call returns with ``interrupted`` set.

    Examples
    --------
    >>> from py3r.behaviour.script import CancelToken
    >>> token = CancelToken()
    >>> token.is_set()
    False
    >>> token.cancel()
    >>> token.is_set()
    True
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)

    def cancel(self) -> None:
        """Ask the call to stop: running iterations are killed, finished ones are kept."""
        self._event.set()
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"x")

    def is_set(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def fileno(self) -> int:
        """A descriptor that becomes readable once cancelled (for ``select``)."""
        return self._r

    def __del__(self) -> None:
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)
