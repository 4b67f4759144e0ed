"""The run store: hits and misses, resume after kill -9, concurrent writers, corruption, permissions."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys

import pytest

from helpers import EXAMPLE, wait_for
from py3r.behaviour.script import (
    IterationFailedWarning,
    ScriptResults,
    StoreWarning,
    history,
    run,
    sensitivity,
)
from py3r.behaviour.script.store import open_store

COUNTING = """\
import pathlib
import helper_mod
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
log = pathlib.Path(Param("", name="log"))
with open(log, "a") as f:  # every real run leaves a line: tests count them
    f.write(f"{i}\\n")
if i == 99:
    raise ValueError("ninety-nine")
Output(i * helper_mod.FACTOR, name="y")
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "helper_mod.py").write_text("FACTOR = 10\n")
    script = tmp_path / "s.py"
    script.write_text(COUNTING)
    return script


def ran(log):
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def test_hit_returns_stored_outputs_without_running(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    first = run(project, {"i": 3, "log": str(log)}, cache=store)
    again = run(project, {"i": 3, "log": str(log)}, cache=store)
    assert ran(log) == [3]
    assert again[{"i": 3, "log": str(log)}]["y"] == 30 and again.iterations[0].cached
    assert not first.iterations[0].cached
    assert again.iterations[0].wall_time == first.iterations[0].wall_time  # timing kept


def test_misses(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 1, "log": str(log)}
    run(project, p, cache=store)
    run(project, {**p, "i": 2}, cache=store)  # another value
    run(project, p, cache=store, outputs=["y"])  # other requested outputs
    run(project, p, cache=store, stop_after_outputs=True)
    (tmp_path / "helper_mod.py").write_text("FACTOR = 100\n")  # an imported local module changed
    assert run(project, p, cache=store)[p]["y"] == 100
    project.write_text(project.read_text() + "# edited\n")  # the script changed
    run(project, p, cache=store)
    assert ran(log) == [1, 2, 1, 1, 1, 1]
    run(project, p, cache=store)
    assert ran(log) == [1, 2, 1, 1, 1, 1]  # and now it hits


def test_one_and_one_point_oh_are_different_keys(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\n"
        "x = Param(None, name='x')\nOutput(repr(x), name='r')\n"
    )
    store = tmp_path / "store"
    assert [run(script, {"x": v}, cache=store)[{"x": v}]["r"] for v in (1, 1.0, True)] == ["1", "1.0", "True"]
    assert [run(script, {"x": v}, cache=store)[{"x": v}]["r"] for v in (1, 1.0, True)] == ["1", "1.0", "True"]
    nan = run(script, {"x": float("nan")}, cache=store)
    assert (
        run(script, {"x": float("nan")}, cache=store).iterations[0].cached
        and nan[{"x": float("nan")}]["r"] == "nan"
    )


def test_failures_are_stored_and_retried_on_request(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 99, "log": str(log)}
    with pytest.warns(IterationFailedWarning):
        run(project, p, cache=store)
    with pytest.warns(IterationFailedWarning):
        again = run(project, p, cache=store)
    assert again.iterations[0].cached and "ninety-nine" in again.errors[0][1]
    assert ran(log) == [99]
    with pytest.warns(IterationFailedWarning):
        run(project, p, cache=store, retry_failed=True)
    assert ran(log) == [99, 99]


def test_sweep_runs_only_missing_points(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    kw = {"nominal": {"log": str(log)}, "cache": store, "progress": False}
    sensitivity(project, {"i": [1, 2]}, **kw)
    sr = sensitivity(project, {"i": [1, 2, 3, 4]}, **kw)
    assert sorted(ran(log)) == [0, 1, 2, 3, 4]  # 0 is the default, swept once
    assert {it.params["i"]: it.cached for it in sr.iterations} == {
        1: True,
        0: True,
        2: True,
        3: False,
        4: False,
    }
    assert sr.to_dataframe()["y"].tolist() == [0, 10, 20, 30, 40]


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
sensitivity(
    sys.argv[1], {"i": [1, 2, 3, 4, 5]}, nominal={"d": sys.argv[2]}, cache=sys.argv[3], progress=False
)
"""


def test_resume_after_kill_9_reruns_exactly_the_unfinished(tmp_path):
    script = tmp_path / "k.py"
    script.write_text(KILLABLE)
    work, store = tmp_path / "work", tmp_path / "store"
    work.mkdir()
    (work / "hang").write_text("x")
    sweeper = [sys.executable, "-c", SWEEPER, str(script), str(work), str(store)]
    proc = subprocess.Popen(sweeper, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: (work / "hanging").exists() or proc.poll() is not None, timeout=120, what="point 3")
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert ran(work / "ran") == [0, 1, 2, 3]  # the default first; killed while point 3 ran
    (work / "ran").unlink()
    (work / "hang").unlink()
    subprocess.run(sweeper, timeout=120, check=True)  # the same command again
    assert ran(work / "ran") == [3, 4, 5]  # 0, 1 and 2 were stored before the kill
    (work / "ran").unlink()
    subprocess.run(sweeper, timeout=120, check=True)
    assert ran(work / "ran") == []  # and now everything is


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
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(script), str(store), str(start)])
        for start in (0, 15)
    ]
    for p in procs:
        assert p.wait(timeout=180) == 0
    table = history(script, store=store)
    assert sorted(table["i"]) == list(range(45)) and set(table["status"]) == {"ok"}
    with sqlite3.connect(store / "index.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_corrupted_or_truncated_entries_are_recomputed(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    p = {"i": 5, "log": str(log)}
    run(project, p, cache=store)
    (blob,) = (store / "blobs").glob("*.pkl")
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.warns(StoreWarning, match="does not match its signature"):
        assert run(project, p, cache=store)[p]["y"] == 50
    assert ran(log) == [5, 5]
    blob.write_bytes(blob.read_bytes()[:10])
    with pytest.warns(StoreWarning, match="truncated"):
        run(project, p, cache=store)
    blob.unlink()
    with pytest.warns(StoreWarning, match="missing"):
        run(project, p, cache=store)
    assert ran(log) == [5, 5, 5, 5]
    assert run(project, p, cache=store).iterations[0].cached


def test_permissions(tmp_path):
    store = open_store(tmp_path / "store")
    assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.environ["PY3R_SCRIPT_KEY_FILE"]).st_mode) == 0o600
    (tmp_path / "link").symlink_to(tmp_path / "store")
    with pytest.raises(PermissionError, match="is a symbolic link"):
        open_store(tmp_path / "link")
    assert store is open_store(tmp_path / "store")
    with pytest.raises(TypeError, match="cache= takes True, a directory path or None"):
        open_store(3)  # type: ignore[arg-type]


def test_default_store_directory(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(project, {"i": 1, "log": str(tmp_path / "log")}, cache=True)
    assert (tmp_path / ".py3r-runs" / "index.sqlite").exists()
    monkeypatch.setenv("PY3R_SCRIPT_STORE", str(tmp_path / "elsewhere"))
    run(project, {"i": 1, "log": str(tmp_path / "log")}, cache=True)
    assert (tmp_path / "elsewhere" / "index.sqlite").exists()


def test_history(project, tmp_path):
    log, store = tmp_path / "log", tmp_path / "store"
    sensitivity(project, {"i": [1, 2]}, nominal={"log": str(log)}, cache=store, progress=False)
    table = history(project, store=store)
    assert list(table.columns) == ["i", "log", "y", "status", "when", "seconds"]
    assert sorted(table["y"]) == [0, 10, 20]


def test_save_and_load(tmp_path):
    sr = sensitivity(EXAMPLE, {"threshold": [1.0, 4.0]}, progress=False)
    sr.save(tmp_path / "sr.pkl")
    back = ScriptResults.load(tmp_path / "sr.pkl")
    assert back.to_dataframe().equals(sr.to_dataframe())
    assert back.mode == "independent" and back.nominal == sr.nominal and back.script == sr.script
    (tmp_path / "other.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(ValueError, match=r"is not a file written by ScriptResults\.save"):
        ScriptResults.load(tmp_path / "other.pkl")


def test_cache_serves_the_example_quickly(tmp_path):
    store = tmp_path / "store"
    run(EXAMPLE, {"threshold": 3.0}, cache=store)
    hit = run(EXAMPLE, {"threshold": 3.0}, cache=store)
    assert hit.iterations[0].cached and hit.iterations[0].stdout.startswith("seed=42")
