"""One run store directory: an SQLite index (WAL mode) and one signed file per stored iteration.

Every write is atomic: the iteration's file is written under a temporary name, flushed and renamed
into place, and only then is its index row committed, so after a crash at any moment the store holds
whole entries only (at worst an unindexed file, which :meth:`RunStore.prune` removes). Each file is
signed (HMAC-SHA256 with a per-user key, mode 0600) together with its key: a file that fails the
check, is truncated, is missing or does not load is reported with a :class:`StoreWarning` and
recomputed. A stored file has a new name each time its entry is replaced, so a reader never sees
another writer's half-replaced entry.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import pickle
import sqlite3
import stat
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from ..exceptions import StoreWarning, warn
from ..iteration import Iteration
from ..plan import Plan
from ..values import as_python, is_scalar
from .keyfile import check_directory, signing_key

__all__ = ["RunStore"]

#: The layout of the index (``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: Seconds a temporary or unindexed file must be old before it is taken for a crash's leftover.
STALE_AFTER = 3600.0
#: Failure kinds that say nothing about the script and are never stored.
_NOT_STORED = {"cancelled", "worker"}

_SCHEMA = (
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        script TEXT NOT NULL,
        script_digest TEXT NOT NULL,
        params TEXT NOT NULL,
        outputs TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT,
        timeout REAL,
        created REAL NOT NULL,
        wall_time REAL NOT NULL,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL
    )""",
    "CREATE INDEX entries_script ON entries(script, created)",
)


