"""Work the panel does in background threads, counted so that :meth:`Background.wait` can wait for it."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Background"]


class Background:
    """A count of pending and running background work, and a condition to wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._busy = 0

    def begin(self) -> None:
        with self.cond:
            self._busy += 1

    def end(self) -> None:
        with self.cond:
            self._busy -= 1
            self.cond.notify_all()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no work is pending or running; return False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: self._busy == 0, timeout=timeout)

    def spawn(self, target: Callable[[], None]) -> None:
        """Run ``target`` in a daemon thread, counted until it ends."""

        def body() -> None:
            try:
                target()
            finally:
                self.end()

        self.begin()
        threading.Thread(target=body, daemon=True).start()
