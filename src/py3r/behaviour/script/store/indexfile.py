"""The files of a run store and their troubles: the SQLite index (opened read-write, read-only, or
rebuilt when damaged), the folders, the signing key, and what to do when the disk will not write.

:class:`~py3r.behaviour.script.store.index.RunStore` builds on it; nothing else uses it.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import sqlite3
import stat
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..exceptions import StoreWarning, warn
from ..payload import Bytes
from .keyfile import check_directory, signing_key
from .repair import COLUMNS, problem_of, rows_from_blobs, set_aside

__all__ = ["FULL_PAUSE", "INSERT", "SCHEMA_VERSION", "STALE_AFTER", "IndexFile"]

#: The layout of the index (``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: Seconds a temporary or unindexed file must be old before it is taken for a crash's leftover.
STALE_AFTER = 3600.0
#: Seconds without writes after the disk was found full (then writing is tried again).
FULL_PAUSE = 30.0
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
INSERT = f"INSERT OR REPLACE INTO entries VALUES ({', '.join('?' * len(COLUMNS))})"
#: Points being computed right now, by whom (added to layout 1 without changing its number: a
#: version that does not know the table ignores it).
_LEASES = """CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT NOT NULL,
    taken REAL NOT NULL
)"""

T = TypeVar("T")


class IndexFile:
    """A store directory's index and folders, kept usable whatever its disk does."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self.blobs = self.path / "blobs"
        self.tmp = self.path / "tmp"
        self.closed = False
        #: Why nothing can be stored here (a read-only disk or store), once known.
        self.read_only: str | None = None
        self._full_until = 0.0
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._key = signing_key()
        self._db: sqlite3.Connection | None = None
        #: Whether ``_db`` was opened for writing (else read-only, or there is none).
        self._db_writable = False
        self._index_id: tuple[int, int] | None = None
        try:
            if not self.path.is_symlink() and not self.path.exists():
                self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            self._cannot_write(exc, at="create it")
        else:
            check_directory(self.path)
            parts = (self.path, self.blobs, self.tmp, self.path / "index.sqlite")
            if not all(os.access(p, os.W_OK) for p in parts if p.exists()):
                self.read_only = "it may be read here but not written"
            self._make_folders()
        self._db = self._connect()
        _live.add(self)
        if self.read_only is None:
            self._clean_tmp()

    # Trouble ---------------------------------------------------------------------------------
    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            warn(message, StoreWarning)

    def _cannot_write(self, exc: BaseException | None = None, *, at: str = "write to it") -> None:
        """The store cannot be written: from now on it serves what it holds and stores nothing.

        Without ``exc``, the reason known already (:attr:`read_only`) is reported.
        """
        if exc is not None and self.read_only is None:
            self.read_only = f"could not {at}: {type(exc).__name__}: {exc}"
        message = (
            f"The run store {self.path} cannot be written ({self.read_only}). Results already "
            "stored are used; new ones are computed but not stored. Make the directory writable, or "
            "pass another directory to cache= (--cache on the command line)."
        )
        self._warn_once("read-only", message)

    def _disk_full(self, exc: BaseException) -> None:
        """The disk is full: keep results in memory only for a while, then try again."""
        self._full_until = time.monotonic() + FULL_PAUSE
        message = (
            f"The run store {self.path} is on a full disk ({type(exc).__name__}: {exc}). Results are "
            "kept in memory and not stored until there is room again (tried every "
            f"{FULL_PAUSE:g} s). Free some space, or pass another directory to cache=."
        )
        self._warn_once("full", message)

    def _make_folders(self) -> None:
        """The store's folders (again, if they were removed while the store was open)."""
        if self.read_only is not None:
            return
        try:
            for sub in (self.path, self.blobs, self.tmp):
                sub.mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            if problem_of(exc) == "full":
                self._disk_full(exc)
            else:
                self._cannot_write(exc, at="make its folders")

    # The index -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        """The index: read-write where the store can be written, else read-only (or None)."""
        index = self.path / "index.sqlite"
        if self.read_only is not None:
            return self._connect_read_only(index)
        for attempt in range(2):
            try:
                # Made before SQLite opens it, with mode 0600, so that its -wal and -shm files,
                # which SQLite gives the database's mode, are private from their first moment.
                os.close(os.open(index, os.O_RDWR | os.O_CREAT, 0o600))
                if stat.S_IMODE(index.stat().st_mode) & 0o077:
                    os.chmod(index, 0o600)
                for suffix in ("-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        if stat.S_IMODE(os.stat(f"{index}{suffix}").st_mode) & 0o077:
                            os.chmod(f"{index}{suffix}", 0o600)
                db = sqlite3.connect(index, timeout=60, check_same_thread=False, isolation_level=None)
            except (OSError, sqlite3.Error) as exc:
                return self._cannot_open(index, exc)
            try:
                self._init_schema(db)
                info = index.stat()
                self._index_id = (info.st_dev, info.st_ino)
                self._db_writable = True
                return db
            except BaseException as exc:
                db.close()
                problem = problem_of(exc)
                if problem == "damaged" and not attempt:
                    self._replace_index(index, exc)  # "file is not a database": rebuilt, then opened
                    continue
                if problem in ("read-only", "full") and isinstance(exc, (OSError, sqlite3.Error)):
                    return self._cannot_open(index, exc)
                raise
        raise AssertionError("unreachable")

    def _cannot_open(self, index: Path, exc: OSError | sqlite3.Error) -> sqlite3.Connection | None:
        if problem_of(exc) == "full":
            self._disk_full(exc)
            self._full_until = float("inf")  # the index itself could not be written
        else:
            self._cannot_write(exc, at="open its index for writing")
        return self._connect_read_only(index)

    def _connect_read_only(self, index: Path) -> sqlite3.Connection | None:
        """The index opened for reading only (``immutable``: SQLite then needs no -shm file, which a
        read-only directory could not hold); None when there is none, or it cannot be read."""
        self._db_writable = False
        if not index.is_file():
            return None
        uri = f"file:{urllib.parse.quote(str(index))}?immutable=1"
        try:
            db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            message = (
                f"The index of the run store {self.path} cannot be read ({type(exc).__name__}: {exc}); "
                "nothing stored there is used. Check the directory, or pass another one to cache=."
            )
            self._warn_once("unreadable", message)
            return None
        if version > SCHEMA_VERSION:
            db.close()
            self._create_schema_check(version)
        return db if version == SCHEMA_VERSION else None

    def _replace_index(self, index: Path, exc: BaseException) -> None:
        """A damaged index: move it aside and rebuild it from the signed files (lock held or unshared)."""
        name = set_aside(index)
        db = sqlite3.connect(index, timeout=60, check_same_thread=False, isolation_level=None)
        try:
            self._init_schema(db)
            rows = list(rows_from_blobs(self.blobs, self._mac))
            db.execute("BEGIN IMMEDIATE")
            db.executemany(INSERT, rows)
            db.execute("COMMIT")
        finally:
            db.close()
        warn(
            f"The index of the run store {self.path} is damaged ({exc}); it was moved to {name} and "
            f"rebuilt from the {len(rows)} signed result files in {self.blobs.name}/, so nothing stored "
            "is lost. If it happens again, check the disk (or keep the store on a local one).",
            StoreWarning,
        )

    def _repair(self, exc: BaseException) -> None:
        """The index turned out damaged while in use: replace it, unless another process has."""
        with self._lock:
            index = self.path / "index.sqlite"
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
            try:
                info = index.stat()
                replaced = (info.st_dev, info.st_ino) != self._index_id
            except OSError:
                replaced = True
            if self.read_only is None and not replaced:
                try:
                    self._replace_index(index, exc)
                except (OSError, sqlite3.Error) as again:
                    self._cannot_write(again, at="rebuild its index")
            elif self.read_only is not None:
                message = (
                    f"The index of the run store {self.path} is damaged ({exc}) and the store is "
                    "read-only, so it cannot be rebuilt; nothing stored there is used. Make the "
                    "directory writable to have it rebuilt from the result files."
                )
                self._warn_once("damaged", message)
                return
            self._db = self._connect()

    def _index(self, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``op`` on the index (under the lock). A damaged index is rebuilt and ``op`` run again;
        an index that cannot be read gives ``default`` with a warning, never an error."""
        for attempt in range(2):
            try:
                with self._lock:
                    db = self._conn()
                    if db is None:
                        return default
                    return op(db)
            except sqlite3.Error as exc:
                if problem_of(exc) == "damaged" and not attempt:
                    self._repair(exc)
                    continue
                message = (
                    f"The index of the run store {self.path} cannot be read ({type(exc).__name__}: "
                    f"{exc}); stored results are not used for now. Check the directory's disk, or "
                    "pass another directory to cache=."
                )
                self._warn_once("unreadable", message)
                return default
        return default

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
                if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'leases'").fetchone() is None:
                    db.execute(_LEASES)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _create_schema_check(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"The run store {self.path} was written by a newer version of this library "
                f"(index layout {version}). Upgrade py3r-behaviour-script, or use another directory."
            )

    def _create_schema(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            self._create_schema_check(version)
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

    def _conn(self) -> sqlite3.Connection | None:
        """The connection (call with the lock held); a forked child opens its own."""
        if self._pid != os.getpid():
            if self._db is not None:
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
            if self._pid == os.getpid() and self._db is not None:
                self._db.close()

    def _blob(self, key: str, digest: str) -> Path:
        return self.blobs / f"{key}.{digest[:16]}.pkl"

    def _mac(self, key: str) -> hmac.HMAC:
        """The signature of the entry ``key``, to be fed its file's bytes."""
        return hmac.new(self._key, key.encode() + b"\0", "sha256")

    def _sign(self, key: str, data: Bytes) -> str:
        mac = self._mac(key)
        mac.update(data)
        return mac.hexdigest()

    # Housekeeping ----------------------------------------------------------------------------
    def _clean_tmp(self) -> None:
        """Remove temporary files a crashed writer left (old enough not to be in use)."""
        cutoff = time.time() - STALE_AFTER
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.tmp):
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)


#: Connections of a parent process seen in a forked child: never used, nor closed, there.
_abandoned: list[sqlite3.Connection] = []
#: Every store object of this process, so that a forked child can renew their locks.
_live: weakref.WeakSet[IndexFile] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_live):
        store._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
