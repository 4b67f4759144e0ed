"""The frames a child process writes to its result pipe, and the task it reads.

Light on purpose: imported in every child. A frame is ``>IB`` (payload length, kind) + payload.
Kind ``O`` carries an output: the name, a NUL byte, then the cloudpickled value. Kind ``M`` carries a
small control message, a pickled tuple of plain data: ``("started", pid)``, ``("done", info)``,
``("error", info)`` and, from the warm worker once it has reaped the child, ``("exit", status)``.
"""

from __future__ import annotations

import os
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

HEADER = struct.Struct(">IB")
OUTPUT = ord("O")
MESSAGE = ord("M")

#: Outputs larger than this (pickled) fail the iteration: override with PY3R_SCRIPT_MAX_OUTPUT_BYTES.
DEFAULT_OUTPUT_LIMIT = 2**30

#: A child whose result pipe was closed by the script itself (``os.closerange``) writes
#: :data:`PIPES_CLOSED_NOTE` to its stderr and exits with this code: the owner tells it from a
#: ``sys.exit(71)`` by the note.
PIPES_CLOSED_EXIT = 71
PIPES_CLOSED_NOTE = "py3r-behaviour-script: the script closed the pipe its outputs are sent through.\n"


@dataclass
class Task:
    """What one iteration needs to run: travels to the child as pickled plain data."""

    script_path: str
    source: str
    values: dict[str, Any]
    #: Outputs to capture; ``None`` for all.
    capture: tuple[str, ...] | None
    stop_after: bool
    cwd: str
    env: dict[str, str]
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    #: Cap on BLAS/OpenMP threads (set when several iterations run at once).
    threads: int | None = None
    #: Extra data of other front ends (notebook cell sources).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Whether the outputs in ``capture`` were asked for by name: then each must arrive (the owner
    #: checks; the child ignores it).
    required: bool = False


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte (blocking), retrying on partial writes."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def frame_message(*message: Any) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload), MESSAGE) + payload


def frame_output_header(name: str, size: int) -> bytes:
    encoded = name.encode() + b"\0"
    return HEADER.pack(len(encoded) + size, OUTPUT) + encoded


class FrameReader:
    """Incremental parser of a result stream (owner side)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            size, kind = HEADER.unpack_from(self._buf)
            end = HEADER.size + size
            if len(self._buf) < end:
                break
            frames.append((kind, bytes(self._buf[HEADER.size : end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)
