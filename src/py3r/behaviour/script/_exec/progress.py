"""The progress bar of a sweep (tqdm.auto: a widget in notebooks, text in terminals)."""

from __future__ import annotations

from typing import Any

__all__ = ["Progress"]


class Progress:
    """Counts finished iterations, and failed ones in the bar's postfix."""

    def __init__(self, total: int, *, done: int, label: str | None) -> None:
        from tqdm.auto import tqdm

        self._bar: Any = tqdm(total=total, initial=done, unit="it", desc=label or "sweep", leave=True)
        self._failed = 0

    def update(self, ok: bool) -> None:
        """One more iteration is known (``ok`` or not)."""
        self._failed += not ok
        self._bar.update(1)
        self._bar.set_postfix(failed=self._failed, refresh=False)

    def close(self) -> None:
        self._bar.close()
