"""An output in pickled form: its pickle (protocol 5) and its large buffers, kept apart.

Outputs arrive in this form from an iteration's process (:mod:`._worker.transfer`), and are written
in it to the spill file, the run store and saved results. In a file, a payload's buffers start at a
page boundary, so reading one back maps them (:func:`read_region`): an array is rebuilt without a
copy, and only the pages the caller touches are read. Mappings are private (copy-on-write): the
value can be changed in place, the file never is.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import struct
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._worker.protocol import SHARED, ProtocolError, layout, parse_output
from ._worker.transfer import pickled

__all__ = ["PAGE", "Bytes", "Payload", "Region", "Writer", "read_bytes", "read_pack", "read_region", "same"]

#: What a pickle or a buffer may be held in.
Bytes = bytes | bytearray | memoryview

#: Buffers of a value read back that add up to at least this many bytes are mapped, not copied.
MAP_MIN = 1 << 20
#: Buffers in a file start at a multiple of this (what ``mmap`` needs of an offset).
PAGE = mmap.ALLOCATIONGRANULARITY
_CHUNK = 1 << 20
_UNSET: Any = object()
_TRAILER = struct.Struct(">Q")


def read_bytes(fd: int, at: int, n: int) -> bytearray:
    """``n`` bytes of ``fd`` from offset ``at`` (raises EOFError when the file is shorter)."""
    buf = bytearray(n)
    view = memoryview(buf)
    done = 0
    while done < n:
        got = os.preadv(fd, [view[done:]], at + done)
        if not got:
            raise EOFError(f"the file ends {n - done} bytes early")
        done += got
    return buf


_libc: Any = None


def _mapper() -> Any:
    """libc's mmap and munmap through ctypes (None where that is not possible)."""
    global _libc
    if _libc is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [
                ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int64
            ]  # fmt: skip
            libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            _libc = (ctypes, libc)
        except (OSError, AttributeError):
            _libc = False
    return _libc or None


def _map(fd: int, length: int, offset: int) -> memoryview:
    """A private (copy-on-write) mapping of ``length`` bytes of ``fd`` from ``offset``.

    Python's ``mmap`` keeps a duplicate of the descriptor for as long as the mapping lives (before
    3.13's ``trackfd=False``): one per output held would run a process out of descriptors. So map
    through libc, and unmap when the last view of it is gone.
    """
    if sys.version_info >= (3, 13):
        return memoryview(mmap.mmap(fd, length, access=mmap.ACCESS_COPY, offset=offset, trackfd=False))
    found = _mapper() if hasattr(mmap, "MAP_PRIVATE") else None
    if found is None:
        return memoryview(mmap.mmap(fd, length, access=mmap.ACCESS_COPY, offset=offset))
    ctypes, libc = found
    prot = mmap.PROT_READ | mmap.PROT_WRITE
    addr = libc.mmap(None, length, prot, mmap.MAP_PRIVATE, fd, offset)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    memory = (ctypes.c_char * length).from_address(addr)
    weakref.finalize(memory, libc.munmap, addr, length)
    return memoryview(memory).cast("B")


def map_buffers(
    fd: int, at: int, sizes: tuple[int, ...] | list[int], *, share: bool = True
) -> list[memoryview]:
    """Views of buffers laid out from ``at`` (a page boundary) in ``fd``: mapped when large (and
    ``share``), else read. A file is mapped only when it is as long as the layout says: a mapping
    past the end of a file crashes the process that reads it (SIGBUS)."""
    offsets, end = layout(sizes)
    whole: memoryview | None = None
    if share and end >= MAP_MIN and os.fstat(fd).st_size >= at + end:
        try:
            whole = _map(fd, end, at)
        except (OSError, ValueError):  # out of mappings, or a file that cannot be mapped: read it
            whole = None
    if whole is None:
        whole = memoryview(read_bytes(fd, at, end))
    return [whole[o : o + s] for o, s in zip(offsets, sizes)]


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


class Payload:
    """One output in pickled form, and its value once loaded.

    ``pickled`` is the pickle; ``sizes`` the sizes of its out-of-band buffers, which are views
    (``buffers``) or lie in a shared memory segment (``fd``, from the iteration's process; closed
    by :meth:`close` or when the payload is collected).
    """

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        sizes: list[int],
        *,
        buffers: list[memoryview] | None = None,
        fd: int | None = None,
        value: Any = _UNSET,
    ) -> None:
        self.pickled = data
        self.sizes = list(sizes)
        self._buffers = buffers
        self._fd = fd
        self._value = value
        self._closer = weakref.finalize(self, _close, fd) if fd is not None else None
        #: Where the run store wrote it (a SpilledOutput), when it did: the copy on disk to refer to.
        self.stored: Any = None

    @classmethod
    def of(cls, value: Any) -> Payload:
        """``value``, pickled in this process (its large buffers are views of its own memory)."""
        import cloudpickle

        data, buffers = pickled(value, cloudpickle)
        return cls(data, [b.nbytes for b in buffers], buffers=buffers, value=value)

    @classmethod
    def received(cls, kind: int, body: bytearray, fd: int | None) -> tuple[str, Payload]:
        """The name and payload of an output frame (``fd``: the segment of an ``S`` frame)."""
        name, data, sizes, rest = parse_output(body)
        if kind == SHARED:
            if fd is None:
                raise ProtocolError(f"output {name!r} came without its shared memory")
            return name, cls(data, sizes, fd=fd)
        offsets, _ = layout(sizes)
        return name, cls(data, sizes, buffers=[rest[o : o + s] for o, s in zip(offsets, sizes)])

    @property
    def nbytes(self) -> int:
        """The pickled size: the pickle and its buffers."""
        return len(self.pickled) + sum(self.sizes)

    def buffers(self) -> list[memoryview]:
        if self._buffers is None:
            assert self._fd is not None
            self._buffers = map_buffers(self._fd, 0, self.sizes)
        return self._buffers

    @property
    def value(self) -> Any:
        """The output itself (loaded once; its large buffers stay where they are, mapped)."""
        if self._value is _UNSET:
            self._value = pickle.loads(self.pickled, buffers=self.buffers())
        return self._value

    def write_buffers(self, writer: Writer, start: int) -> None:
        """Write the buffers at ``start`` (a page boundary) on: from the segment when there is one."""
        offsets, _ = layout(self.sizes)
        for i, (offset, size) in enumerate(zip(offsets, self.sizes)):
            writer.pad(start + offset)
            if self._fd is not None:
                writer.copy(self._fd, offset, size)  # kernel to kernel: never mapped here
            else:
                writer.write(self.buffers()[i])

    def close(self) -> None:
        """Let go of the segment, the buffers and the value (a value handed out lives on)."""
        if self._closer is not None:
            self._closer()
        self._fd = None
        self._buffers = None
        self._value = _UNSET

    def __reduce__(self) -> tuple[Callable[[Any], Any], tuple[Any]]:
        return same, (self.value,)  # pickles as the value it holds


