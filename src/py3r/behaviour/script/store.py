"""The run store: iterations computed once are never computed, or lost, again.

A store is a directory (mode 0700) holding an SQLite index (WAL mode) and one file per stored
iteration. The key of an iteration hashes the script's source, the sources of the local modules it
imports (followed from module to module), every injected value, the requested outputs and the
library's major version.

Every write is atomic: the iteration's file is written under a temporary name, flushed and renamed
into place, and only then is its index row committed, so after a crash at any moment the store holds
whole entries only (at worst an unindexed file, which :meth:`RunStore.prune` removes). Each file is
signed (HMAC-SHA256 with a per-user key, mode 0600) together with its key: a file that fails the
check, is truncated, is missing or does not load is reported with a :class:`StoreWarning` and
recomputed. A stored file has a new name each time its entry is replaced, so a reader never sees
another writer's half-replaced entry.

Loading a stored iteration unpickles it, which can run code: open only stores you wrote yourself,
and share results as CSV or Parquet (``to_dataframe``), not as a store. cloudpickle is not a
format that crosses Python or library versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import pickle
import re
import secrets
import sqlite3
import stat
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discovery import ScriptSpec, read_script
from .exceptions import StoreWarning
from .plan import Plan, Point, canonical_key
from .results import Failure, Iteration, ScriptResults, is_scalar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunStore", "history", "lookup", "open_store"]

#: Where ``cache=True`` stores runs (relative to the working directory).
DEFAULT_DIR = ".py3r-runs"
#: Environment variable naming the default store directory instead.
STORE_ENV = "PY3R_SCRIPT_STORE"
#: Environment variable naming the signing key file instead of the per-user default.
KEY_ENV = "PY3R_SCRIPT_KEY_FILE"
#: Stored entries of another major version are never used.
MAJOR_VERSION = "0"
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


# The signing key ---------------------------------------------------------------------------------
def _key_file() -> Path:
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "py3r-script" / "store.key"


def _signing_key() -> bytes:
    """The per-user signing key: created on first use (mode 0600), refused if others can read it."""
    path = _key_file()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".store-key-")  # mode 0600
    try:
        os.write(fd, secrets.token_bytes(32))
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # first writer wins; a racing one reads the winner's key
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise PermissionError(
            f"The run-store signing key {path} can be read by others or belongs to another user; "
            f"anyone who reads it can forge stored results. Run `chmod 600 {path}` if it is yours, "
            "or delete it (stored results are then recomputed)."
        )
    if len(data) < 32:
        raise ValueError(
            f"The run-store signing key {path} is shorter than 32 bytes. Delete it: a new one is "
            "made and stored results are recomputed."
        )
    return data


def _check_directory(path: Path) -> None:
    if path.is_symlink():
        raise PermissionError(
            f"The run store {path} is a symbolic link; refusing to use it. Give a real directory."
        )
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(f"The run store {path} is not a directory. Give a directory path.")
    if info.st_uid != os.getuid():
        raise PermissionError(
            f"The run store {path} belongs to another user; refusing to load results from it. "
            "Use a directory of your own."
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


# What a result depends on ------------------------------------------------------------------------
#: ``import a.b as c, d`` and ``from a.b import c`` at the start of a line (at any indentation).
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][\w. \t,]*))", re.M
)
_names_cache: dict[str, tuple[str, ...]] = {}


def _imported_names(digest: str, text: str) -> tuple[str, ...]:
    """Top-level module names a source imports anywhere (inside functions too), by its digest."""
    names = _names_cache.get(digest)
    if names is None:
        found = []
        for from_, plain in _IMPORT.findall(text):
            for part in [from_] if from_ else plain.split(","):
                words = part.split()
                if words:
                    found.append(words[0].split(".")[0])
        if len(_names_cache) > 4096:
            _names_cache.clear()
        names = _names_cache[digest] = tuple(dict.fromkeys(n for n in found if n.isidentifier()))
    return names


def _module_files(base: Path, entries: set[str], name: str) -> list[Path]:
    """The files of a module beside the script: ``name.py``, a package ``name/`` or an extension."""
    if f"{name}.py" in entries and (base / f"{name}.py").is_file():
        return [base / f"{name}.py"]
    if name in entries and (base / name).is_dir():
        return sorted(
            f
            for f in (base / name).rglob("*.py")
            if not any(p == "__pycache__" or p.startswith(".") for p in f.relative_to(base).parts)
        )
    return sorted(base / e for e in entries if e.startswith(f"{name}.") and e.endswith(".so"))


def _local_sources(spec: ScriptSpec) -> list[tuple[str, str]]:
    """``(relative path, sha256)`` of every local module the script uses, followed transitively."""
    base = spec.path.parent
    source_digest = hashlib.sha256(spec.source.encode()).hexdigest()
    todo = [*spec.local_modules, *_imported_names(source_digest, spec.source)]
    try:
        entries = set(os.listdir(base))  # one listing, however many names are looked up
    except OSError:
        entries = set()
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for f in _module_files(base, entries, name):
            try:
                data = f.read_bytes()
            except OSError:
                continue
            digest = hashlib.sha256(data).hexdigest()
            found.append((f.relative_to(base).as_posix(), digest))
            if f.suffix == ".py":
                todo.extend(_imported_names(digest, data.decode("utf-8", "replace")))
    return sorted(found)


def script_digest(spec: ScriptSpec) -> str:
    """A digest of everything about the script a stored result depends on (not the values)."""
    material = {
        "version": MAJOR_VERSION,
        "path": str(spec.path),
        "source": hashlib.sha256(spec.source.encode()).hexdigest(),
        "local": _local_sources(spec),
        "extra": spec.extra.get("cache_material"),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _point_key(plan: Plan, digest: str, point: Point, cwd: str) -> str:
    material = {
        "script": digest,
        "cwd": cwd,  # relative paths in the script resolve against it
        "values": [[n, t, repr(v)] for n, t, v in canonical_key(point.values)],
        "capture": list(plan.capture),
        "explicit": plan.explicit_outputs,
        "stop_after": plan.stop_after_outputs,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _jsonable(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` for a value the index can hold (numpy scalars as Python ones; NaN and inf
    are kept: only this module reads the index), ``(False, None)`` for others (complex)."""
    if hasattr(value, "item") and is_scalar(value):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return True, value
    return False, None


