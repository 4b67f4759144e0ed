"""The run store: hit and miss rules, resume after kill -9 and Cancel, concurrent writers, damaged
entries, permissions, history, and saving results."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from helpers import EXAMPLE, EXAMPLE_SCALARS, leftover_processes, wait_for, warm_processes
from py3r.behaviour.script import (
    CancelToken,
    IterationFailedWarning,
    RunStore,
    ScriptResults,
    StoreWarning,
    SweepInterruptedWarning,
    history,
    open_store,
    run,
    sensitivity,
)

COUNTING = """\
import pathlib
import helper_mod
from pkg import util
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
log = pathlib.Path(Param("", name="log"))
with open(log, "a") as f:  # every real run leaves a line: tests count them
    f.write(f"{i}\\n")
if i == 99:
    raise ValueError("ninety-nine")
def late():
    import late_mod  # imported inside a function: still part of the key
    return late_mod.OFFSET
try:
    from optional_mod import E  # a module that may appear later
except ImportError:
    E = 0
Output(i * helper_mod.FACTOR + late() + util.X + E, name="y")
"""


@pytest.fixture
def project(tmp_path):
    """A script beside its local modules: one imported by a local module, one inside a function,
    a package, and an unrelated module."""
    (tmp_path / "helper_mod.py").write_text("import deep_mod\nFACTOR = deep_mod.BASE * 10\n")
    (tmp_path / "deep_mod.py").write_text("BASE = 1\n")
    (tmp_path / "late_mod.py").write_text("OFFSET = 0\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "util.py").write_text("X = 0\n")
    (tmp_path / "unrelated.py").write_text("Z = 0\n")
    script = tmp_path / "s.py"
    script.write_text(COUNTING)
    return script


def ran(log):
    """The iterations that really ran (each appends its ``i`` to the log)."""
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def blob_files(store):
    return sorted((store / "blobs").iterdir())


# Hits and misses -----------------------------------------------------------------------------
def test_hit_returns_stored_outputs_logs_and_timing_without_running(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 3, "log": str(log)}
    first = run(project, p, cache=store)
    again = run(project, p, cache=store)
    assert ran(log) == [3]
    assert again[p]["y"] == 30 and again.iterations[0].cached and not first.iterations[0].cached
    hit, orig = again.iterations[0], first.iterations[0]
    assert (hit.wall_time, hit.stdout, hit.stderr, hit.values) == (
        orig.wall_time,
        orig.stdout,
        orig.stderr,
        orig.values,
    )
    assert hit.info["pid"] == orig.info["pid"] and hit.info["stored"] <= time.time()


def test_hit_starts_no_process_and_imports_no_pandas(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    run(project, {"i": 2, "log": str(log)}, cache=store)
    code = (
        "import os, sys, json\nfrom py3r.behaviour.script import run\n"
        "sr = run(sys.argv[1], {'i': 2, 'log': sys.argv[2]}, cache=sys.argv[3])\n"
        "children = open(f'/proc/{os.getpid()}/task/{os.getpid()}/children').read().split()\n"
        "print(json.dumps([sr.iterations[0].cached, sr.iterations[0].outputs['y'], children, "
        "'pandas' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(project), str(log), str(store)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout) == [True, 20, [], False]
    assert ran(log) == [2]


def test_what_makes_a_miss(project, tmp_path, monkeypatch):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 1, "log": str(log)}

    def again(**kw):
        sr = run(project, kw.pop("params", p), cache=store, **kw)
        return sr.iterations[0].cached, sr.iterations[0].outputs["y"]

    assert again() == (False, 10)
    assert again() == (True, 10)
    assert again(params={**p, "i": 2})[0] is False  # another value
    assert again(outputs=["y"])[0] is False  # other requested outputs
    assert again(stop_after_outputs=True)[0] is False
    (tmp_path / "unrelated.py").write_text("Z = 1\n")  # a module the script does not import
    assert again() == (True, 10)
    edits = [
        ("helper_mod.py", "import deep_mod\nFACTOR = deep_mod.BASE * 100\n", 100),  # imported module
        ("deep_mod.py", "BASE = 2\n", 200),  # imported by an imported module
        ("late_mod.py", "OFFSET = 1\n", 201),  # imported inside a function
        ("pkg/util.py", "X = 1\n", 202),  # a module of an imported package
    ]
    for name, text, y in edits:
        (tmp_path / name).write_text(text)
        assert again() == (False, y), name
        assert again() == (True, y), name
    (tmp_path / "optional_mod.py").write_text("E = 1000\n")  # a module that did not exist
    assert again() == (False, 1202)
    assert again() == (True, 1202)
    project.write_text(project.read_text() + "# edited\n")  # the script itself
    assert again() == (False, 1202)
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)  # relative paths in a script resolve against the working directory
    assert again() == (False, 1202)
    assert again() == (True, 1202)
    assert ran(log) == [1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]


def test_one_and_one_point_oh_and_true_are_different_keys_and_nan_is_nan(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\n"
        "x = Param(None, name='x')\n"
        "Output(repr(x), name='r')\n"
    )
    store = tmp_path / "store"
    values = [1, 1.0, True, float("nan")]
    first = [run(script, {"x": v}, cache=store).iterations[0] for v in values]
    second = [run(script, {"x": v}, cache=store).iterations[0] for v in values]
    assert [it.outputs["r"] for it in first] == ["1", "1.0", "True", "nan"]
    assert [it.outputs["r"] for it in second] == ["1", "1.0", "True", "nan"]
    assert [it.cached for it in first + second] == [False] * 4 + [True] * 4


def test_failures_are_stored_and_retried_on_request(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 99, "log": str(log)}
    with pytest.warns(IterationFailedWarning):
        run(project, p, cache=store)
    with pytest.warns(IterationFailedWarning):
        again = run(project, p, cache=store)
    assert again.iterations[0].cached and "ninety-nine" in again.errors[0][1]
    assert again.iterations[0].failure.exc_type == "ValueError"
    assert ran(log) == [99]
    with pytest.warns(IterationFailedWarning):
        run(project, p, cache=store, retry_failed=True)
    assert ran(log) == [99, 99]
    kw = {"nominal": {"log": str(log)}, "cache": store, "progress": False}
    with pytest.warns(IterationFailedWarning):
        sensitivity(project, {"i": [1, 99]}, **kw)
    assert ran(log) == [99, 99, 0, 1]  # 99 was stored
    with pytest.warns(IterationFailedWarning):
        sr = sensitivity(project, {"i": [1, 99]}, retry_failed=True, **kw)
    assert ran(log) == [99, 99, 0, 1, 99]
    assert [it.cached for it in sr.iterations] == [True, True, False]


TIMED = """\
import pathlib, time
from py3r.behaviour.script import Output, Param
d = pathlib.Path(Param("", name="d"))
with open(d / "ran", "a") as f:
    f.write("x\\n")
