"""The run stores open in this Python session: one :class:`RunStore` per directory, for ``cache=``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .index import RunStore

__all__ = ["DEFAULT_DIR", "STORE_ENV", "open_store", "store_dir"]

#: Where ``cache=True`` stores runs (relative to the working directory).
DEFAULT_DIR = ".py3r-runs"
#: Environment variable naming the default store directory instead.
STORE_ENV = "PY3R_SCRIPT_STORE"

_open: dict[Path, RunStore] = {}
_open_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _open_lock
    _open_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def store_dir(cache: bool | str | os.PathLike[str]) -> str | os.PathLike[str]:
    """The directory ``cache=True`` (the default store) or ``cache=PATH`` names."""
    if cache is True:
        return os.environ.get(STORE_ENV) or DEFAULT_DIR
    if not isinstance(cache, (str, os.PathLike)) or not os.fspath(cache):
        raise TypeError(f"cache= takes True, a directory path or None; got {cache!r}.")
    return cache


def open_store(cache: bool | str | os.PathLike[str] | RunStore | None) -> RunStore | None:
    """The store for a ``cache=`` argument: None/False none, True the default directory, or a path.

    The default directory is ``.py3r-runs`` in the working directory, or ``$PY3R_SCRIPT_STORE``.
    One :class:`RunStore` per directory is kept open for the session.

    Parameters
    ----------
    cache : bool, str, os.PathLike, RunStore or None
        What ``cache=`` of :func:`~py3r.behaviour.script.run` was given.

    Returns
    -------
    RunStore or None
        The open store, or None for no store.

    Examples
    --------
    >>> import tempfile
    >>> from py3r.behaviour.script import open_store
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
    path = Path(store_dir(cache)).expanduser().absolute()
    with _open_lock:
        store = _open.get(path)
        if store is None or store.closed or not store.path.is_dir():
            if store is not None and not store.closed:  # its directory was removed: start afresh
                store.close()
            store = _open[path] = RunStore(path)
        return store
