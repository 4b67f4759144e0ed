"""The per-user signing key of run stores, and the checks a store directory must pass.

Loading a stored result unpickles it, which can run code: each entry is signed (HMAC-SHA256) with a
key only this user can read, and a store directory must be this user's own and not a link.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

__all__ = ["KEY_ENV", "check_directory", "signing_key"]

#: Environment variable naming the signing key file instead of the per-user default.
KEY_ENV = "PY3R_SCRIPT_KEY_FILE"


def _key_file() -> Path:
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "py3r-script" / "store.key"


def signing_key() -> bytes:
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


def check_directory(path: Path) -> None:
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
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:  # others' access goes; the owner's own bits stay (a store kept read-only stays so)
        with contextlib.suppress(OSError):  # a read-only disk: nobody can write there anyway
            os.chmod(path, mode & 0o700)
