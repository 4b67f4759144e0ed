"""The run store under hostile conditions: each problem is a StoreWarning and the call computes on.

Read-only and full disks are real: a read-only bind mount and a small tmpfs, made in a private
mount namespace (``unshare``) that vanishes with the process that runs the call. Files that may be
read but not written are real too: the call runs without the capabilities that let root ignore
file permissions (``setpriv``), so they apply to it as to any user.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
import warnings

import pytest

from helpers import SCRIPTS
from py3r.behaviour.script import StoreWarning, history, open_store, run, sensitivity

SCRIPT = SCRIPTS / "logged.py"


def ran(log):
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def sweep(store, log, values, **kw):
    return sensitivity(SCRIPT, {"i": values}, nominal={"log": str(log)}, cache=store, progress=False, **kw)


def store_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, StoreWarning)]


CALLER = """\
import json, sys, warnings
from py3r.behaviour.script import StoreWarning, history, sensitivity
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as seen:
    sr = sensitivity(sys.argv[1], {"i": json.loads(sys.argv[2])}, nominal={"log": sys.argv[3]},
                     cache=sys.argv[4], progress=False)
print(json.dumps({
    "ok": [it.ok for it in sr.iterations],
    "cached": [it.cached for it in sr.iterations],
    "warnings": [str(w.message) for w in seen if issubclass(w.category, StoreWarning)],
    "history": len(history(sys.argv[1], store=sys.argv[4])),
}))
"""


def call_in(prefix, store, log, values, *, setup=""):
    """Run CALLER under ``prefix`` (a command such as ``unshare``), after shell ``setup``."""
    args = [SCRIPT, json.dumps(values), log, store]
    shell = f'{setup}\nexec {sys.executable} -c "$0" "$@"'
    out = subprocess.run(
        [*prefix, "sh", "-c", shell, CALLER, *map(str, args)], capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


PRIVATE_MOUNTS = ["unshare", "--mount", "--propagation", "private", "--"]
#: Root, but subject to file permissions like any user.
NO_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def _corrupt_a_page(index):
    """Overwrite the middle page of the index (never the header page, page 1) with garbage."""
    pages = index.stat().st_size // 4096
    assert pages >= 3, pages
    with open(index, "r+b") as f:
        f.seek(4096 * (pages // 2))
        f.write(b"\xde\xad\xbe\xef" * 1024)


# A damaged index ------------------------------------------------------------------------------------
def test_a_damaged_page_in_the_index_is_rebuilt_from_the_signed_files(tmp_path, recwarn):
    store, log = tmp_path / "store", tmp_path / "log"
    sweep(store, log, list(range(60)))
    open_store(store).close()  # the index is checkpointed: its pages are in the file
    _corrupt_a_page(store / "index.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):  # it really is damaged
        sqlite3.connect(store / "index.sqlite").execute("SELECT * FROM entries").fetchall()
    table = history(SCRIPT, store=store)
    assert sorted(table["i"]) == list(range(60))  # every row, from the files
    (warning,) = store_warnings(recwarn)
    assert f"The index of the run store {store} is damaged (database disk image is malformed)" in warning
    assert "rebuilt from the 60 signed result files in blobs/" in warning
    assert [p.name for p in store.iterdir() if p.name.startswith("index.sqlite.corrupt-")]
    again = sweep(store, log, list(range(60)))
    assert all(it.cached for it in again.iterations) and ran(log) == list(range(60))


def test_a_damaged_index_found_by_a_cached_sweep(tmp_path, recwarn):
    store, log = tmp_path / "store", tmp_path / "log"
    sweep(store, log, list(range(60)))
    open_store(store).close()
    _corrupt_a_page(store / "index.sqlite")
    again = sweep(store, log, list(range(61)))
    assert [it.cached for it in again.iterations] == [True] * 60 + [False]
    assert ran(log) == [*range(60), 60]  # only the new point ran
    assert len(store_warnings(recwarn)) == 1


def test_a_file_signed_with_another_key_is_not_taken_into_a_rebuilt_index(tmp_path, recwarn):
    store, log = tmp_path / "store", tmp_path / "log"
    sweep(store, log, [1, 2])
    open_store(store).close()
    victim = sorted((store / "blobs").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:-1] + b"!")  # tampered: its signature fails
    (store / "index.sqlite").write_bytes(b"not a database" * 300)
    assert len(history(SCRIPT, store=store)) == 2  # points 0 (the default) and one of 1, 2
    assert "rebuilt from the 2 signed result files" in store_warnings(recwarn)[0]


# A store that cannot be written ----------------------------------------------------------------------
def test_a_store_on_a_read_only_mount_serves_what_it_holds(tmp_path):
    store, log = tmp_path / "store", tmp_path / "log"
    sweep(store, log, [1, 2])
    open_store(store).close()
    before = sorted(p.name for p in store.rglob("*"))
    setup = f"mount --bind {store} {store} && mount -o remount,ro,bind {store} {store}"
    got = call_in(PRIVATE_MOUNTS, store, log, [1, 2, 3, 4], setup=setup)
    assert got["ok"] == [True] * 5 and got["cached"] == [True, True, True, False, False]
    assert ran(log) == [0, 1, 2, 3, 4]  # the two new points ran, once each
    (warning,) = got["warnings"]  # once, however many points were not stored
    assert f"The run store {store} cannot be written" in warning and "Read-only file system" not in warning
    assert got["history"] == 3
    assert sorted(p.name for p in store.rglob("*")) == before  # nothing written


def test_a_store_that_may_be_read_but_not_written(tmp_path):
    store, log = tmp_path / "store", tmp_path / "log"
    sweep(store, log, [1])
    open_store(store).close()
    for path in [*store.rglob("*"), store]:
        os.chmod(path, 0o500 if path.is_dir() else 0o400)
    got = call_in(NO_OVERRIDE, store, log, [1, 2])
    assert got["ok"] == [True] * 3 and got["cached"] == [True, True, False]
    (warning,) = got["warnings"]
    assert "cannot be written (it may be read here but not written)" in warning
    assert stat.S_IMODE(store.stat().st_mode) == 0o500  # left as the user made it


def test_a_store_that_cannot_be_created(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    got = call_in(NO_OVERRIDE, parent / "store", tmp_path / "log", [1])
    assert got["ok"] == [True, True] and got["cached"] == [False, False] and got["history"] == 0
    (warning,) = got["warnings"]
    assert "cannot be written (could not create it: PermissionError" in warning


def test_an_unreadable_result_file_is_computed_again(tmp_path):
    store, log = tmp_path / "store", tmp_path / "log"
    sweep(store, log, [1, 2])
    open_store(store).close()
    unreadable = sorted((store / "blobs").iterdir())[0]
    os.chmod(unreadable, 0)
    got = call_in(NO_OVERRIDE, store, log, [1, 2])
    assert got["ok"] == [True] * 3 and got["cached"].count(False) == 1
    (warning,) = got["warnings"]
    assert "was ignored: its file cannot be read (PermissionError" in warning
    assert len(ran(log)) == 4  # three the first time, the unreadable one again
    assert got["history"] == 3  # and it was stored again


# A full disk ----------------------------------------------------------------------------------------
def test_a_full_disk_at_creation_and_mid_sweep(tmp_path):
    disk, log = tmp_path / "disk", tmp_path / "log"
    disk.mkdir()
    caller = textwrap.dedent(
        f"""\
        import json, warnings
        from py3r.behaviour.script import StoreWarning, history, sensitivity
        warnings.simplefilter("always")
        def sweep(store, n, pad):
            with warnings.catch_warnings(record=True) as seen:
                sr = sensitivity({str(SCRIPT)!r}, {{"i": list(range(n))}}, nominal={{"pad": pad}},
                                 cache=store, progress=False)
            return {{"ok": sum(it.ok for it in sr.iterations), "n": len(sr),
                    "warnings": [str(w.message) for w in seen if issubclass(w.category, StoreWarning)],
                    "stored": len(history({str(SCRIPT)!r}, store=store))}}
        mid = sweep("{disk}/mid", 40, 60000)          # fills the 1 MiB disk part way
        with open("{disk}/fill", "wb") as f:
            try:
                f.write(b"0" * 2**20)                  # whatever room is left
            except OSError:
                pass
        created = sweep("{disk}/new", 3, 0)           # a store made on a full disk
        print(json.dumps({{"mid": mid, "created": created}}))
        """
    )
    out = subprocess.run(
        [
            *PRIVATE_MOUNTS,
            "sh",
            "-c",
            f'mount -t tmpfs -o size=1m tmpfs {disk} && exec {sys.executable} -c "$0"',
            caller,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    mid, created = got["mid"], got["created"]
    assert mid["ok"] == mid["n"] == 40 and 0 < mid["stored"] < 40
    (warning,) = mid["warnings"]
    assert "is on a full disk" in warning and "Results are kept in memory" in warning
    assert created["ok"] == created["n"] == 3 and created["stored"] == 0
    assert len(created["warnings"]) == 1 and "is on a full disk" in created["warnings"][0]
    del log


# Folders removed, file modes ------------------------------------------------------------------------
def test_folders_removed_while_the_store_is_open_are_made_again(tmp_path):
    store = tmp_path / "store"
    opened = open_store(store)
    run(SCRIPT, {"i": 1}, cache=opened)
    shutil.rmtree(store / "blobs")
    shutil.rmtree(store / "tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)  # nothing to warn about: the folders come back
        assert run(SCRIPT, {"i": 2}, cache=opened).iterations[0].ok
    assert run(SCRIPT, {"i": 2}, cache=opened).iterations[0].cached
    assert stat.S_IMODE((store / "blobs").stat().st_mode) == 0o700
    shutil.rmtree(store)  # the whole store, while a session has it open
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)
        assert run(SCRIPT, {"i": 3}, cache=opened).iterations[0].ok
    assert run(SCRIPT, {"i": 3}, cache=opened).iterations[0].cached


def test_wal_and_shm_files_are_private_from_the_start(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        store = open_store(tmp_path / "store")
        run(SCRIPT, {"i": 1}, cache=store)
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "store").iterdir() if p.is_file()
        }
    finally:
        os.umask(old)
    assert {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_the_command_line_reports_a_read_only_store_in_one_line(tmp_path):
    store = tmp_path / "store"
    sweep(store, tmp_path / "log", [1])
    open_store(store).close()
    setup = f"mount --bind {store} {store} && mount -o remount,ro,bind {store} {store}"
    command = f"exec {sys.executable} -m py3r.behaviour.script sweep {SCRIPT} -p i=1,2 --cache {store}"
    command += " --no-progress"
    out = subprocess.run(
        [*PRIVATE_MOUNTS, "sh", "-c", f"{setup} && {command}"], capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith(f"py3r-script: warning: The run store {store} cannot be written")
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1
