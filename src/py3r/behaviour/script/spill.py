"""Outputs kept on disk once results hold more than ``max_memory`` in memory.

A :class:`Keeper` watches what one results object holds. Each output it is handed (as it arrives,
from the run store or from a saved file) stays in memory while the total of large outputs held
stays within the budget; past it, a large output goes to disk: to the run store's own copy when
``cache=`` wrote one, else to the results' spill file. On disk it is a :class:`SpilledOutput`,
which ``sr[params][name]`` loads on access. Scalars and small outputs always stay in memory, so
tables, plots and the panel never read the disk.

The spill file is anonymous (``O_TMPFILE``, or unlinked as soon as it is made, mode 0600): it
never has a name another process could open, and its space goes back when the last object that
reads from it is collected, or when the process ends, however it ends.
"""

from __future__ import annotations

import numbers
import os
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import warn
from .payload import Bytes, Payload, Region, Writer, read_region, same
from .settings import env_number
from .values import is_scalar

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "FileSource",
    "Keeper",
    "PlacedOutput",
    "SpillFile",
    "SpilledOutput",
    "describe_size",
    "place_outputs",
    "resolve_max_memory",
    "restore_outputs",
]

#: The default budget of memory for the outputs one results object holds.
DEFAULT_MAX_MEMORY = 2**30
MAX_MEMORY_ENV = "PY3R_SCRIPT_MAX_MEMORY"
SPILL_DIR_ENV = "PY3R_SCRIPT_SPILL_DIR"
#: Outputs smaller than this (pickled) always stay in memory.
SPILL_MIN = 64 * 1024
#: With ``max_memory=None``, results warn once when they hold more than this, as the original API did.
WARN_HELD = 2**30