# The store ---------------------------------------------------------------------------------------
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
        _check_directory(self.path)
        self.blobs = self.path / "blobs"
        self.tmp = self.path / "tmp"
        for sub in (self.blobs, self.tmp):
            sub.mkdir(exist_ok=True, mode=0o700)
        self._key = _signing_key()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._db = self._connect()
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
        warnings.warn(
            f"The index of the run store {self.path} is damaged ({exc}); it was moved to "
            f"{index.name}.corrupt-{stamp} and a new one started. Stored results are computed again.",
            StoreWarning,
            stacklevel=5,
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
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the index (the store can no longer be used through this object)."""
        with _open_lock:
            if _open.get(self.path) is self:
                del _open[self.path]
        with self._lock:
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

    # Keys ------------------------------------------------------------------------------------
    def keys(self, plan: Plan) -> dict[int, str]:
        """The key of every point of ``plan``, by point index."""
        digest, cwd = script_digest(plan.spec), os.getcwd()
        return {p.index: _point_key(plan, digest, p, cwd) for p in plan.points}

    def key(self, plan: Plan, point: Point) -> str:
        """The key of ``point``: what must match for a stored result to be reused."""
        return _point_key(plan, script_digest(plan.spec), point, os.getcwd())

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
                        return _iteration(pickle.loads(data))
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
        warnings.warn(f"Run store {self.path}: {why}. It is computed again.", StoreWarning, stacklevel=5)
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
        digest_of_script: str | None = None,
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
        f = it.failure
        record = {
            "values": it.values,
            "outputs": it.outputs,
            "status": it.status,
            "failure": None if f is None else {k: getattr(f, k) for k in f.__dataclass_fields__},
            "stdout": it.stdout,
            "stderr": it.stderr,
            "wall_time": it.wall_time,
            "info": {k: v for k, v in it.info.items() if k != "stored"},
            "created": created,
        }
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
                digest_of_script or script_digest(plan.spec),
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
            warnings.warn(
                f"Run store {self.path}: the result of {plan.spec.display_path} for {it.params} could "
                f"not be stored ({type(exc).__name__}: {exc}). It is in the results, but will be "
                "computed again next time.",
                StoreWarning,
                stacklevel=2,
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
    def history(self, script: str | os.PathLike[str]) -> pd.DataFrame:
        """Stored iterations of ``script``; see :func:`history`."""
        import pandas as pd

        path = Path(script).expanduser().resolve()
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT params, outputs, status, created, wall_time, script_digest FROM entries "
                    "WHERE script = ? ORDER BY created, rowid",
                    (str(path),),
                )
                .fetchall()
            )
        try:
            spec: ScriptSpec | None = read_script(path)
        except (OSError, SyntaxError, ValueError):
            spec = None  # the script is gone or broken: its history is still listed
        current = script_digest(spec) if spec is not None else None
        records: list[dict[str, Any]] = []
        params: dict[str, None] = {}
        outputs: dict[str, None] = {}
        for p_json, o_json, status, created, wall_time, digest in rows:
            p, o = json.loads(p_json), json.loads(o_json)
            params.update(dict.fromkeys(p))
            outputs.update(dict.fromkeys(o))
            records.append(
                {
                    **p,
                    **o,
                    "status": status,
                    "when": pd.Timestamp.fromtimestamp(round(created, 3)),  # local time
                    "seconds": wall_time,
                    "current": digest == current,
                }
            )
        order_p = [n for n in (spec.params if spec else ()) if n in params] + [
            n for n in params if spec is None or n not in spec.params
        ]
        order_o = [n for n in (spec.outputs if spec else ()) if n in outputs] + [
            n for n in outputs if spec is None or n not in spec.outputs
        ]
        columns = [*order_p, *order_o, "status", "when", "seconds", "current"]
        return pd.DataFrame(records, columns=columns)


def _iteration(record: dict[str, Any]) -> Iteration:
    failure = Failure(**record["failure"]) if record["failure"] else None
    return Iteration(
        index=-1,
        params={},
        values=record["values"],
        outputs=record["outputs"],
        status=record["status"],
        failure=failure,
        stdout=record["stdout"],
        stderr=record["stderr"],
        wall_time=record["wall_time"],
        cached=True,
        info={**record["info"], "stored": record["created"]},
    )


# Opening stores ----------------------------------------------------------------------------------
_open: dict[Path, RunStore] = {}
_open_lock = threading.Lock()
_abandoned: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    global _open_lock
    _open_lock = threading.Lock()
    for store in _open.values():
        store._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def open_store(cache: bool | str | os.PathLike[str] | RunStore | None) -> RunStore | None:
    """The store for a ``cache=`` argument: None/False none, True the default directory, or a path.

    The default directory is ``.py3r-runs`` in the working directory, or ``$PY3R_SCRIPT_STORE``.
    One :class:`RunStore` per directory is kept open for the session.

    Examples
    --------
    >>> import tempfile
    >>> from py3r.behaviour.script.store import open_store
    >>> open_store(None) is None
    True
    >>> d = tempfile.mkdtemp()
    >>> open_store(d) is open_store(d)
    True
    """
    if cache is None or cache is False:
        return None
    if isinstance(cache, RunStore):
        return cache
    if cache is True:
        cache = os.environ.get(STORE_ENV) or DEFAULT_DIR
    if not isinstance(cache, (str, os.PathLike)) or not os.fspath(cache):
        raise TypeError(f"cache= takes True, a directory path or None; got {cache!r}.")
    path = Path(cache).expanduser().absolute()
    with _open_lock:
        store = _open.get(path)
        if store is None or not store.path.is_dir():
            if store is not None:  # its directory was removed: start afresh
                with store._lock:
                    store._db.close()
            store = _open[path] = RunStore(path)
        return store


def history(
    script: str | os.PathLike[str], *, store: bool | str | os.PathLike[str] | RunStore = True
) -> pd.DataFrame:
    """The stored iterations of ``script`` as a DataFrame.

    Parameters
    ----------
    script : str or Path
        The script whose history to list.
    store : bool or path or RunStore, default True
        The store (True: ``.py3r-runs`` in the working directory, or ``$PY3R_SCRIPT_STORE``).

    Returns
    -------
    pandas.DataFrame
        One row per stored iteration, oldest first: the injected parameter values, the scalar
        outputs, ``status``, ``when`` (local time), ``seconds`` (wall time) and ``current`` (True
        when the entry matches the script and its local modules as they are now, so a call with
        the same values and outputs would be served from it).

    Examples
    --------
    >>> import tempfile
    >>> from py3r.behaviour.script import history, sensitivity
    >>> d = tempfile.mkdtemp()
    >>> _ = sensitivity("examples/open_field/pipeline.py", {"threshold": [1.0, 3.0]}, cache=d, progress=False)
    >>> table = history("examples/open_field/pipeline.py", store=d)
    >>> table["threshold"].tolist(), table["status"].tolist()
    ([1.0, 2.0, 3.0], ['ok', 'ok', 'ok'])
    """
    if isinstance(store, RunStore):
        return store.history(script)
    directory = (os.environ.get(STORE_ENV) or DEFAULT_DIR) if store is True else store
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
        raise TypeError(f"store= takes True or a directory path; got {store!r}.")
    if not Path(directory).expanduser().is_dir():  # nothing stored yet: do not create a store
        import pandas as pd

        return pd.DataFrame(columns=["status", "when", "seconds", "current"])
    opened = open_store(directory)
    assert opened is not None
    return opened.history(script)


def lookup(
    store: RunStore,
    plan: Plan,
    results: ScriptResults,
    *,
    retry_failed: bool = False,
    timeout: float | None = None,
) -> tuple[list[Point], Callable[[Iteration], bool]]:
    """Fill ``results`` with the stored iterations of ``plan``.

    Returns the points still to run and a function that stores one of their iterations.
    """
    digest, cwd = script_digest(plan.spec), os.getcwd()
    keys = {p.index: _point_key(plan, digest, p, cwd) for p in plan.points}
    todo: list[Point] = []
    for point in plan.points:
        hit = store.get(keys[point.index], retry_failed=retry_failed, timeout=timeout)
        if hit is None:
            todo.append(point)
            continue
        hit.index, hit.params, hit.values = point.index, dict(point.key), dict(point.values)
        results._add(hit)

    def save(it: Iteration) -> bool:
        return store.put(keys[it.index], plan, it, timeout=timeout, digest_of_script=digest)

    return todo, save
