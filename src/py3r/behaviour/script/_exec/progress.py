"""The progress bar of a sweep (tqdm.auto: a widget in notebooks, text in terminals)."""

from __future__ import annotations

from typing import Any

from ..spill import describe_size

__all__ = ["Progress"]


#: Outputs at least this large (pickled) count in the bar's ``received`` figure.
BIG_OUTPUT = 1 << 20


class Progress:
    """Counts iterations that ran; the postfix counts failed ones and bytes of large outputs received."""

    def __init__(self, total: int, *, done: int, label: str | None) -> None:
        from tqdm.auto import tqdm

        self._bar: Any = tqdm(total=total, initial=done, unit="it", desc=label or "sweep", leave=True)
        self._failed = 0
        self._received = 0

    def _postfix(self, refresh: bool) -> None:
        shown: dict[str, object] = {"failed": self._failed}
        if self._received:
            shown["received"] = describe_size(self._received)
        self._bar.set_postfix(shown, refresh=refresh)

    def update(self, status: str) -> None:
        """One more iteration is known, with its ``status``.

        A cancelled iteration (stopped by Ctrl-C or a Cancel while it ran) neither moves the bar
        nor counts as failed: the bar counts the iterations that ran, and only those that failed
        count as failures.
        """
        if status == "cancelled":
            return
        self._failed += status == "failed"
        self._bar.update(1)
        self._postfix(refresh=False)

    def received(self, nbytes: int) -> None:
        """An output of ``nbytes`` (pickled) arrived: a large one shows in the postfix at once."""
        if nbytes >= BIG_OUTPUT:
            self._received += nbytes
            self._postfix(refresh=True)

    def close(self) -> None:
        self._bar.close()
