"""One iteration's record (:class:`Iteration`), why it failed (:class:`Failure`), and its outputs.

Failures are data: a :class:`Failure` keeps the cause (exception type, message and traceback, exit
code, signal, timeout); the string in ``ScriptResults.errors`` is derived from it. An iteration
travels as plain data (:meth:`Iteration.to_record`): in saved results, in the run store and back
from a cluster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .spill import SpilledOutput

if TYPE_CHECKING:
    from .plan import Point

__all__ = ["Failure", "FailureKind", "Iteration", "Outputs", "Status", "at_point"]

FailureKind = Literal[
    "exception",  # the script raised
    "exit",  # it exited with a non-zero code
    "signal",  # it died by a signal
    "timeout",  # it ran past timeout=
    "unpicklable",  # an output could not be pickled
    "too_large",  # an output was larger than the limit
    "missing_outputs",  # it ended before producing a requested output
    "cancelled",  # Ctrl-C or Cancel stopped it, or it never started
    "worker",  # the process running it was lost (engine or cluster fault)
]
Status = Literal["ok", "failed", "cancelled"]


@dataclass
class Failure:
    """Why an iteration failed. ``str(failure)`` is the message kept in ``errors``.

    Attributes
    ----------
    kind : str
        The cause: ``"exception"``, ``"exit"``, ``"signal"``, ``"timeout"``, ``"unpicklable"``,
        ``"too_large"``, ``"missing_outputs"``, ``"cancelled"`` or ``"worker"``.
    message : str
        One or more full sentences saying what happened.
    exc_type, exc_message : str or None
        The exception's type and text, when the script raised.
    traceback : str or None
        The script's traceback (frames of the runner trimmed away), when the script raised.
    exit_code : int or None
        The process's exit code (negative: killed by that signal), when it is known.
    signal : str or None
        The name of the signal that killed the process (e.g. ``"SIGSEGV"``).
    stderr_tail : str
        The last lines the iteration wrote to stderr.
    """

    kind: FailureKind
    message: str
    exc_type: str | None = None
    exc_message: str | None = None
    traceback: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    stderr_tail: str = ""

    def __str__(self) -> str:
        text = self.message
        if self.traceback:
            text += "\n\n" + self.traceback.rstrip()
        elif self.stderr_tail.strip() and self.kind in ("exit", "signal", "timeout", "worker"):
            tail = "\n".join(self.stderr_tail.rstrip().splitlines()[-15:])
            text += "\n\nLast lines of stderr:\n" + tail
        return text


@dataclass
class Iteration:
    """One iteration's record: parameters, outputs, status, logs and timing.

    Attributes
    ----------
    index : int
        Its position in the plan.
    params : dict
        The parameters results are keyed by.
    values : dict
        Every value injected into the script (``params`` plus nominal values of others).
    outputs : dict
        The outputs captured, including those produced before a failure, as the results keep them:
        a large output kept on disk is a :class:`~py3r.behaviour.script.SpilledOutput` here
        (``sr[params][name]`` loads it).
    status : str
        ``"ok"``, ``"failed"`` or ``"cancelled"``.
    failure : Failure or None
        Why it failed or was cancelled; None when it completed.
    stdout, stderr : str
        What the script printed (the last 256 KiB of each).
    wall_time : float
        Seconds from start to the script's last output or end.
    cached : bool
        True when it was served from a run store without running.
    info : dict
        Extra facts an engine records (``engine``, ``pid``, ``cwd``, ``worker`` on a cluster).
    """

    index: int
    params: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    status: Status = "ok"
    failure: Failure | None = None
    stdout: str = ""
    stderr: str = ""
    wall_time: float = 0.0
    cached: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """``True`` when the iteration completed."""
        return self.status == "ok"

    @classmethod
    def at(cls, point: Point, **fields: Any) -> Iteration:
        """The iteration of ``point`` of a plan (its index, key and injected values), with ``fields``."""
        return cls(index=point.index, params=dict(point.key), values=dict(point.values), **fields)

    def to_record(self) -> dict[str, Any]:
        """This iteration as plain data (the failure as a dict): what is saved, stored and sent back.

        :meth:`from_record` reads it. Outputs stay the objects they are; the caller pickles the record.
        """
        return {
            "index": self.index,
            "params": self.params,
            "values": self.values,
            "outputs": self.outputs,
            "status": self.status,
            "failure": None if self.failure is None else dataclasses.asdict(self.failure),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "wall_time": self.wall_time,
            "cached": self.cached,
            "info": self.info,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Iteration:
        """The iteration a :meth:`to_record` record describes."""
        fields = dict(record)
        failure = fields.pop("failure", None)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(
            **{k: v for k, v in fields.items() if k in known},
            failure=None if failure is None else Failure(**failure),
        )


class Outputs(dict):  # type: ignore[type-arg]
    """The outputs of one iteration: a dict whose missing keys explain themselves.

    An output the results keep on disk (a :class:`~py3r.behaviour.script.SpilledOutput`) is loaded
    when it is looked up (``outputs[name]``, ``get``, ``items``, ``values``), and kept here from then
    on; names alone (``list(outputs)``, ``in``) load nothing.
    """

    def __init__(self, iteration: Iteration) -> None:
        super().__init__(iteration.outputs)
        self._iteration = iteration

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if isinstance(value, SpilledOutput):
            value = value.load()
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        if name not in self:
            return default
        return self[name]

    def __iter__(self) -> Iterator[str]:
        # Not dict's own iterator: dict(outputs) and {**outputs} then look values up one by one.
        return iter(list(self.keys()))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(name, self[name]) for name in self.keys()]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[name] for name in self.keys()]

    def copy(self) -> dict[str, Any]:
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        return dict(self.items()) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __missing__(self, name: str) -> Any:
        it = self._iteration
        if it.failure is not None and it.status == "cancelled":  # it never ran to the end: no failure
            raise KeyError(
                f"Output {name!r} was not captured for {it.params}: the iteration was cancelled. "
                f"{it.failure.message} Run it again to have it."
            )
        if it.failure is not None:
            raise KeyError(
                f"Output {name!r} was not captured for {it.params}: the iteration failed. "
                f"{it.failure.message}"
            )
        raise KeyError(
            f"Output {name!r} was not captured for {it.params}. Captured outputs: "
            f"{', '.join(self) or 'none'} (ask for it with outputs=[...], or check the script "
            "reaches that Output call)."
        )


def at_point(it: Iteration, point: Point) -> Iteration:
    """``it`` (computed elsewhere, or stored) as the iteration of ``point`` of this plan: its index,
    key and injected values are the point's, as with :meth:`Iteration.at`."""
    it.index, it.params, it.values = point.index, dict(point.key), dict(point.values)
    return it
