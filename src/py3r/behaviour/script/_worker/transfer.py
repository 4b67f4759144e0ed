"""Sending one output to the owner: pickled with protocol 5, its large buffers out of band.

A buffer of :data:`~.protocol.OUT_OF_BAND_MIN` bytes or more (a numpy array's data, a DataFrame's
column) is kept out of the pickle. When those add up to :data:`~.protocol.SHARED_MIN` or more and
the result channel is a Unix socket, they are written into an anonymous shared memory segment
(``memfd_create``; elsewhere an unlinked temporary file) whose descriptor is sent with the frame:
the owner maps it, so the data is copied once, into the segment. The segment never has a name: it
ends when its last descriptor or mapping closes, whichever process dies first and however. Other
outputs carry their buffers inside the frame.

Standard library only (and the cloudpickle module it is handed): this runs in every iteration.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
from typing import Any

from .protocol import OUT_OF_BAND_MIN, OUTPUT, SHARED, SHARED_MIN, layout, output_header, write_all

__all__ = ["Sender", "pickled"]

#: The name a segment shows in /proc/PID/fd and /proc/PID/maps (it is never a file).
SEGMENT_NAME = "py3r-output"


def pickled(value: Any, cloudpickle: Any) -> tuple[bytes, list[memoryview]]:
    """``value`` pickled (protocol 5) with cloudpickle, and its large buffers kept out of the pickle."""
    buffers: list[memoryview] = []

    def out_of_band(buf: pickle.PickleBuffer) -> bool:
        try:
            raw = buf.raw()
        except BufferError:  # not contiguous: it stays in the pickle
            return True
        if raw.nbytes < OUT_OF_BAND_MIN:
            return True
        buffers.append(raw)
        return False

    return cloudpickle.dumps(value, protocol=5, buffer_callback=out_of_band), buffers


def _segment() -> int | None:
    """A new anonymous shared memory segment (a descriptor), or None where none can be made."""
    create = getattr(os, "memfd_create", None)
    if create is not None:
        try:
            return int(create(SEGMENT_NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING))
        except OSError:
            pass
    try:
        import tempfile

        where = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.TemporaryFile(dir=where) as f:  # never named where O_TMPFILE exists
            return os.dup(f.fileno())
    except OSError:
        return None


def _fill(fd: int, buffers: list[memoryview], sizes: list[int]) -> None:
    offsets, end = layout(sizes)
    os.ftruncate(fd, end)
    for offset, buf in zip(offsets, buffers):
        done = 0
        while done < buf.nbytes:
            done += os.pwrite(fd, buf[done:], offset + done)
    _seal(fd)


def _seal(fd: int) -> None:
    """Make a memfd unchangeable: the owner maps it, and a segment cut short would crash it (SIGBUS)."""
    try:
        import fcntl

        seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    except (ImportError, AttributeError, OSError):  # not a memfd (the fallback file): left as it is
        pass


class Sender:
    """Writes output frames to one result channel."""

    def __init__(self, fd: int) -> None:
        """``fd``: the iteration's end of the result channel (a Unix socket)."""
        self.fd = fd
        self._sock: socket.socket | None = None

    def _socket(self) -> socket.socket:
        if self._sock is None:
            # Kept for the life of the process: closing it would close fd.
            self._sock = socket.socket(fileno=self.fd)
        return self._sock

    def send(self, name: str, data: bytes, buffers: list[memoryview]) -> None:
        """Send one output; an OSError means the owner stopped reading."""
        sizes = [b.nbytes for b in buffers]
        if sum(sizes) >= SHARED_MIN and self._send_shared(name, data, buffers, sizes):
            return
        write_all(self.fd, output_header(OUTPUT, name, len(data), sizes))
        write_all(self.fd, data)
        offsets, _ = layout(sizes)
        at = 0
        for offset, buf in zip(offsets, buffers):
            if offset > at:
                write_all(self.fd, bytes(offset - at))
            write_all(self.fd, buf)
            at = offset + buf.nbytes

    def _send_shared(self, name: str, data: bytes, buffers: list[memoryview], sizes: list[int]) -> bool:
        sock = self._socket()
        fd = _segment()
        if fd is None:
            return False
        try:
            try:
                _fill(fd, buffers, sizes)
            except OSError:  # no room for a segment: the buffers go inside the frame
                return False
            header = output_header(SHARED, name, len(data), sizes)
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))]
            sent = sock.sendmsg([header], rights)
            write_all(self.fd, memoryview(header)[sent:])
            write_all(self.fd, data)
            return True
        finally:
            os.close(fd)  # the owner holds its own descriptor now (or nobody does)
