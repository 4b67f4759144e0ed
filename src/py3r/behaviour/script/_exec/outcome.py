"""What happened to an iteration, from what its process sent and how it ended: a Failure or success."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any

from .._worker.protocol import PIPES_CLOSED_EXIT, PIPES_CLOSED_NOTE
from ..iteration import Failure, Iteration
from ..plan import Point

__all__ = ["Ending", "cancelled", "failure_of"]


def cancelled(point: Point, why: str) -> Iteration:
    """The iteration of ``point``, cancelled (``why``: before it started, or before it finished)."""
    return Iteration.at(point, status="cancelled", failure=Failure("cancelled", why))


@dataclass
class Ending:
    """What is known of how an iteration ended, owner side."""

    #: The child's ``("done", info)`` message, when it finished.
    done: dict[str, Any] | None = None
    #: The child's ``("error", info)`` message (or one made here), when it failed.
    error: dict[str, Any] | None = None
    #: Outputs that arrived.
    outputs: dict[str, Any] = field(default_factory=dict)
    timed_out: bool = False
    cancelled: bool = False


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def failure_of(
    ending: Ending,
    *,
    code: int | None,
    capture: tuple[str, ...],
    required: bool,
    timeout: float | None,
    stderr: str = "",
) -> Failure | None:
    """Why an iteration failed, or ``None`` when it succeeded.

    ``code`` is the exit code (negative: killed by that signal; None: unknown yet, or lost);
    ``required`` says whether the outputs in ``capture`` were asked for by name.
    """
    if ending.cancelled:
        return Failure("cancelled", "The iteration was cancelled while it ran.", stderr_tail=stderr)
    if ending.timed_out:
        return Failure(
            "timeout",
            f"The iteration timed out after {timeout:g} s and was stopped (its process group was sent "
            "SIGTERM, then SIGKILL). Raise timeout= if it needs longer.",
            stderr_tail=stderr,
        )
    if ending.error is not None:
        info = ending.error
        if info["kind"] == "exception":
            return Failure(
                "exception",
                f"The script raised {info['exc_type']}: {info['exc_message']}",
                exc_type=info["exc_type"],
                exc_message=info["exc_message"],
                traceback=info["traceback"],
                exit_code=code,
                stderr_tail=stderr,
            )
        return Failure(info["kind"], info["message"], exit_code=code, stderr_tail=stderr)
    if ending.done is None:
        if code is None:
            return Failure(
                "worker",
                "The process running this iteration was lost before it reported an exit status "
                "(its warm worker died). Run it again; if it recurs, use engine='subprocess'.",
                stderr_tail=stderr,
            )
        if code < 0:
            name = _signal_name(-code)
            hint = " (possibly out of memory)" if -code == signal.SIGKILL else ""
            return Failure(
                "signal",
                f"The script's process was killed by signal {name} ({-code}){hint}.",
                exit_code=code,
                signal=name,
                stderr_tail=stderr,
            )
        if code == PIPES_CLOSED_EXIT and PIPES_CLOSED_NOTE.strip() in stderr:
            return Failure(
                "exit",
                "The script closed the pipe this library receives its outputs through (a file "
                "descriptor it had not opened, e.g. with os.closerange(3, ...)), so nothing more "
                "could be sent back. Close only descriptors the script opened itself; to keep a child "
                "process from inheriting them, subprocess's close_fds=True (the default) is enough.",
                exit_code=code,
                stderr_tail=stderr,
            )
        if code > 0:
            return Failure("exit", f"The script exited with code {code}.", exit_code=code, stderr_tail=stderr)
    missing = [n for n in capture if n not in ending.outputs] if required else []
    if missing:
        return Failure(
            "missing_outputs",
            f"The script ended before producing the requested output{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}.",
            exit_code=code,
            stderr_tail=stderr,
        )
    return None
