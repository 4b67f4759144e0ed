"""The file :meth:`ScriptResults.save` writes and :meth:`ScriptResults.load` reads.

A pack: eight magic bytes, then every large output in pickled form (its buffers at page
boundaries), then a header (a cloudpickle of the results, each large output in it replaced by where
it lies), then the header's length. Saving copies an output kept on disk from where it is, and
pickles one in memory straight into the file: neither is loaded whole. Loading reads the header;
the results then keep large outputs as their budget allows, and the others stay in the file (which
stays open for them, so replacing or deleting it later does no harm) until they are looked up.
The previous layout (one cloudpickle of everything) is still read.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import weakref
from typing import Any

from .iteration import Iteration
from .payload import Writer, read_pack
from .spill import FileSource, place_outputs, restore_outputs

__all__ = ["load_results", "save_results"]

MAGIC = b"PY3RSR03"
#: The layout of files written by :func:`save_results`.
SAVE_FORMAT = 3
#: The layout before large outputs were kept apart (still read).
_PLAIN_FORMAT = 2


class SavedFile(FileSource):
    """An open results file that outputs left on disk are read from."""

    # Read, not mapped: the file is the user's, and another program may overwrite it in place.
    share = False

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path = path
        weakref.finalize(self, os.close, fd)

    def describe(self) -> str:
        return f"the saved file {self.path}"


def save_results(iterations: list[Iteration], path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` (every field of results but their iterations) and ``iterations`` to ``path``."""
    import cloudpickle

    target = os.path.abspath(os.fspath(path))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".save-")
    try:
        writer = Writer(fd)
        writer.write(MAGIC)
        records = []
        for it in iterations:
            record = it.to_record()
            record["outputs"], _ = place_outputs(it.outputs, writer)  # pickled here: nothing to close
            records.append(record)
        header = cloudpickle.dumps({**state, "format": SAVE_FORMAT, "iterations": records})
        writer.trailer(header)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _not_saved(name: str, exc: BaseException) -> ValueError:
    return ValueError(
        f"{name!r} is not a file written by ScriptResults.save(), or it is truncated "
        f"({type(exc).__name__}: {exc})."
    )


def load_results(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[Iteration]]:
    """The state and the iterations saved in ``path`` (large outputs as :class:`SpilledOutput`)."""
    name = os.fspath(path)
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    source: SavedFile | None = None
    try:
        if os.pread(fd, len(MAGIC), 0) != MAGIC:
            f = os.fdopen(fd, "rb")
            fd = -1  # the file object closes it
            with f:
                state = _load_plain(name, f)
        else:
            try:
                state = pickle.loads(read_pack(fd, MAGIC, os.fstat(fd).st_size))
            except (pickle.UnpicklingError, EOFError, ValueError, IndexError) as exc:
                raise _not_saved(name, exc) from None
            if not isinstance(state, dict) or state.get("format") != SAVE_FORMAT:
                raise ValueError(f"{name!r} is not a file written by ScriptResults.save() of this version.")
            source = SavedFile(fd, name)  # closes fd once no output refers to it
    except BaseException:
        if source is None and fd >= 0:
            os.close(fd)
        raise
    iterations = []
    for record in state.pop("iterations"):
        restore_outputs(record["outputs"], source)
        iterations.append(Iteration.from_record(record))
    return state, iterations


def _load_plain(name: str, f: Any) -> dict[str, Any]:
    try:
        state = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, ValueError, IndexError) as exc:
        raise _not_saved(name, exc) from None
    if not isinstance(state, dict) or state.get("format") != _PLAIN_FORMAT:
        raise ValueError(f"{name!r} is not a file written by ScriptResults.save() of this version.")
    return state