def same(value: Any) -> Any:
    """``value`` itself: what an object that pickles as the value it holds is rebuilt with."""
    return value


@dataclass(frozen=True)
class Region:
    """Where a payload lies in a file: its pickle at ``offset``, its buffers from ``buffers_at``."""

    offset: int
    pickled: int
    buffers_at: int
    sizes: tuple[int, ...]
    #: The signature of the pickle, in a signed file (the run store).
    mac: str | None = None

    @property
    def nbytes(self) -> int:
        return self.pickled + sum(self.sizes)


def read_region(
    fd: int,
    region: Region,
    check: Callable[[bytes | bytearray, Region], None] | None = None,
    *,
    share: bool = True,
) -> Any:
    """The value a :class:`Region` of ``fd`` holds; ``check`` vets the pickle before it is loaded.

    ``share=False`` reads the buffers instead of mapping them: for a file someone else may cut short
    while the value lives (a mapped page past its new end would crash this process).
    """
    data = read_bytes(fd, region.offset, region.pickled)
    if check is not None:
        check(data, region)
    buffers = map_buffers(fd, region.buffers_at, region.sizes, share=share) if region.sizes else []
    return pickle.loads(data, buffers=buffers)


class Writer:
    """Writes to a file from ``at`` on, in order; signs what it writes when given a ``mac``.

    :meth:`payload` writes a payload's pickle, then its buffers from the next page boundary on.
    """

    def __init__(self, fd: int, at: int = 0, mac: Any = None) -> None:
        self.fd = fd
        self.at = at
        self.mac = mac

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.pwrite(self.fd, view[done : done + (1 << 30)], self.at + done)
        if self.mac is not None:
            self.mac.update(view)
        self.at += len(view)

    def pad(self, to: int) -> None:
        while self.at < to:
            self.write(bytes(min(to - self.at, _CHUNK)))

    def copy(self, src: int, at: int, n: int) -> None:
        """Copy ``n`` bytes of ``src`` from ``at``: in the kernel when nothing is signed."""
        if self.mac is None and hasattr(os, "sendfile"):
            try:
                os.lseek(self.fd, self.at, os.SEEK_SET)
                done = 0
                while done < n:
                    sent = os.sendfile(self.fd, src, at + done, n - done)
                    if not sent:
                        raise EOFError(f"the source ends {n - done} bytes early")
                    done += sent
                self.at += n
                return
            except OSError:
                pass  # not between these two files: copy through a buffer
        buf = bytearray(min(n, _CHUNK))
        done = 0
        while done < n:
            piece = memoryview(buf)[: min(len(buf), n - done)]
            got = os.preadv(src, [piece], at + done)
            if not got:
                raise EOFError(f"the source ends {n - done} bytes early")
            self.write(piece[:got])
            done += got

    def payload(self, payload: Payload, sign: Callable[[Bytes], str] | None = None) -> Region:
        offset = self.at
        self.write(payload.pickled)
        start = -(-self.at // PAGE) * PAGE if payload.sizes else self.at
        payload.write_buffers(self, start)
        mac = sign(payload.pickled) if sign is not None else None
        return Region(offset, len(payload.pickled), start, tuple(payload.sizes), mac)

    def region(self, src: int, region: Region) -> Region:
        """Copy a region of another file written by :meth:`payload` (its pickle checked by the caller)."""
        offset = self.at
        self.copy(src, region.offset, region.pickled)
        start = -(-self.at // PAGE) * PAGE if region.sizes else self.at
        offsets, _ = layout(region.sizes)
        for o, size in zip(offsets, region.sizes):
            self.pad(start + o)
            self.copy(src, region.buffers_at + o, size)
        return Region(offset, region.pickled, start, region.sizes)

    def trailer(self, header: bytes) -> None:
        """End a pack: its header (a pickle), then the header's length."""
        self.write(header)
        self.write(_TRAILER.pack(len(header)))


def read_pack(fd: int, magic: bytes, size: int) -> bytes:
    """The header of a pack (``magic``, regions, header, header length) of ``size`` bytes."""
    if size < len(magic) + _TRAILER.size or bytes(read_bytes(fd, 0, len(magic))) != magic:
        raise ValueError("not a file of this format")
    (length,) = _TRAILER.unpack(read_bytes(fd, size - _TRAILER.size, _TRAILER.size))
    if length > size - len(magic) - _TRAILER.size:
        raise ValueError("its header is cut short")
    return bytes(read_bytes(fd, size - _TRAILER.size - length, length))
