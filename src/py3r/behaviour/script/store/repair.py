"""Keeping a run store usable when its disk is not: what went wrong, and an index rebuilt from the
signed files.

Every stored iteration is a file signed with the user's key, and each file carries the row the
index holds for it, so a damaged index loses nothing: it is moved aside and rebuilt from the files
whose signature checks (the others are left alone, and never loaded).
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import json
import os
import pickle
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from ..values import as_python, is_scalar
from .blob import read_signed

__all__ = ["Problem", "jsonable", "problem_of", "row_of", "rows_from_blobs", "set_aside"]

#: What stops a store from working: a damaged index, a disk that cannot be written, a full disk,
#: a folder removed while the store was open.
Problem = Literal["damaged", "read-only", "full", "missing"]

#: The columns of an index row, in table order.
COLUMNS = (
    "key",
    "script",
    "script_digest",
    "params",
    "outputs",
    "status",
    "kind",
    "timeout",
    "created",
    "wall_time",
    "digest",
    "size",
)


def problem_of(exc: BaseException) -> Problem | None:
    """What ``exc`` (an ``OSError`` or an ``sqlite3`` error) says about the store, if it is one of
    the problems a store survives; None for anything else."""
    if type(exc) is sqlite3.DatabaseError:  # SQLITE_CORRUPT, SQLITE_NOTADB: the file is damaged
        return "damaged"
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "full" in text:
            return "full"
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return "read-only"
        return None
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read-only"
        if exc.errno == errno.ENOENT:
            return "missing"
    return None


def jsonable(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` for a value the index can hold (numpy scalars as Python ones; NaN and inf
    are kept: only the store reads the index), ``(False, None)`` for others (complex, huge ints)."""
    value = as_python(value)
    if isinstance(value, int) and value.bit_length() > 2000:
        return False, None  # JSON writes ints in decimal, which Python limits in length
    if value is None or isinstance(value, (bool, int, float, str)):
        return True, value
    return False, None


def row_of(
    params: dict[str, Any], outputs: dict[str, Any], *, script: str, script_digest: str, timeout: float | None
) -> dict[str, Any]:
    """What the index holds of an iteration beside its status and timing (kept in its file too)."""
    shown = {n: v for n, value in params.items() for ok, v in [jsonable(value)] if ok}
    scalars = {n: v for n, o in outputs.items() if is_scalar(o) for ok, v in [jsonable(o)] if ok}
    return {
        "script": script,
        "script_digest": script_digest,
        "params": json.dumps(shown),
        "outputs": json.dumps(scalars),
        "timeout": timeout,
    }


def entry_of(
    key: str,
    row: dict[str, Any],
    *,
    status: str,
    kind: str | None,
    created: float,
    wall_time: float,
    digest: str,
    size: int,
) -> tuple[Any, ...]:
    """An index entry, its values in the order of :data:`COLUMNS`."""
    return (
        key,
        row["script"],
        row["script_digest"],
        row["params"],
        row["outputs"],
        status,
        kind,
        row["timeout"],
        created,
        wall_time,
        digest,
        size,
    )


def rows_from_blobs(blobs: Path, mac_of: Callable[[str], Any]) -> Iterator[tuple[Any, ...]]:
    """The index rows the signed files in ``blobs`` describe (the newest file of each key).

    ``mac_of(key)`` gives the signature to feed a file of ``key``. A file whose signature does not
    check is never unpickled. Only a file's header is loaded (its large outputs stay where they
    are). Files written before the row was kept in them give rows without the script's path and
    digest (served by key, not listed in a history) and without a time-out's limit (a stored
    time-out is then run again).
    """
    newest: dict[str, tuple[Any, ...]] = {}
    try:
        entries = list(os.scandir(blobs))
    except OSError:
        return
    for entry in entries:
        stem, dot, ext = entry.name.rpartition(".")
        key, _, mark = stem.rpartition(".")
        if not dot or ext != "pkl" or not key:
            continue
        mac = mac_of(key)
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            size = os.fstat(fd).st_size
            _, data = read_signed(fd, size, mac)
        except (OSError, ValueError):
            continue
        finally:
            os.close(fd)
        digest = mac.hexdigest()
        if not hmac.compare_digest(digest[:16], mark):
            continue  # damaged, or written with another key: never loaded
        try:
            record = pickle.loads(data)
            failure = record.get("failure") or {}
            row = record.get("row") or row_of(
                record.get("values") or {},
                record.get("outputs") or {},
                script="",
                script_digest="",
                timeout=None,
            )
            values = entry_of(
                key,
                row,
                status=record["status"],
                kind=failure.get("kind"),
                created=float(record["created"]),
                wall_time=float(record["wall_time"]),
                digest=digest,
                size=size,
            )
        except Exception:  # a file that does not load is reported when it is asked for
            continue
        if key not in newest or newest[key][COLUMNS.index("created")] < values[COLUMNS.index("created")]:
            newest[key] = values
    yield from newest.values()


def set_aside(index: Path) -> str:
    """Move a damaged index (and its ``-wal`` and ``-shm`` files) aside; return the new name."""
    name = f"{index.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{index}{suffix}", index.with_name(name + suffix))
    return name