def describe_size(n: int) -> str:
    """``n`` bytes for people: ``"30.0 MiB"``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def max_memory_from_env() -> int:
    """The budget ``max_memory="auto"`` means: ``PY3R_SCRIPT_MAX_MEMORY`` (bytes, or a size such as
    ``2G``), else 1 GiB."""
    return int(
        env_number(
            MAX_MEMORY_ENV,
            DEFAULT_MAX_MEMORY,
            what="bytes",
            zero=True,
            size=True,
            example="2G",
            unset="the default of 1 GiB",
        )
    )


def resolve_max_memory(max_memory: Any) -> int | None:
    """The budget in bytes (None: no budget) for a ``max_memory=`` argument, checked."""
    if isinstance(max_memory, str) and max_memory == "auto":
        return max_memory_from_env()
    if max_memory is None:
        return None
    if isinstance(max_memory, bool) or not isinstance(max_memory, numbers.Integral) or max_memory < 0:
        raise ValueError(
            "max_memory must be a number of bytes (an int >= 0), None to keep every output in "
            f"memory, or 'auto' (PY3R_SCRIPT_MAX_MEMORY, else 1 GiB); got {max_memory!r}."
        )
    return int(max_memory)


def spill_dir() -> str:
    """Where spill files are made: ``PY3R_SCRIPT_SPILL_DIR``, else /var/tmp (on disk, where /tmp
    may be memory), else the temporary directory."""
    chosen = os.environ.get(SPILL_DIR_ENV)
    if chosen:
        return chosen
    if os.path.isdir("/var/tmp") and os.access("/var/tmp", os.W_OK | os.X_OK):
        return "/var/tmp"
    return tempfile.gettempdir()


class FileSource:
    """A file outputs written by :meth:`Writer.payload` are read back from, by descriptor.

    ``share``: whether large buffers read back are mapped (else read: for a file someone else may
    cut short while the value lives).
    """

    fd: int
    share = True

    def read(self, region: Region, name: str) -> Any:
        return read_region(self.fd, region, share=self.share)

    def copy(self, region: Region, writer: Writer, name: str) -> Region:
        return writer.region(self.fd, region)


class SpillFile(FileSource):
    """An anonymous file that outputs over the budget are appended to (see the module's text)."""

    def __init__(self, directory: str) -> None:
        with tempfile.TemporaryFile(dir=directory, prefix="py3r-spill-") as f:
            self.fd = os.dup(f.fileno())
        self.directory = directory
        self._end = 0
        self._lock = threading.Lock()
        self._closer = weakref.finalize(self, os.close, self.fd)

    def append(self, payload: Payload) -> Region:
        with self._lock:
            writer = Writer(self.fd, self._end)
            region = writer.payload(payload)
            self._end = writer.at
        return region

    def describe(self) -> str:
        return f"a spill file in {self.directory}"

    def close(self) -> None:
        self._closer()


class SpilledOutput:
    """An output kept on disk; :meth:`load` reads it back.

    Results hold one in place of a large output once their outputs in memory reach
    ``max_memory`` (see :func:`~py3r.behaviour.script.run`). ``sr[params][name]`` loads it for you:
    you meet this object only in :attr:`Iteration.outputs <py3r.behaviour.script.Iteration.outputs>`,
    which holds outputs as they are kept. Pickling it pickles the output.

    Attributes
    ----------
    name : str
        The output's name.
    type_name : str
        The type of the output (``"DataFrame"``).
    nbytes : int
        Its pickled size in bytes.
    where : str
        Where it is kept (a spill file, a run store, a saved results file).

    Examples
    --------
    >>> from py3r.behaviour.script import SpilledOutput, run
    >>> sr = run("examples/open_field/pipeline.py", {"threshold": 3.0}, max_memory=0)
    >>> kept = sr.iterations[0].outputs["tracking"]
    >>> isinstance(kept, SpilledOutput), kept.type_name
    (True, 'DataFrame')
    >>> len(kept.load()) == len(sr[{"threshold": 3.0}]["tracking"])
    True
    """

    __slots__ = ("_region", "_source", "name", "nbytes", "type_name")

    def __init__(self, name: str, type_name: str, source: Any, region: Region) -> None:
        self.name = name
        self.type_name = type_name
        self.nbytes = region.nbytes
        self._source = source
        self._region = region

    @property
    def where(self) -> str:
        return str(self._source.describe())

    def load(self) -> Any:
        """Read the output back (its large buffers mapped from the file, not copied)."""
        try:
            return self._source.read(self._region, self.name)
        except EOFError as exc:
            raise self._cut_short("read back from", exc) from None

    def copy_to(self, writer: Writer) -> Region:
        """Copy it, as it is on disk, to ``writer`` (saving results)."""
        try:
            return self._source.copy(self._region, writer, self.name)  # type: ignore[no-any-return]
        except EOFError as exc:
            raise self._cut_short("copied from", exc) from None

    def _cut_short(self, doing: str, exc: EOFError) -> EOFError:
        """The file it is kept in is shorter than when it was written (``exc``: by how much)."""
        return EOFError(
            f"Output {self.name!r} could not be {doing} {self.where}: {exc} (it was cut short or "
            "overwritten after the output was kept there). Run the iteration again to have it back."
        )

    def __repr__(self) -> str:
        return (
            f"<SpilledOutput {self.name!r}: a {self.type_name} of {describe_size(self.nbytes)} kept on "
            "disk; .load() reads it>"
        )

    def __reduce__(self) -> tuple[Callable[[Any], Any], tuple[Any]]:
        return same, (self.load(),)


@dataclass(frozen=True)
class PlacedOutput:
    """A large output in a file's header (a saved file, a stored iteration), in its place: where
    its pickle and buffers lie in that file."""

    type_name: str
    region: Region

    def spilled(self, name: str, source: Any) -> SpilledOutput:
        """The output as results hold it: read back from ``source`` (the file) when looked up."""
        return SpilledOutput(name, self.type_name, source, self.region)


def place_outputs(
    outputs: dict[str, Any], writer: Writer, sign: Callable[[Bytes], str] | None = None
) -> tuple[dict[str, Any], dict[str, tuple[Payload, PlacedOutput]]]:
    """The outputs as a file's header holds them, and the large ones ``writer`` wrote apart.

    Scalars and outputs smaller than :data:`SPILL_MIN` (pickled) stay as they are; a larger one
    (a value or a :class:`Payload`) is written by ``writer``, each pickle signed with ``sign`` when
    given, and stands in the header as a :class:`PlacedOutput`; it is returned apart with its
    payload. An output kept on disk is copied as it is there (unsigned files only). One that cannot
    be pickled stays as it is: pickling the header then says what is wrong with it.
    """
    kept: dict[str, Any] = {}
    apart: dict[str, tuple[Payload, PlacedOutput]] = {}
    for name, value in outputs.items():
        if isinstance(value, SpilledOutput) and sign is None:
            kept[name] = PlacedOutput(value.type_name, value.copy_to(writer))
            continue
        if not isinstance(value, Payload) and is_scalar(value):
            kept[name] = value
            continue
        try:
            payload = value if isinstance(value, Payload) else Payload.of(value)
        except Exception:
            kept[name] = value
            continue
        if payload.nbytes < SPILL_MIN:
            kept[name] = payload.value
            continue
        placed = PlacedOutput(type(payload.value).__name__, writer.payload(payload, sign))
        apart[name] = (payload, placed)
        kept[name] = placed
    return kept, apart


def restore_outputs(outputs: dict[str, Any], source: Any) -> None:
    """Turn each :class:`PlacedOutput` of a header's ``outputs`` into a :class:`SpilledOutput` of
    ``source`` (the file the header was read from), in place."""
    for name, value in outputs.items():
        if isinstance(value, PlacedOutput):
            outputs[name] = value.spilled(name, source)


class Keeper:
    """Decides, output by output, what one results object keeps in memory and what on disk."""

    def __init__(self, max_memory: int | None, *, label: str | None = None) -> None:
        self.max_memory = max_memory
        self.label = label
        #: Pickled bytes of the outputs held in memory, and of those kept on disk.
        self.held = 0
        self.on_disk = 0
        self._file: SpillFile | None = None
        self._warned = False
        self._failed = False

    def keep(self, outputs: dict[str, Any]) -> None:
        """Turn ``outputs`` (an iteration's) into what is kept: values in memory, :class:`SpilledOutput`
        on disk."""
        for name, value in list(outputs.items()):
            outputs[name] = self._one(name, value)

    def _fits(self, size: int) -> bool:
        return self.max_memory is None or self.held + size <= self.max_memory

    def _hold(self, size: int) -> None:
        self.held += size
        if self.max_memory is None and self.held > WARN_HELD and not self._warned:
            self._warned = True
            of = f" of {self.label}" if self.label else ""
            warn(
                f"ScriptResults{of} is holding approximately {self.held / 1e9:.1f} GB of outputs in "
                "memory: max_memory=None keeps every output there. Leave max_memory at its default "
                "(1 GiB), or give a number of bytes, to keep large outputs on disk beyond it.",
                ResourceWarning,
            )

    def _one(self, name: str, value: Any) -> Any:
        if isinstance(value, SpilledOutput):
            if value.nbytes < SPILL_MIN or self._fits(value.nbytes):
                try:
                    loaded = value.load()
                except Exception:  # gone or damaged: looking it up will say so
                    pass
                else:
                    self._hold(value.nbytes)
                    return loaded
            self.on_disk += value.nbytes
            return value
        if isinstance(value, Payload):
            payload = value
        elif is_scalar(value):
            return value
        else:
            try:
                payload = Payload.of(value)
            except Exception:  # not picklable (results built by hand): it can only stay in memory
                return value
        size = payload.nbytes
        if size < SPILL_MIN or self._fits(size):
            kept = payload.value
            payload.close()
            self._hold(size)
            return kept
        spilled = payload.stored or self._spill(name, payload)
        if spilled is None:  # the disk refused it: it stays in memory
            kept = payload.value
            payload.close()
            self._hold(size)
            return kept
        payload.close()
        self.on_disk += size
        return spilled

    def _spill(self, name: str, payload: Payload) -> SpilledOutput | None:
        type_name = type(payload.value).__name__
        try:
            if self._file is None:
                self._file = SpillFile(spill_dir())
            region = self._file.append(payload)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                warn(
                    f"Output {name!r} could not be written to disk in {spill_dir()} ({exc}); it is "
                    "kept in memory, as are other outputs this cannot write. Set the environment "
                    "variable PY3R_SCRIPT_SPILL_DIR to a folder with room.",
                    ResourceWarning,
                )
            return None
        return SpilledOutput(name, type_name, self._file, region)
