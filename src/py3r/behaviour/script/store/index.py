"""One run store directory: an SQLite index (WAL mode) and one signed file per stored iteration.

Every write is atomic: the iteration's file is written under a temporary name, flushed and renamed
into place, and only then is its index row committed, so after a crash at any moment the store holds
whole entries only (at worst an unindexed file, which :meth:`RunStore.prune` removes). Each file is
signed (HMAC-SHA256 with a per-user key, mode 0600) together with its key: a file that fails the
check, is truncated, is missing, cannot be read or does not load is reported with a
:class:`StoreWarning` and recomputed. A stored file has a new name each time its entry is replaced,
so a reader never sees another writer's half-replaced entry.

A store never stops a call (:mod:`.repair`): a damaged index is moved aside and rebuilt from the
signed files, which also carry their rows; a store that cannot be written (a read-only mount,
files one may read but not write) serves what it holds and stores nothing; on a full disk results
stay in memory; folders removed while the store is open are made again at the next write. Each
is reported with a :class:`StoreWarning` that names the store and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import json
import os
import pickle
import sqlite3
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ..exceptions import StoreWarning, warn
from ..iteration import Iteration
from ..payload import Bytes, Payload
from ..plan import Plan
from ..spill import restore_outputs
from .blob import StoreSource, read_signed, write_blob
from .indexfile import INSERT, STALE_AFTER, IndexFile
from .lease import HOST, holder_alive, own_process
from .repair import entry_of, problem_of, row_of

__all__ = ["RunStore"]

#: Failure kinds that say nothing about the script and are never stored.
_NOT_STORED = {"cancelled", "worker"}

T = TypeVar("T")


class RunStore(IndexFile):
    """One store directory: look iterations up by key, save them, list them.

    Most code never needs this class: pass ``cache=True`` or ``cache="dir"`` to
    :func:`~py3r.behaviour.script.run` or :func:`~py3r.behaviour.script.sensitivity`. Front ends
    get one with :func:`open_store`.

    Parameters
    ----------
    path : str or Path
        The store directory (created with mode 0700 if missing; refused if it is a symbolic link or
        belongs to another user). A directory that cannot be created or written, or a disk that is
        full, gives a store that stores nothing (with a :class:`StoreWarning`), never an error.

    Examples
    --------
    >>> import tempfile
    >>> from py3r.behaviour.script import run
    >>> d = tempfile.mkdtemp()
    >>> first = run("examples/open_field/pipeline.py", {"threshold": 3.0}, cache=d)
    >>> again = run("examples/open_field/pipeline.py", {"threshold": 3.0}, cache=d)
    >>> again.iterations[0].cached
    True
    >>> again[{"threshold": 3.0}]["distance_cm"] == first[{"threshold": 3.0}]["distance_cm"]
    True
    """

    def _row(self, key: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._index(
            lambda db: db.execute(
                "SELECT digest, size, status, kind, timeout, params, script FROM entries WHERE key = ?",
                (key,),
            ).fetchone(),
            None,
        )
        return row

    # Reading ---------------------------------------------------------------------------------
    def get(self, key: str, *, retry_failed: bool = False, timeout: float | None = None) -> Iteration | None:
        """The stored iteration for ``key`` (marked ``cached``), or None to compute it.

        A stored failure is reused unless ``retry_failed``; a stored time-out only when ``timeout``
        is no longer than the limit it ran out of (a longer one, or none, might let it finish).
        """
        for _ in range(3):  # a concurrent writer may replace the entry while we read it
            row = self._row(key)
            if row is None:
                return None
            digest, size, status, kind, limit, params, script = row
            if status != "ok" and (
                retry_failed or (kind == "timeout" and (timeout is None or limit is None or timeout > limit))
            ):
                return None
            try:
                return self._read_entry(key, digest, size)
            except _Unusable as exc:
                problem = str(exc)
            if self._row(key) != row:
                continue  # replaced meanwhile: read the new entry
            shown = json.loads(params)
            self._drop(key, digest, f"the stored result of {script} for {shown} was ignored: {problem}")
            return None
        return None

    def _read_entry(self, key: str, digest: str, size: int) -> Iteration:
        """The stored iteration of an entry, its file checked whole against its signature."""
        try:
            fd = os.open(self._blob(key, digest), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise _Unusable("its file is missing") from None
        except OSError as exc:  # permission denied, a folder in its place
            raise _Unusable(f"its file cannot be read ({type(exc).__name__}: {exc})") from None
        try:
            actual = os.fstat(fd).st_size
            if actual != size:
                raise _Unusable(f"its file is truncated ({actual} of {size} bytes)")
            mac = self._mac(key)
            try:
                packed, data = read_signed(fd, size, mac)
                problem = None
            except ValueError as exc:
                packed, data, problem = True, b"", str(exc)
            if not hmac.compare_digest(mac.hexdigest(), digest):
                raise _Unusable(
                    "its file does not match its signature (corrupted, or written with another key)"
                )
            if problem is not None:
                raise _Unusable(f"it cannot be loaded ({problem})")
            try:
                if not packed:
                    return _stored_iteration(pickle.loads(data))  # the layout of earlier versions
                record = pickle.loads(data)
                source = self._source(key, digest)
                restore_outputs(record["outputs"], source)
                return _stored_iteration(record)
            except Exception as exc:
                raise _Unusable(f"it cannot be loaded ({type(exc).__name__}: {exc})") from None
        finally:
            os.close(fd)

    def _source(self, key: str, digest: str) -> StoreSource:
        """Where outputs of the entry ``key`` whose signature is ``digest`` are read back from."""
        return StoreSource(self.path, self._blob(key, digest), partial(self.sign_output, key))

    def sign_output(self, key: str, data: Bytes) -> str:
        """The signature of one output's pickle in the entry ``key``."""
        return self._sign(f"{key}:output", data)

    def _drop(self, key: str, digest: str, why: str) -> None:
        """Report an unusable entry and remove it (where the store can be written): it is recomputed."""
        warn(f"Run store {self.path}: {why}. It is computed again.", StoreWarning)
        if self.read_only is not None:
            return
        with contextlib.suppress(sqlite3.Error):
            self._index(
                lambda db: db.execute("DELETE FROM entries WHERE key = ? AND digest = ?", (key, digest)), None
            )
        with contextlib.suppress(OSError):
            self._blob(key, digest).unlink()

    # Writing ---------------------------------------------------------------------------------
    def put(
        self,
        key: str,
        plan: Plan,
        it: Iteration,
        *,
        timeout: float | None = None,
        digest_of_script: str,
    ) -> bool:
        """Store ``it`` under ``key`` atomically; return whether it was stored.

        Cancelled iterations and lost workers say nothing about the script and are not stored. A
        write that fails is reported with a :class:`StoreWarning` and the iteration stays in the
        results: once per store when the store cannot be written or the disk is full (nothing is
        tried again meanwhile), with the iteration's values for any other cause. Each large
        output is written apart (see :mod:`.blob`); once stored, ``it.outputs`` holds it as a
        payload whose ``stored`` is the stored copy, which results over their memory budget refer
        to instead of keeping their own.
        """
        kind = it.failure.kind if it.failure is not None else None
        if it.status == "cancelled" or kind in _NOT_STORED:
            return False
        if self.read_only is not None:
            self._cannot_write()  # warns once
            return False
        if time.monotonic() < self._full_until:
            return False
        params = {n: it.values[n] for n in plan.spec.params if n in it.values}
        row = row_of(
            params,
            {k: o.value if isinstance(o, Payload) else o for k, o in it.outputs.items()},
            script=str(plan.spec.path),
            script_digest=digest_of_script,
            timeout=timeout if kind == "timeout" else None,
        )
        for attempt in range(2):
            try:
                self._write(key, it, row)
                return True
            except (OSError, sqlite3.Error, pickle.PicklingError, TypeError, AttributeError) as exc:
                problem = problem_of(exc)
                if problem in ("missing", "damaged") and not attempt:
                    if problem == "missing":
                        self._make_folders()  # removed while the store was open
                        if not (self.path / "index.sqlite").exists():
                            with self._lock:
                                self._db = self._connect()
                    else:
                        self._repair(exc)
                    continue
                if problem == "full":
                    self._disk_full(exc)
                elif problem == "read-only":
                    self._cannot_write(exc)
                else:
                    warn(
                        f"Run store {self.path}: the result of {plan.spec.display_path} for {it.params} "
                        f"could not be stored ({type(exc).__name__}: {exc}). It is in the results, but "
                        "will be computed again next time.",
                        StoreWarning,
                    )
                return False
        return False

    def _write(self, key: str, it: Iteration, row: dict[str, Any]) -> None:
        """Write the file of ``it``, then its index row; on any failure leave nothing half-done."""
        created = time.time()
        record = it.to_record()
        record["info"] = {k: v for k, v in it.info.items() if k != "stored"}
        record["created"] = created
        record["row"] = row  # what the index holds, so that a damaged index can be rebuilt
        mac = self._mac(key)
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix=f"{key[:16]}-")
        placed: str | None = tmp
        try:
            with os.fdopen(fd, "wb") as fh:
                apart = write_blob(fh.fileno(), record, mac, partial(self.sign_output, key))
                size = os.fstat(fh.fileno()).st_size
                os.fsync(fh.fileno())
            digest = mac.hexdigest()
            blob = self._blob(key, digest)
            os.replace(tmp, blob)
            placed = str(blob)
            values = entry_of(
                key,
                row,
                status=it.status,
                kind=it.failure.kind if it.failure is not None else None,
                created=created,
                wall_time=it.wall_time,
                digest=digest,
                size=size,
            )

            def insert(db: sqlite3.Connection) -> Any:
                db.execute("BEGIN IMMEDIATE")
                try:
                    old = db.execute("SELECT digest FROM entries WHERE key = ?", (key,)).fetchone()
                    db.execute(INSERT, values)
                    db.execute("DELETE FROM leases WHERE key = ?", (key,))  # done: waiters read it
                    db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                    raise
                return old

            with self._lock:
                db = self._conn()
                if not self._db_writable:  # opened read-only while the disk was full: try again
                    if db is not None:
                        db.close()
                    db = self._db = self._connect()
                if db is None or not self._db_writable:
                    why = errno.EROFS if self.read_only is not None else errno.ENOSPC
                    raise OSError(why, "the index could not be opened for writing")
                old = insert(db)
            placed = None
        finally:
            if placed is not None:  # not indexed: never leave the file behind
                with contextlib.suppress(OSError):
                    os.unlink(placed)
        source = self._source(key, digest)
        for name, (payload, stored) in apart.items():
            payload.stored = stored.spilled(name, source)  # the results may refer to this copy
            it.outputs[name] = payload
        if old is not None and old[0] != digest:
            with contextlib.suppress(OSError):
                self._blob(key, old[0]).unlink()

    # Leases: a point another process is computing is waited for -----------------------------
    def take_lease(self, key: str, owner: str) -> bool:
        """Mark ``key`` as being computed by ``owner`` (one call); False when another live holder
        has it. A store that cannot be written, or any trouble, gives True: then it is computed."""
        if self.read_only is not None or not self._db_writable:
            return True
        pid, started = own_process()

        def take(db: sqlite3.Connection) -> bool:
            db.execute("BEGIN IMMEDIATE")
            try:
                held = db.execute(
                    "SELECT owner, host, pid, pid_start, taken FROM leases WHERE key = ?", (key,)
                ).fetchone()
                if held is not None and held[0] != owner and holder_alive(*held[1:]):
                    db.execute("COMMIT")
                    return False
                db.execute(
                    "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?)",
                    (key, owner, HOST, pid, started, time.time()),
                )
                db.execute("COMMIT")
                return True
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise

        return self._lease_op(take, True)

    def release_leases(self, owner: str, key: str | None = None) -> None:
        """Give up ``owner``'s lease of ``key`` (of every key, without one)."""
        if self.read_only is not None or not self._db_writable:
            return
        if key is None:
            self._lease_op(lambda db: db.execute("DELETE FROM leases WHERE owner = ?", (owner,)), None)
        else:
            sql = "DELETE FROM leases WHERE key = ? AND owner = ?"
            self._lease_op(lambda db: db.execute(sql, (key, owner)), None)

    def _lease_op(self, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``op`` on the leases: never an error (without leases, points are simply computed)."""
        try:
            with self._lock:
                db = self._conn()
                return default if db is None else op(db)
        except sqlite3.Error as exc:
            if problem_of(exc) == "damaged":
                self._repair(exc)
            return default

    def prune(self, *, older_than: float = STALE_AFTER) -> int:
        """Remove files no index row refers to (a crash between writing and indexing); return how many.

        Only files older than ``older_than`` seconds are removed: a younger one may be a concurrent
        writer's, about to be indexed. A store that cannot be written, or whose index cannot be
        read, is left as it is (0).
        """
        if self.read_only is not None:
            return 0
        keys = self._index(lambda db: db.execute("SELECT key, digest FROM entries").fetchall(), None)
        if keys is None:
            return 0
        wanted = {self._blob(k, d).name for k, d in keys}
        cutoff = time.time() - older_than
        removed = 0
        for directory in (self.blobs, self.tmp):
            with contextlib.suppress(OSError):
                for entry in os.scandir(directory):
                    if entry.name in wanted:
                        continue
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(entry.path)
                            removed += 1
        return removed

    # Listing ---------------------------------------------------------------------------------
    def rows(self, script: Path) -> list[tuple[Any, ...]]:
        """The index rows of ``script`` (a resolved path), oldest first: ``(params, outputs, status,
        created, wall_time, script_digest)``, the first two as JSON text."""
        rows: list[tuple[Any, ...]] = self._index(
            lambda db: db.execute(
                "SELECT params, outputs, status, created, wall_time, script_digest FROM entries "
                "WHERE script = ? ORDER BY created, rowid",
                (str(script),),
            ).fetchall(),
            [],
        )
        return rows


class _Unusable(Exception):
    """A stored entry that cannot be used; the message says why."""


def _stored_iteration(record: dict[str, Any]) -> Iteration:
    it = Iteration.from_record({**record, "index": -1, "params": {}})
    it.cached = True
    it.info = {**record["info"], "stored": record["created"]}
    return it
