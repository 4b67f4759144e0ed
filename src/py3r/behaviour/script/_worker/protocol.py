"""The frames a child process writes to its result channel, and the task it reads.

Light on purpose: imported in every child. A frame is ``>QB`` (payload length, kind) + payload: an
8-byte length, so no output is too large for the format. The result channel is a Unix socket, so a
frame may carry a file descriptor.

Kind ``M`` carries a small control message, a pickled tuple of plain data: ``("started", pid)``,
``("done", info)``, ``("error", info)`` and, from the warm worker once it has reaped the child,
``("exit", status)``.

Kinds ``O`` and ``S`` carry an output, pickled with protocol 5 and its large buffers (a numpy
array's data, a DataFrame's columns) kept out of the pickle. Both start with the output's name, a
NUL byte, ``>QI`` (length of the pickle, number of buffers) and ``>Q`` per buffer (its size), then
the pickle. In ``O`` the buffers follow inside the frame; in ``S`` they are in a shared memory
segment whose descriptor travels with the frame, so that the owner maps them instead of reading
them: a large array crosses with one copy (into the segment). Buffers start at offsets that are
multiples of :data:`ALIGN`, counted from the end of the pickle in ``O`` and from the start of the
segment in ``S``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any

HEADER = struct.Struct(">QB")
OUTPUT = ord("O")
SHARED = ord("S")
MESSAGE = ord("M")
KINDS = frozenset({OUTPUT, SHARED, MESSAGE})

_META = struct.Struct(">QI")
_SIZE = struct.Struct(">Q")

#: Buffers start at multiples of this many bytes (enough for any numpy dtype, and cache lines).
ALIGN = 64
#: Buffers smaller than this stay inside the pickle.
OUT_OF_BAND_MIN = 64 * 1024
#: An output whose out-of-band buffers add up to at least this travels through shared memory.
SHARED_MIN = 1 << 20
#: Frames at least this large are received straight into a buffer of their own.
BIG_FRAME = 1 << 16


class ProtocolError(Exception):
    """The result channel carried something that is not a frame of this protocol."""


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
    #: Outputs larger than this many bytes (pickled) fail the iteration; ``None``: no limit.
    output_limit: int | None = None
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


def aligned(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`ALIGN`."""
    return -(-n // ALIGN) * ALIGN


def layout(sizes: list[int] | tuple[int, ...]) -> tuple[list[int], int]:
    """The offsets of buffers of these sizes laid out one after the other, and the end of the last."""
    offsets, end = [], 0
    for size in sizes:
        start = aligned(end)
        offsets.append(start)
        end = start + size
    return offsets, end


def output_header(kind: int, name: str, pickled: int, sizes: list[int]) -> bytes:
    """The frame header and meta data of an output (the pickle, then the buffers, follow)."""
    meta = name.encode() + b"\0" + _META.pack(pickled, len(sizes)) + b"".join(_SIZE.pack(s) for s in sizes)
    length = len(meta) + pickled
    if kind == OUTPUT and sizes:
        length += layout(sizes)[1]
    return HEADER.pack(length, kind) + meta


def parse_output(body: bytes | bytearray | memoryview) -> tuple[str, memoryview, list[int], memoryview]:
    """``(name, pickle, buffer sizes, rest)`` of an output frame's payload; ``rest`` holds the
    buffers of an ``O`` frame (at :func:`layout`'s offsets)."""
    view = memoryview(body)
    end = bytes(view[:4096]).find(b"\0")  # names are identifiers: short
    if end < 0:
        raise ProtocolError("an output frame without a name")
    name = bytes(view[:end]).decode()
    pos = end + 1
    pickled, count = _META.unpack_from(view, pos)
    pos += _META.size
    sizes = [_SIZE.unpack_from(view, pos + i * _SIZE.size)[0] for i in range(count)]
    pos += count * _SIZE.size
    return name, view[pos : pos + pickled], sizes, view[pos + pickled :]


class FrameReader:
    """Incremental parser of a result stream (owner side).

    Small frames are cut out of what arrives; a large one gets a buffer of its own that the socket
    fills directly (:meth:`buffer` says where the next bytes go, :meth:`received` how many came), so
    a large output is not copied on its way in. Descriptors that arrive with the stream wait in
    :attr:`fds` until their ``S`` frame is complete.
    """

    def __init__(self, max_frame: int | None = None) -> None:
        self._buf = bytearray()
        self._scratch = bytearray(BIG_FRAME)
        self._body: bytearray | None = None
        self._kind = 0
        self._got = 0
        self._max = max_frame
        self.fds: deque[int] = deque()

    def buffer(self) -> memoryview:
        """Where the next bytes of the stream should be received."""
        if self._body is not None:
            return memoryview(self._body)[self._got :]
        return memoryview(self._scratch)

    def received(self, n: int) -> list[tuple[int, bytearray, int | None]]:
        """``n`` bytes were received into :meth:`buffer`: the frames now complete."""
        if self._body is None:
            return self.feed(memoryview(self._scratch)[:n])
        self._got += n
        if self._got < len(self._body):
            return []
        body, self._body = self._body, None
        return [self._frame(self._kind, body)]

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, bytearray, int | None]]:
        """Parse ``data`` (the next bytes of the stream): ``(kind, payload, fd)`` of each frame completed."""
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            size, kind = HEADER.unpack_from(self._buf)
            if kind not in KINDS or (self._max is not None and size > self._max):
                raise ProtocolError(f"a frame of kind {kind} and {size} bytes")
            end = HEADER.size + size
            if len(self._buf) >= end:
                frames.append(self._frame(kind, self._buf[HEADER.size : end]))
                del self._buf[:end]
            elif size >= BIG_FRAME:
                body = bytearray(size)
                have = len(self._buf) - HEADER.size
                body[:have] = self._buf[HEADER.size :]
                self._buf.clear()
                self._body, self._kind, self._got = body, kind, have
                break
            else:
                break
        return frames

    def _frame(self, kind: int, body: bytearray) -> tuple[int, bytearray, int | None]:
        return kind, body, (self.fds.popleft() if kind == SHARED and self.fds else None)

    def close(self) -> None:
        """Close descriptors that arrived without their frame (the stream was cut short)."""
        while self.fds:
            with contextlib.suppress(OSError):
                os.close(self.fds.popleft())