while (d / "hang").exists():
    time.sleep(0.02)
Output(1, name="y")
"""


def test_a_stored_timeout_is_reused_only_within_its_limit(tmp_path):
    script, store = tmp_path / "t.py", tmp_path / "store"
    script.write_text(TIMED)
    (tmp_path / "hang").write_text("")
    p = {"d": str(tmp_path)}
    with pytest.warns(IterationFailedWarning, match="timed out"):
        run(script, p, cache=store, timeout=0.5)
    for limit in (0.5, 0.2):  # no longer a limit: it would time out again
        with pytest.warns(IterationFailedWarning, match="timed out"):
            assert run(script, p, cache=store, timeout=limit).iterations[0].cached
    assert (tmp_path / "ran").read_text() == "x\n"
    (tmp_path / "hang").unlink()
    sr = run(script, p, cache=store, timeout=30)  # a longer limit: run again
    assert not sr.iterations[0].cached and sr.iterations[0].ok
    assert run(script, p, cache=store).iterations[0].cached  # and now it is stored as a success
    assert (tmp_path / "ran").read_text() == "x\nx\n"


def test_sweep_runs_only_missing_points_and_keeps_plan_order(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    kw = {"nominal": {"log": str(log)}, "cache": store, "progress": False}
    sensitivity(project, {"i": [1, 2]}, **kw)
    sr = sensitivity(project, {"i": [4, 1, 3, 2]}, workers=2, **kw)
    assert sorted(ran(log)) == [0, 1, 2, 3, 4]  # 0 is the default, run once
    assert [(it.params["i"], it.cached) for it in sr.iterations] == [
        (4, False),
        (1, True),
        (3, False),
        (2, True),
        (0, True),  # the default, after the given values
    ]
    assert sr.to_dataframe()["y"].tolist() == [40, 10, 30, 20, 0]
    assert sr[{"i": 3}]["y"] == 30 and sr[{"i": 1}]["y"] == 10


# Interruptions -----------------------------------------------------------------------------
KILLABLE = """\
import pathlib, time
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
d = pathlib.Path(Param("", name="d"))
with open(d / "ran", "a") as f:
    f.write(f"{i}\\n")