def _jsonable(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` for a value the index can hold (numpy scalars as Python ones; NaN and inf
    are kept: only this module reads the index), ``(False, None)`` for others (complex, huge ints)."""
    value = as_python(value)
    if isinstance(value, int) and value.bit_length() > 2000:
        return False, None  # JSON writes ints in decimal, which Python limits in length
    if value is None or isinstance(value, (bool, int, float, str)):
        return True, value
    return False, None


class RunStore:
    """One store directory: look iterations up by key, save them, list them.

    Most code never needs this class: pass ``cache=True`` or ``cache="dir"`` to
    :func:`~py3r.behaviour.script.run` or :func:`~py3r.behaviour.script.sensitivity`. Front ends
    get one with :func:`open_store`.

    Parameters
    ----------
    path : str or Path
        The store directory (created with mode 0700 if missing; refused if it is a symbolic link or
        belongs to another user).

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

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        if not self.path.is_symlink() and not self.path.exists():
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        check_directory(self.path)
        self.blobs = self.path / "blobs"
        self.tmp = self.path / "tmp"
        for sub in (self.blobs, self.tmp):
            sub.mkdir(exist_ok=True, mode=0o700)
        self._key = signing_key()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._db = self._connect()
        self.closed = False
        _live.add(self)
        self._clean_tmp()

    # The index -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        index = self.path / "index.sqlite"
        for attempt in range(2):
            db = sqlite3.connect(index, timeout=60, check_same_thread=False, isolation_level=None)
            try:
                self._init_schema(db)
                if stat.S_IMODE(index.stat().st_mode) & 0o077:
                    os.chmod(index, 0o600)  # its -wal and -shm files take the same mode
                return db
            except BaseException as exc:
                db.close()
                if type(exc) is not sqlite3.DatabaseError or attempt:
                    raise
                self._set_aside(index, exc)  # "file is not a database"
        raise AssertionError("unreachable")

    def _set_aside(self, index: Path, exc: Exception) -> None:
        """An index that is not a database: keep it aside, start a new one (results are recomputed)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{index}{suffix}", f"{index}.corrupt-{stamp}{suffix}")
        warn(
            f"The index of the run store {self.path} is damaged ({exc}); it was moved to "
            f"{index.name}.corrupt-{stamp} and a new one started. Stored results are computed again.",
            StoreWarning,
        )

    def _init_schema(self, db: sqlite3.Connection) -> None:
        # Switching to WAL needs the database to itself for a moment: another process opening the
        # same store at the same instant makes it fail at once rather than wait. Retry briefly.
        deadline = time.monotonic() + 60
        while True:
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    self._create_schema(db)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _create_schema(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"The run store {self.path} was written by a newer version of this library "
                    f"(index layout {version}). Upgrade py3r-behaviour-script, or use another directory."
                )
            if version < SCHEMA_VERSION:  # a new store (or a pre-release layout, dropped)
                db.execute("DROP TABLE IF EXISTS entries")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def _conn(self) -> sqlite3.Connection:
        """The connection (call with the lock held); a forked child opens its own."""
        if self._pid != os.getpid():
            _abandoned.append(self._db)  # never use, nor close, a connection across fork
            self._pid = os.getpid()
            self._db = self._connect()
        return self._db

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a lock held by another thread at fork() would never be released

    def close(self) -> None:
        """Close the index (the store can no longer be used through this object)."""
        with self._lock:
            self.closed = True
            if self._pid == os.getpid():
                self._db.close()

    def _row(self, key: str) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = (
                self._conn()
                .execute(
                    "SELECT digest, size, status, kind, timeout, params, script FROM entries WHERE key = ?",
                    (key,),
                )
                .fetchone()
            )
        return row

    def _blob(self, key: str, digest: str) -> Path:
        return self.blobs / f"{key}.{digest[:16]}.pkl"

    def _sign(self, key: str, data: bytes) -> str:
        mac = hmac.new(self._key, key.encode() + b"\0", "sha256")
        mac.update(data)
        return mac.hexdigest()

    # Reading ---------------------------------------------------------------------------------
    def get(self, key: str, *, retry_failed: bool = False, timeout: float | None = None) -> Iteration | None:
        """The stored iteration for ``key`` (marked ``cached``), or None to compute it.

        A stored failure is reused unless ``retry_failed``; a stored time-out only when ``timeout``
        is no longer than the one it ran out of. A damaged entry is reported, removed and None returned.
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
                data = self._blob(key, digest).read_bytes()
            except FileNotFoundError:
                problem = "its file is missing"
            else:
                if len(data) != size:
                    problem = f"its file is truncated ({len(data)} of {size} bytes)"
                elif not hmac.compare_digest(self._sign(key, data), digest):
                    problem = "its file does not match its signature (corrupted, or written with another key)"
                else:
                    try:
                        return _stored_iteration(pickle.loads(data))
                    except Exception as exc:
                        problem = f"it cannot be loaded ({type(exc).__name__}: {exc})"
            if self._row(key) != row:
                continue  # replaced meanwhile: read the new entry
            shown = json.loads(params)
            self._drop(key, digest, f"the stored result of {script} for {shown} was ignored: {problem}")
            return None
        return None

    def _drop(self, key: str, digest: str, why: str) -> None:
        """Report an unusable entry and remove it: it is recomputed."""
        warn(f"Run store {self.path}: {why}. It is computed again.", StoreWarning)
        with self._lock:
            self._conn().execute("DELETE FROM entries WHERE key = ? AND digest = ?", (key, digest))
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
        write that fails (disk full, unpicklable output) is reported with a :class:`StoreWarning`;
        the iteration stays in the results.
        """
        kind = it.failure.kind if it.failure is not None else None
        if it.status == "cancelled" or kind in _NOT_STORED:
            return False
        import cloudpickle

        created = time.time()
        record = it.to_record()
        record["info"] = {k: v for k, v in it.info.items() if k != "stored"}
        record["created"] = created
        tmp = None
        try:
            data = cloudpickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
            digest = self._sign(key, data)
            fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix=f"{key[:16]}-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._blob(key, digest))
            tmp = None
            params = {
                n: v for n in plan.spec.params if n in it.values for ok, v in [_jsonable(it.values[n])] if ok
            }
            scalars = {k: v for k, o in it.outputs.items() if is_scalar(o) for ok, v in [_jsonable(o)] if ok}
            row = (
                key,
                str(plan.spec.path),
                digest_of_script,
                json.dumps(params),
                json.dumps(scalars),
                it.status,
                kind,
                timeout if kind == "timeout" else None,
                created,
                it.wall_time,
                digest,
                len(data),
            )
            with self._lock:
                db = self._conn()
                db.execute("BEGIN IMMEDIATE")
                try:
                    old = db.execute("SELECT digest FROM entries WHERE key = ?", (key,)).fetchone()
                    db.execute(f"INSERT OR REPLACE INTO entries VALUES ({', '.join('?' * len(row))})", row)
                    db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                    raise
        except (OSError, sqlite3.Error, pickle.PicklingError, TypeError, AttributeError) as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            warn(
                f"Run store {self.path}: the result of {plan.spec.display_path} for {it.params} could "
                f"not be stored ({type(exc).__name__}: {exc}). It is in the results, but will be "
                "computed again next time.",
                StoreWarning,
            )
            return False
        if old is not None and old[0] != digest:
            with contextlib.suppress(OSError):
                self._blob(key, old[0]).unlink()
        return True

    # Housekeeping ----------------------------------------------------------------------------
    def _clean_tmp(self) -> None:
        """Remove temporary files a crashed writer left (old enough not to be in use)."""
        cutoff = time.time() - STALE_AFTER
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.tmp):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)

    def prune(self, *, older_than: float = STALE_AFTER) -> int:
        """Remove files no index row refers to (a crash between writing and indexing); return how many.

        Only files older than ``older_than`` seconds are removed: a younger one may be a concurrent
        writer's, about to be indexed.
        """
        with self._lock:
            wanted = {
                self._blob(k, d).name for k, d in self._conn().execute("SELECT key, digest FROM entries")
            }
        cutoff = time.time() - older_than
        removed = 0
        for directory in (self.blobs, self.tmp):
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
        with self._lock:
            return (
                self._conn()
                .execute(
                    "SELECT params, outputs, status, created, wall_time, script_digest FROM entries "
                    "WHERE script = ? ORDER BY created, rowid",
                    (str(script),),
                )
                .fetchall()
            )


def _stored_iteration(record: dict[str, Any]) -> Iteration:
    it = Iteration.from_record({**record, "index": -1, "params": {}})
    it.cached = True
    it.info = {**record["info"], "stored": record["created"]}
    return it


#: Connections of a parent process seen in a forked child: never used, nor closed, there.
_abandoned: list[sqlite3.Connection] = []
#: Every store object of this process, so that a forked child can renew their locks.
_live: weakref.WeakSet[RunStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_live):
        store._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
