"""Warnings the library promises to emit."""

from __future__ import annotations

__all__ = ["IterationFailedWarning", "StoreWarning", "SweepInterruptedWarning"]


class IterationFailedWarning(UserWarning):
    """An iteration failed; its cause is in ``ScriptResults.errors``. The call still returned."""


class SweepInterruptedWarning(UserWarning):
    """A call was interrupted (Ctrl-C or Cancel); the finished iterations were kept."""


class StoreWarning(UserWarning):
    """A stored result was unusable (missing, truncated, corrupted) and is recomputed."""
