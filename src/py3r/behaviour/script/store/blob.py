"""The file of one stored iteration, and reading one of its outputs back later.

A pack (:mod:`..payload`): eight magic bytes, each large output in pickled form (its buffers at
page boundaries, so that reading it back maps them), then a header (a cloudpickle of the
iteration's record, each large output in it replaced by where it lies) and the header's length.
The whole file is signed, and its signature is the entry's digest in the index. Each large
output's pickle is also signed on its own, so that an output read back later (results refer to
the store's copy instead of keeping it in memory) is checked before it is unpickled without
reading the whole file again; its buffers are raw data, which cannot run code.
"""

from __future__ import annotations

import hmac
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..payload import Bytes, Payload, Region, Writer, read_bytes, read_region
from ..spill import PlacedOutput, place_outputs

__all__ = ["MAGIC", "StoreSource", "read_signed", "write_blob"]

MAGIC = b"PY3RRS02"
_LENGTH = struct.Struct(">Q")
_CHUNK = 1 << 20


def write_blob(
    fd: int, record: dict[str, Any], mac: Any, sign: Callable[[Bytes], str]
) -> dict[str, tuple[Payload, PlacedOutput]]:
    """Write ``record`` to ``fd`` as a pack, updating ``mac`` with every byte; return the large
    outputs written apart, each with its payload."""
    import cloudpickle

    writer = Writer(fd, 0, mac)
    writer.write(MAGIC)
    outputs, apart = place_outputs(record["outputs"], writer, sign)
    writer.trailer(cloudpickle.dumps({**record, "outputs": outputs}, protocol=5))
    return apart


def read_signed(fd: int, size: int, mac: Any) -> tuple[bool, bytes]:
    """Feed the whole file to ``mac``; return whether it is a pack, and what to unpickle: a pack's
    header, or the whole file of the layout earlier versions wrote. Both are cut from the very bytes
    that went into ``mac``: nothing unpickled here was read apart from what was checked.

    A pack whose layout is wrong raises ValueError, but only once every byte went into ``mac``:
    check the signature first, so that damage reads as damage."""
    head = bytes(read_bytes(fd, 0, min(size, len(MAGIC))))
    if head != MAGIC or size < len(MAGIC) + _LENGTH.size:
        data = bytes(read_bytes(fd, 0, size))
        mac.update(data)
        if head == MAGIC:
            raise ValueError("the file is cut short")
        return False, data
    (length,) = _LENGTH.unpack(read_bytes(fd, size - _LENGTH.size, _LENGTH.size))
    start, stop = size - _LENGTH.size - length, size - _LENGTH.size
    problem = "its header is cut short" if start < len(MAGIC) else None
    if problem:
        start = stop  # nothing to collect: the whole file still goes into mac
    header, tail = bytearray(), bytearray()
    at = 0
    while at < size:
        chunk = read_bytes(fd, at, min(_CHUNK, size - at))
        mac.update(chunk)
        lo, hi = max(at, start), min(at + len(chunk), stop)
        if lo < hi:
            header += chunk[lo - at : hi - at]
        if at + len(chunk) > stop:
            tail += chunk[max(stop, at) - at :]
        at += len(chunk)
    if problem is None and bytes(tail) != _LENGTH.pack(length):
        problem = "the file changed while it was read"
    if problem is not None:
        raise ValueError(problem)
    return True, bytes(header)


class StoreSource:
    """Reads outputs back from one stored file (by name: the file may be gone since)."""

    def __init__(self, store: Path, blob: Path, sign: Callable[[Bytes], str]) -> None:
        self.store = store  # the store's folder, for messages
        self.blob = blob
        self.sign = sign

    def describe(self) -> str:
        return f"the run store {self.store}"

    def _open(self, name: str) -> int:
        try:
            return os.open(self.blob, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"Output {name!r} was kept in the run store {self.store}, and its entry has been "
                "removed or replaced since. Run the iteration again to have it back."
            ) from None

    def _check(self, name: str) -> Callable[[bytes | bytearray, Region], None]:
        def check(data: bytes | bytearray, region: Region) -> None:
            if region.mac is None or not hmac.compare_digest(self.sign(data), region.mac):
                raise ValueError(
                    f"Output {name!r}, kept in the run store {self.store}, does not match its "
                    "signature (its file was changed or damaged), so it was not loaded. Run the "
                    "iteration again: with cache= the store finds the damage and computes it anew."
                )

        return check

    def read(self, region: Region, name: str) -> Any:
        fd = self._open(name)
        try:
            return read_region(fd, region, self._check(name))
        finally:
            os.close(fd)

    def copy(self, region: Region, writer: Writer, name: str) -> Region:
        fd = self._open(name)
        try:
            self._check(name)(read_bytes(fd, region.offset, region.pickled), region)
            return writer.region(fd, region)
        finally:
            os.close(fd)
