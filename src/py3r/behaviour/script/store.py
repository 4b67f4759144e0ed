"""The run store: iterations computed once are never computed, or lost, again.

A store is a directory (mode 0700) holding an SQLite index (WAL mode) and one file per stored
iteration. The key of an iteration hashes the script's source, the sources of the local modules it
imports, every injected value, the requested outputs and the library's major version. Every write
is atomic: the iteration's file is written under a temporary name, flushed and renamed into place,
and only then is its index row committed, so after a crash at any moment the store holds whole
entries only. Each file is signed (HMAC-SHA256 with a per-user key, mode 0600): a file that fails
the check, is truncated or is missing is reported with a :class:`StoreWarning` and recomputed.

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
import secrets
import sqlite3
import stat
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import StoreWarning
from .plan import Plan, Point, canonical_key
from .results import Failure, Iteration, ScriptResults, is_scalar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunStore", "history", "open_store"]

#: Where ``cache=True`` stores runs (relative to the working directory).
DEFAULT_DIR = ".py3r-runs"
#: Environment variable naming the default store directory instead.
STORE_ENV = "PY3R_SCRIPT_STORE"
#: Environment variable naming the signing key file instead of the per-user default.
KEY_ENV = "PY3R_SCRIPT_KEY_FILE"
#: Stored entries of another major version are never used.
MAJOR_VERSION = "0"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    script TEXT NOT NULL,
    params TEXT NOT NULL,
    outputs TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    wall_time REAL NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_script ON entries(script);
"""


def _key_file() -> Path:
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "py3r-script" / "store.key"


def _signing_key() -> bytes:
    """The per-user signing key (created on first use, mode 0600)."""
    path = _key_file()
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # first writer wins; a racing one reads the winner's key
    except FileExistsError:
        key = path.read_bytes()
    finally:
        os.unlink(tmp)
    return key


def _check_directory(path: Path) -> None:
    if path.is_symlink():
        raise PermissionError(
            f"The run store {path} is a symbolic link; refusing to use it. Give a real directory."
        )
    info = path.stat()
    if info.st_uid != os.getuid():
        raise PermissionError(
            f"The run store {path} belongs to another user; refusing to load results from it."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)


