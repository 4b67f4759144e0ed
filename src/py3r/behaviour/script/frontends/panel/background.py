"""Work the panel does in background threads: counted, so that :meth:`Background.wait` can wait for
it, and throttled where it is drawing (:class:`Throttle`), so that it never slows the runs it shows."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable

from ... import SweepInterruptedWarning

__all__ = ["Background", "Throttle", "quiet_cancellations"]


def quiet_cancellations() -> None:
    """Drop the warnings of calls cancelled in the panel's threads: the panel says so in place.

    A rerun cancelled by a newer change, or a sweep cancelled with its button, is what the user
    asked for. ``execute_plan`` warns of it too, attributed to the first frame outside the library:
    for the panel's threads, that is threading's. ``catch_warnings`` cannot silence it there (it
    swaps the process-wide filters, racing with every other thread), so one filter drops exactly
    the interruption warnings attributed to threading's frames (added again by each panel, as a
    test harness may reset the filters between panels).
    """
    warnings.filterwarnings("ignore", category=SweepInterruptedWarning, module="threading")


class Background:
    """A count of pending and running background work, and a condition to wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._busy = 0
        quiet_cancellations()

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
        threading.Thread(target=body, daemon=True, name="py3r-panel").start()


class Throttle:
    """Calls ``draw`` in a background thread when asked, coalescing requests, never too often.

    A request made while idle draws at once (after ``rest`` seconds without another request).
    Requests made while a draw runs or waits its turn coalesce into one later draw (which reads
    the latest state). After a draw that took ``t`` seconds, the next one waits
    ``max(every, t / share)``: drawing takes at most ``share`` of one core, whatever the drawing
    costs. ``request(urgent=True)`` skips the wait (the last refresh).
    """

    def __init__(
        self, work: Background, draw: Callable[[], None], *, every: float, share: float, rest: float = 0.0
    ) -> None:
        self.work = work
        self.draw = draw
        self.every = every
        self.share = share
        self.rest = rest
        self._asked = 0.0
        #: Seconds the last draw took.
        self.cost = 0.0
        self._cond = threading.Condition()
        self._wanted = self._urgent = self._running = self._stopped = False
        self._next = 0.0

    def request(self, *, urgent: bool = False) -> None:
        """Ask for a draw of the latest state."""
        with self._cond:
            if self._stopped:
                return
            self._wanted = True
            self._asked = time.monotonic()
            self._urgent = self._urgent or urgent
            self._cond.notify_all()
            if self._running:
                return
            self._running = True
        self.work.spawn(self._loop)

    def stop(self) -> None:
        """Drop pending draws; a draw under way finishes."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _loop(self) -> None:
        done = False
        try:
            while True:
                with self._cond:
                    while True:
                        if not self._wanted or self._stopped:
                            self._running = False  # under the lock: a request now starts a new loop
                            done = True
                            return
                        delay = max(self._next, self._asked + self.rest) - time.monotonic()
                        if delay <= 0 or self._urgent:
                            break
                        self._cond.wait(delay)
                    self._wanted = self._urgent = False
                start = time.monotonic()
                try:
                    self.draw()
                finally:
                    self.cost = time.monotonic() - start
                    self._next = time.monotonic() + max(self.every, self.cost / self.share)
        finally:
            if not done:  # the draw raised: the next request starts afresh
                with self._cond:
                    self._running = False