if i == 3 and (d / "hang").exists():  # point 3 hangs while this file exists
    (d / "hanging").write_text("x")
    while True:
        time.sleep(0.05)
Output(i, name="y")
"""

SWEEPER = """\
import sys
from py3r.behaviour.script import sensitivity
d, store = sys.argv[2], sys.argv[3]
sensitivity(sys.argv[1], {"i": [1, 2, 3, 4, 5]}, nominal={"d": d}, cache=store, progress=False)
"""


@pytest.fixture
def killable(tmp_path):
    script = tmp_path / "k.py"
    script.write_text(KILLABLE)
    work = tmp_path / "work"
    work.mkdir()
    (work / "hang").write_text("x")
    return script, work, tmp_path / "store"


def test_resume_after_kill_9_reruns_exactly_the_unfinished(killable):
    script, work, store = killable
    sweeper = [sys.executable, "-c", SWEEPER, str(script), str(work), str(store)]
    proc = subprocess.Popen(sweeper, stdin=subprocess.DEVNULL)

    def hanging_with_0_1_2_stored():
        # An iteration is stored once its process has exited (its logs complete): point 3 may
        # start while 2 is still exiting, so wait for the store too.
        stored = set(history(script, store=store).get("i", []))
        return (work / "hanging").exists() and stored == {0, 1, 2}

    try:
        wait_for(lambda: proc.poll() is not None or hanging_with_0_1_2_stored(), timeout=120, what="point 3")
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Nothing the killed sweep started survives it (its worker and the hanging iteration go too).
    wait_for(lambda: not leftover_processes(set(), warm_processes()), timeout=30, what="orphans to exit")
    assert ran(work / "ran") == [0, 1, 2, 3]  # the default first; killed while point 3 ran
    (work / "ran").unlink()
    (work / "hang").unlink()
    subprocess.run(sweeper, timeout=120, check=True)  # the same command again
    assert ran(work / "ran") == [3, 4, 5]  # 0, 1 and 2 were stored before the kill
    (work / "ran").unlink()
    subprocess.run(sweeper, timeout=120, check=True)
    assert ran(work / "ran") == []  # and now everything is
    table = history(script, store=store)
    assert sorted(table["i"]) == [0, 1, 2, 3, 4, 5] and set(table["status"]) == {"ok"}


FAST = """\
import pathlib
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
d = pathlib.Path(Param("", name="d"))
(d / f"ran-{i}").write_text("")
Output(list(range(i * 1000)), name="y")
"""


def test_kill_9_while_entries_are_being_written_leaves_whole_entries_only(tmp_path):
    script, store, work = tmp_path / "f.py", tmp_path / "store", tmp_path / "work"
    script.write_text(FAST)
    work.mkdir()
    code = (
        "import sys\nfrom py3r.behaviour.script import sensitivity\n"
        "sensitivity(sys.argv[1], {'i': list(range(1, 60))}, nominal={'d': sys.argv[2]}, "
        "cache=sys.argv[3], progress=False)\n"
    )
    sweeper = [sys.executable, "-c", code, str(script), str(work), str(store)]
    proc = subprocess.Popen(sweeper, stdin=subprocess.DEVNULL)
    try:  # killed at whatever point of storing an iteration it has reached
        wait_for(
            lambda: len(list(work.iterdir())) >= 25 or proc.poll() is not None, timeout=120, what="25 runs"
        )
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stored = set(history(script, store=store)["i"])
    assert 20 <= len(stored) < 60
    for f in work.iterdir():
        f.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a half-written entry would be a StoreWarning
        sr = sensitivity(
            script, {"i": list(range(1, 60))}, nominal={"d": str(work)}, cache=store, progress=False
        )
    assert {int(f.name[4:]) for f in work.iterdir()} == set(range(60)) - stored
    assert all(it.ok for it in sr.iterations) and sr[{"i": 7}]["y"] == list(range(7000))


def test_cancelled_iterations_are_not_stored(killable):
    script, work, store = killable
    cancel = CancelToken()

    def cancel_when_hanging():
        deadline = time.monotonic() + 60
        while not (work / "hanging").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        cancel.cancel()

    canceller = threading.Thread(target=cancel_when_hanging)
    canceller.start()
    kw = {"nominal": {"d": str(work)}, "cache": store, "progress": False}
    with pytest.warns(SweepInterruptedWarning):
        sr = sensitivity(script, {"i": [1, 2, 3, 4, 5]}, cancel=cancel, timeout=60, **kw)
    canceller.join()
    assert [it.status for it in sr.iterations] == ["ok", "ok", "ok", "cancelled", "cancelled", "cancelled"]
    (work / "ran").unlink()
    (work / "hang").unlink()
    sr = sensitivity(script, {"i": [1, 2, 3, 4, 5]}, **kw)
    assert ran(work / "ran") == [3, 4, 5]
    assert [it.cached for it in sr.iterations] == [True, True, True, False, False, False]


# Concurrency -------------------------------------------------------------------------------
def test_concurrent_writers_lose_nothing(tmp_path):
    script = tmp_path / "w.py"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\ni = Param(0, name='i')\nOutput(i, name='y')\n"
    )
    store = tmp_path / "store"
    code = (
        "import sys\nfrom py3r.behaviour.script import sensitivity\n"
        "sensitivity(sys.argv[1], {'i': list(range(int(sys.argv[3]), int(sys.argv[3]) + 30))}, "
        "cache=sys.argv[2], progress=False)\n"
    )
    # Both start at once and overlap on 15..29, which both compute and store under the same keys.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(script), str(store), str(start)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for start in (0, 15)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0 and "Warning" not in err, err
    table = history(script, store=store)
    assert sorted(table["i"]) == list(range(45)) and set(table["status"]) == {"ok"}
    assert len(blob_files(store)) == 45  # a replaced entry's old file is removed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every entry whole: no StoreWarning
        sr = sensitivity(script, {"i": list(range(45))}, cache=store, progress=False)
    assert all(it.cached for it in sr.iterations) and sr.to_dataframe()["y"].tolist() == list(range(45))
    with sqlite3.connect(store / "index.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_forked_child_uses_its_own_connection(project, tmp_path):
    log, store_dir = tmp_path / "log", tmp_path / "store"
    p = {"i": 4, "log": str(log)}
    run(project, p, cache=store_dir)
    store = open_store(store_dir)
    (key,) = [row[0] for row in store._conn().execute("SELECT key FROM entries")]
    pid = os.fork()
    if pid == 0:  # the child: read through the inherited store object, then leave at once
        code = 1
        try:
            hit = store.get(key)
            code = 0 if hit is not None and hit.outputs["y"] == 40 and store._db is not None else 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("The forked child did not finish.")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    assert run(project, p, cache=store_dir).iterations[0].cached  # the parent's connection still works


# Damage ------------------------------------------------------------------------------------
def test_corrupted_truncated_missing_or_swapped_entries_are_recomputed(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 5, "log": str(log)}
    run(project, p, cache=store)
    (blob,) = blob_files(store)
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped
    with pytest.warns(StoreWarning, match="does not match its signature"):
        assert run(project, p, cache=store)[p]["y"] == 50
    (blob,) = blob_files(store)
    blob.write_bytes(blob.read_bytes()[:10])
    with pytest.warns(StoreWarning, match=r"for \{'i': 5, 'log': .*truncated \(10 of"):
        run(project, p, cache=store)
    (blob,) = blob_files(store)
    blob.unlink()
    with pytest.warns(StoreWarning, match="missing"):
        run(project, p, cache=store)
    assert ran(log) == [5, 5, 5, 5]
    assert run(project, p, cache=store).iterations[0].cached
    # Two whole, signed files swapped between their entries: each is refused.
    q = {"i": 6, "log": str(log)}
    run(project, q, cache=store)
    a, b = blob_files(store)
    da, db_ = a.read_bytes(), b.read_bytes()
    a.write_bytes(db_)
    b.write_bytes(da)
    with pytest.warns(StoreWarning, match="signature"):
        assert run(project, p, cache=store)[p]["y"] == 50
    with pytest.warns(StoreWarning, match="signature"):
        assert run(project, q, cache=store)[q]["y"] == 60
    assert ran(log) == [5, 5, 5, 5, 6, 5, 6]


def test_a_validly_signed_entry_that_does_not_load_is_recomputed(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 7, "log": str(log)}
    run(project, p, cache=store)
    (blob,) = blob_files(store)
    with sqlite3.connect(store / "index.sqlite") as db:
        (key,) = db.execute("SELECT key FROM entries").fetchone()
        data = pickle.dumps({"values": {}})  # a record missing its fields
        secret = Path(os.environ["PY3R_SCRIPT_KEY_FILE"]).read_bytes()
        digest = hmac.new(secret, key.encode() + b"\0" + data, hashlib.sha256).hexdigest()
        (store / "blobs" / f"{key}.{digest[:16]}.pkl").write_bytes(data)
        db.execute("UPDATE entries SET digest = ?, size = ?", (digest, len(data)))
    blob.unlink()
    with pytest.warns(StoreWarning, match="cannot be loaded"):
        assert not run(project, p, cache=store).iterations[0].cached
    assert run(project, p, cache=store).iterations[0].cached
    assert ran(log) == [7, 7]


def test_a_damaged_index_is_set_aside_and_the_store_starts_again(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    store.mkdir(mode=0o700)
    (store / "index.sqlite").write_bytes(b"this is not a database" * 100)
    p = {"i": 8, "log": str(log)}
    with pytest.warns(StoreWarning, match="index of the run store .* is damaged"):
        assert run(project, p, cache=store)[p]["y"] == 80
    assert [f.name.startswith("index.sqlite.corrupt-") for f in store.iterdir()].count(True) == 1
    assert run(project, p, cache=store).iterations[0].cached


def test_a_store_of_a_newer_layout_is_refused(tmp_path):
    store = tmp_path / "store"
    store.mkdir(mode=0o700)
    with sqlite3.connect(store / "index.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="written by a newer version of this library"):
        RunStore(store)


def test_a_failed_write_warns_and_keeps_the_result(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 9, "log": str(log)}
    open_store(store)
    (store / "tmp").rmdir()
    (store / "tmp").write_text("not a directory")  # every write now fails
    with pytest.warns(StoreWarning, match=r"could not be stored \(NotADirectoryError"):
        assert run(project, p, cache=store)[p]["y"] == 90
    (store / "tmp").unlink()
    (store / "tmp").mkdir()
    run(project, p, cache=store)
    assert run(project, p, cache=store).iterations[0].cached
    assert ran(log) == [9, 9]


def test_prune_removes_only_old_unindexed_files(project, tmp_path):
    store_dir = tmp_path / "store"
    run(project, {"i": 1, "log": str(tmp_path / "log")}, cache=store_dir)
    (kept,) = blob_files(store_dir)
    old, young = store_dir / "blobs" / "orphan-old.pkl", store_dir / "tmp" / "young"
    for f in (old, young):
        f.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    os.utime(kept, (time.time() - 7200, time.time() - 7200))
    assert open_store(store_dir).prune() == 1
    assert kept.exists() and young.exists() and not old.exists()


# Permissions -------------------------------------------------------------------------------
def test_permissions(project, tmp_path, monkeypatch):
    store = open_store(tmp_path / "store")
    assert store is open_store(tmp_path / "store")
    for d in ("store", "store/blobs", "store/tmp"):
        assert stat.S_IMODE((tmp_path / d).stat().st_mode) == 0o700, d
    assert stat.S_IMODE(os.stat(os.environ["PY3R_SCRIPT_KEY_FILE"]).st_mode) == 0o600
    run(project, {"i": 1, "log": str(tmp_path / "log")}, cache=store)
    (blob,) = blob_files(tmp_path / "store")
    for f in (blob, tmp_path / "store" / "index.sqlite"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    open_store(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700  # tightened
    (tmp_path / "link").symlink_to(tmp_path / "store")
    with pytest.raises(PermissionError, match="is a symbolic link"):
        open_store(tmp_path / "link")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        open_store(tmp_path / "file")
    for bad in (3, ""):
        with pytest.raises(TypeError, match="cache= takes True, a directory path or None"):
            open_store(bad)  # type: ignore[arg-type]


def test_the_signing_key_is_made_private_and_refused_when_not(tmp_path, monkeypatch):
    key = tmp_path / "config" / "key"
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(key))
    RunStore(tmp_path / "a")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    os.chmod(key, 0o644)
    with pytest.raises(PermissionError, match="can be read by others"):
        RunStore(tmp_path / "b")
    os.chmod(key, 0o600)
    key.write_bytes(b"short")
    with pytest.raises(ValueError, match="shorter than 32 bytes"):
        RunStore(tmp_path / "c")
    monkeypatch.delenv("PY3R_SCRIPT_KEY_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    RunStore(tmp_path / "d")
    assert stat.S_IMODE((tmp_path / "xdg" / "py3r-script" / "store.key").stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_store_of_another_user_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    os.chown(other, 12345, 12345)
    with pytest.raises(PermissionError, match="belongs to another user"):
        open_store(other)


def test_default_store_directory(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PY3R_SCRIPT_STORE")
    monkeypatch.delenv("PY3R_SCRIPT_STORE", raising=False)
    run(project, {"i": 1, "log": str(tmp_path / "log")}, cache=True)
    assert (tmp_path / ".py3r-runs" / "index.sqlite").exists()
    monkeypatch.setenv("PY3R_SCRIPT_STORE", str(tmp_path / "elsewhere"))
    run(project, {"i": 1, "log": str(tmp_path / "log")}, cache=True)
    assert (tmp_path / "elsewhere" / "index.sqlite").exists()
    assert len(history(project)) == 1


# History and saved results -----------------------------------------------------------------
def test_history(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    assert history(project, store=tmp_path / "none").empty
    assert not (tmp_path / "none").exists()  # listing does not create a store
    sensitivity(project, {"i": [1, 2]}, nominal={"log": str(log)}, cache=store, progress=False)
    table = history(project, store=store)
    assert list(table.columns) == ["i", "log", "y", "status", "when", "seconds", "current"]
    assert sorted(zip(table["i"], table["y"])) == [(0, 0), (1, 10), (2, 20)]  # in the order stored
    assert table["current"].all() and (table["seconds"] > 0).all()
    assert str(table["when"].dtype).startswith("datetime64") and table["when"].is_monotonic_increasing
    project.write_text(project.read_text() + "# edited\n")
    with pytest.warns(IterationFailedWarning):
        run(project, {"i": 99, "log": str(log)}, cache=store)
    table = history(project, store=store)
    assert table["current"].tolist() == [False, False, False, True]
    assert table["status"].tolist() == ["ok", "ok", "ok", "failed"]
    project.unlink()  # a deleted script's history is still listed
    assert len(history(project, store=store)) == 4


def test_save_and_load(tmp_path):
    sr = sensitivity(EXAMPLE, {"threshold": [1.0, 4.0]}, progress=False)
    sr.save(tmp_path / "sr.pkl")
    back = ScriptResults.load(tmp_path / "sr.pkl")
    assert back.to_dataframe(outputs=EXAMPLE_SCALARS).equals(sr.to_dataframe(outputs=EXAMPLE_SCALARS))
    assert back.mode == "independent" and back.nominal == sr.nominal and back.script == sr.script
    assert back[{"threshold": 4}]["distance_cm"] == sr[{"threshold": 4.0}]["distance_cm"]  # int for a float
    assert back.iterations[0].stdout == sr.iterations[0].stdout
    assert [f.name for f in tmp_path.iterdir()] == ["sr.pkl"]  # no temporary file left
    (tmp_path / "other.pkl").write_bytes(pickle.dumps(None))
    with pytest.raises(ValueError, match=r"is not a file written by ScriptResults\.save"):
        ScriptResults.load(tmp_path / "other.pkl")
    (tmp_path / "cut.pkl").write_bytes((tmp_path / "sr.pkl").read_bytes()[:1000])
    with pytest.raises(ValueError, match="or it is truncated"):
        ScriptResults.load(tmp_path / "cut.pkl")


def test_the_example_is_served_with_its_logs(tmp_path):
    store = tmp_path / "store"
    first = run(EXAMPLE, {"threshold": 3.0}, cache=store)
    hit = run(EXAMPLE, {"threshold": 3.0}, cache=store)
    assert hit.iterations[0].cached and hit.iterations[0].stdout.startswith("seed=42")
    assert hit[{"threshold": 3.0}]["tracking"].equals(first[{"threshold": 3.0}]["tracking"])