class RunStore:
    """One store directory: look iterations up by key, save them, list them.

    Parameters
    ----------
    path : str or Path
        The store directory (created with mode 0700 if missing).

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
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        _check_directory(self.path)
        self.blobs = self.path / "blobs"
        self.blobs.mkdir(exist_ok=True, mode=0o700)
        self._key = _signing_key()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path / "index.sqlite", timeout=60, check_same_thread=False, isolation_level=None
        )
        with self._lock:
            self._init_schema()

    def _init_schema(self) -> None:
        # Switching to WAL needs the database to itself for a moment: another process opening the
        # same store at the same instant makes it fail at once rather than wait. Retry briefly.
        deadline = time.monotonic() + 60
        while True:
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Keys ------------------------------------------------------------------------------------------
    def key(self, plan: Plan, point: Point) -> str:
        """The key of ``point``: what must match for a stored result to be reused."""
        spec = plan.spec
        local = []
        for name in spec.local_modules:
            base = spec.path.parent / name
            files = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
            for f in files:
                with contextlib.suppress(OSError):
                    local.append(
                        (str(f.relative_to(spec.path.parent)), hashlib.sha256(f.read_bytes()).hexdigest())
                    )
        material = {
            "version": MAJOR_VERSION,
            "source": hashlib.sha256(spec.source.encode()).hexdigest(),
            "extra": spec.extra.get("cache_material"),
            "local": local,
            "values": [[n, t, repr(v)] for n, t, v in canonical_key(point.values)],
            "capture": list(plan.capture),
            "explicit": plan.explicit_outputs,
            "stop_after": plan.stop_after_outputs,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    # Reading ---------------------------------------------------------------------------------------
    def get(self, key: str, *, retry_failed: bool = False) -> Iteration | None:
        """The stored iteration for ``key`` (marked ``cached``), or None to compute it."""
        with self._lock:
            row = self._db.execute(
                "SELECT digest, size, status FROM entries WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        digest, size, status = row
        if status != "ok" and retry_failed:
            return None
        blob = self.blobs / f"{key}.pkl"
        try:
            data = blob.read_bytes()
        except FileNotFoundError:
            self._bad(key, "its file is missing")
            return None
        if len(data) != size:
            self._bad(key, f"its file is truncated ({len(data)} of {size} bytes)")
            return None
        if not hmac.compare_digest(hmac.new(self._key, data, "sha256").hexdigest(), digest):
            self._bad(key, "its file does not match its signature (corrupted, or written with another key)")
            return None
        try:
            record = pickle.loads(data)
        except Exception as exc:
            self._bad(key, f"it cannot be loaded ({type(exc).__name__}: {exc})")
            return None
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

    def _bad(self, key: str, why: str) -> None:
        """Report an unusable entry and drop it: it is recomputed."""
        warnings.warn(
            f"A stored result in {self.path} was ignored and will be recomputed: {why}.",
            StoreWarning,
            stacklevel=4,
        )
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE key = ?", (key,))
        with contextlib.suppress(OSError):
            (self.blobs / f"{key}.pkl").unlink()

    # Writing ---------------------------------------------------------------------------------------
    def put(self, key: str, plan: Plan, it: Iteration) -> None:
        """Store ``it`` atomically (never a cancelled one)."""
        if it.status == "cancelled":
            return
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
        try:
            data = cloudpickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            warnings.warn(
                f"An iteration could not be stored in {self.path}: {exc}.", StoreWarning, stacklevel=3
            )
            return
        digest = hmac.new(self._key, data, "sha256").hexdigest()
        fd, tmp = tempfile.mkstemp(dir=self.blobs, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.blobs / f"{key}.pkl")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        scalars = {k: v for k, v in it.outputs.items() if is_scalar(v) and _jsonable(v)}
        params = {n: it.values[n] for n in plan.spec.params if n in it.values and _jsonable(it.values[n])}
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    str(plan.spec.path),
                    json.dumps(params),
                    json.dumps(scalars, default=float),
                    it.status,
                    created,
                    it.wall_time,
                    digest,
                    len(data),
                ),
            )

    # Listing ---------------------------------------------------------------------------------------
    def history(self, script: str | os.PathLike[str]) -> pd.DataFrame:
        """Stored iterations of ``script``: parameters, scalar outputs, status, when, how long."""
        import pandas as pd

        path = str(Path(script).expanduser().resolve())
        with self._lock:
            rows = self._db.execute(
                "SELECT params, outputs, status, created, wall_time FROM entries "
                "WHERE script = ? ORDER BY created",
                (path,),
            ).fetchall()
        records = []
        for params, outputs, status, created, wall_time in rows:
            records.append(
                {
                    **json.loads(params),
                    **json.loads(outputs),
                    "status": status,
                    "when": pd.Timestamp(created, unit="s"),
                    "seconds": wall_time,
                }
            )
        return pd.DataFrame(records)


def _jsonable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return True
    return is_scalar(value) and hasattr(value, "item")


_open: dict[Path, RunStore] = {}
_open_lock = threading.Lock()


def open_store(cache: bool | str | os.PathLike[str] | RunStore | None) -> RunStore | None:
    """The store for a ``cache=`` argument: None/False none, True the default directory, or a path.

    The default directory is ``.py3r-runs`` in the working directory, or ``$PY3R_SCRIPT_STORE``.
    """
    if cache is None or cache is False:
        return None
    if isinstance(cache, RunStore):
        return cache
    if cache is True:
        cache = os.environ.get(STORE_ENV) or DEFAULT_DIR
    if not isinstance(cache, (str, os.PathLike)):
        raise TypeError(f"cache= takes True, a directory path or None; got {cache!r}.")
    path = Path(cache).expanduser().absolute()
    with _open_lock:
        store = _open.get(path)
        if store is None or not store.path.is_dir():
            store = _open[path] = RunStore(path)
        return store


def history(script: str | os.PathLike[str], *, store: bool | str | os.PathLike[str] = True) -> pd.DataFrame:
    """The stored iterations of ``script`` as a DataFrame.

    Parameters
    ----------
    script : str or Path
        The script whose history to list.
    store : True or path, default True
        The store (True: the default directory).

    Returns
    -------
    pandas.DataFrame
        One row per stored iteration: parameter values, scalar outputs, ``status``, ``when`` and
        ``seconds`` (wall time), oldest first.

    Examples
    --------
    >>> import tempfile
    >>> from py3r.behaviour.script import history, sensitivity
    >>> d = tempfile.mkdtemp()
    >>> _ = sensitivity("examples/open_field/pipeline.py", {"threshold": [1.0, 3.0]}, cache=d, progress=False)
    >>> len(history("examples/open_field/pipeline.py", store=d))
    3
    """
    opened = open_store(store)
    assert opened is not None
    return opened.history(script)


def lookup(
    store: RunStore, plan: Plan, results: ScriptResults, *, retry_failed: bool
) -> tuple[list[Point], dict[int, str]]:
    """Fill ``results`` with stored iterations of ``plan``; return the points still to run and all keys."""
    todo: list[Point] = []
    keys: dict[int, str] = {}
    for point in plan.points:
        key = keys[point.index] = store.key(plan, point)
        hit = store.get(key, retry_failed=retry_failed)
        if hit is None:
            todo.append(point)
            continue
        hit.index = point.index
        hit.params = dict(point.key)
        results._add(hit)
    return todo, keys
