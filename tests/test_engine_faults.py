"""The engines under hostile conditions: busy workers, imports that hang, double faults."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from helpers import SCRIPTS, session_processes, wait_for
from py3r.behaviour.script import (
    CancelToken,
    IterationFailedWarning,
    SweepInterruptedWarning,
    run,
    sensitivity,
)
from py3r.behaviour.script._engine.fork import MAX_WORKERS, POOL


def _marked(started):
    """The iterations of wait_for_release.py that have marked their start: a marker is complete
    once renamed from its ``.tmp`` name."""
    return sorted(name for name in os.listdir(started) if not name.endswith(".tmp"))


def test_a_worker_with_running_iterations_is_never_evicted(tmp_path):
    """A sweep's warm worker stays while other folders' scripts need more workers than are kept."""
    (tmp_path / "sweep").mkdir()
    script = shutil.copy(SCRIPTS / "wait_for_release.py", tmp_path / "sweep" / "s.py")
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    others = []
    for n in range(MAX_WORKERS):
        folder = tmp_path / f"other{n}"
        folder.mkdir()
        others.append(shutil.copy(SCRIPTS / "scalars.py", folder / "s.py"))
    done: list = []
    nominal = {"started": str(started), "release": str(release)}

    def sweep():
        done.append(
            sensitivity(script, {"i": [1, 2]}, nominal=nominal, workers=2, progress=False, engine="fork")
        )

    thread = threading.Thread(target=sweep)
    thread.start()
    try:
        wait_for(lambda: len(_marked(started)) >= 2, timeout=60, what="two running iterations")
        child = int((started / _marked(started)[0]).read_text())
        worker = _parent(child)
        for other in others:  # each needs a worker of its own: one more than are kept
            assert run(other, engine="fork").iterations[0].ok
        assert worker in POOL.pids()  # the busy one stayed; idle ones went
    finally:
        release.touch()
        thread.join(timeout=60)
    (sr,) = done
    assert not sr.errors, sr.errors
    assert [sr[k]["value"] for k in sr.keys()] == [0, 1, 2]


def test_the_pool_grows_past_its_limit_while_every_worker_is_busy(tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    results: dict[int, object] = {}

    def one(n):
        folder = tmp_path / f"f{n}"
        folder.mkdir()
        script = shutil.copy(SCRIPTS / "wait_for_release.py", folder / "s.py")
        values = {"i": n, "started": str(started), "release": str(release)}
        results[n] = run(script, values, engine="fork")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(MAX_WORKERS + 1)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(_marked(started)) == MAX_WORKERS + 1, timeout=60, what="every script to run")
        busy = {_parent(int((started / name).read_text())) for name in _marked(started)}
        assert len(busy) == MAX_WORKERS + 1 and busy <= set(POOL.pids())
    finally:
        release.touch()
        for t in threads:
            t.join(timeout=60)
    assert all(sr.iterations[0].ok for sr in results.values()), [sr.errors for sr in results.values()]
    assert run(SCRIPTS / "scalars.py", engine="fork").iterations[0].ok
    assert len(POOL.pids()) <= MAX_WORKERS  # back within the limit once they are idle


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _hanging_import(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(SCRIPTS / "slow_lib"))
    marker = tmp_path / "importing"
    monkeypatch.setenv("PY3R_TEST_IMPORT_MARKER", str(marker))
    return marker


def _gone(pids):
    return not (set(pids) & set(session_processes()))


def test_timeout_covers_an_import_that_hangs(engine, tmp_path, monkeypatch):
    """The iteration's timeout includes the warm worker's start-up; what the import started dies too."""
    marker = _hanging_import(tmp_path, monkeypatch)
    t0 = time.monotonic()
    with pytest.warns(IterationFailedWarning, match="timed out after 2 s"):
        sr = run(SCRIPTS / "hanging_import_user.py", timeout=2, engine=engine)
    elapsed = time.monotonic() - t0
    (it,) = sr.iterations
    assert it.failure is not None and it.failure.kind == "timeout", it.failure
    if engine == "fork":
        assert "the warm worker was still importing the script's imports" in it.failure.message
    assert elapsed < 10, elapsed  # not the 300 s the import would take, nor the 180 s start-up limit
    pids = [int(p) for p in marker.read_text().split()]
    wait_for(lambda: _gone(pids), timeout=10, what="the importing process and its helper to die")


@pytest.mark.parametrize("how", ["cancel", "ctrl-c"])
def test_cancelling_during_a_hanging_import_kills_the_starting_worker(engine, how, tmp_path, monkeypatch):
    marker = _hanging_import(tmp_path, monkeypatch)
    token = CancelToken()
    main = threading.get_ident()

    def interrupt():
        wait_for(marker.exists, timeout=60, what="the import to start")
        if how == "cancel":
            token.cancel()
        else:
            signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=interrupt)
    thread.start()
    t0 = time.monotonic()
    try:
        with pytest.warns(SweepInterruptedWarning, match="0 of 1 iterations"):
            sr = run(SCRIPTS / "hanging_import_user.py", engine=engine, cancel=token)
    finally:
        thread.join(timeout=60)
    assert time.monotonic() - t0 < 30
    assert sr.interrupted and sr.iterations[0].status == "cancelled"
    pids = [int(p) for p in marker.read_text().split()]
    wait_for(lambda: _gone(pids), timeout=10, what="the importing process and its helper to die")


DOUBLE_FAULT_OWNER = """\
import sys
from py3r.behaviour.script import sensitivity
sensitivity(
    sys.argv[1], {"hang": [True]}, nominal={"marker": sys.argv[2], "busy": sys.argv[3] == "busy"},
    engine="fork", progress=False,
)
"""


@pytest.mark.parametrize("busy", ["idle", "busy"])
def test_killing_the_owner_and_its_worker_together_leaves_nothing(busy, tmp_path):
    """A double fault (kill -9 of the caller and its warm worker at once, as an OOM killer may do)
    still takes the script and the processes it started down."""
    marker = tmp_path / "grandchild.pid"
    before = set(session_processes())
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DOUBLE_FAULT_OWNER,
            str(SCRIPTS / "sleeper_with_grandchild.py"),
            str(marker),
            busy,
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: owner.poll() is None and marker.exists(), timeout=60, what="the grandchild")
        ours = set(session_processes()) - before
        (worker,) = [
            p for p, (ppid, cmd) in session_processes().items() if ppid == owner.pid and "zygote" in cmd
        ]
        grandchild = int(marker.read_text())
        assert grandchild in ours and worker in ours
        os.kill(owner.pid, signal.SIGKILL)
        os.kill(worker, signal.SIGKILL)
        owner.wait(timeout=30)
        wait_for(lambda: _gone(ours), timeout=15, what="every process of the killed owner and worker to exit")
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_a_call_that_gives_up_on_a_starting_worker_leaves_it_to_another_waiting_for_it(tmp_path, monkeypatch):
    """The panel cancels a rerun when a slider moves while a sweep waits for the same worker: the
    worker must go on starting for the sweep, not be killed under it."""
    marker = _hanging_import(tmp_path, monkeypatch)
    release = tmp_path / "release"
    monkeypatch.setenv("PY3R_TEST_IMPORT_RELEASE", str(release))
    POOL.close()
    script = SCRIPTS / "hanging_import_user.py"
    waiting: list = []
    thread = threading.Thread(target=lambda: waiting.append(run(script, engine="fork")))
    thread.start()
    try:
        wait_for(marker.exists, timeout=60, what="the worker to start importing")
        token = CancelToken()
        other = threading.Thread(target=lambda: waiting.append(run(script, engine="fork", cancel=token)))
        other.start()
        wait_for(
            lambda: any(w.waiting >= 2 for w in list(POOL._workers.values())),
            timeout=30,
            what="two waiting calls",
        )
        # The cancelled call warns from its own thread; the warning filters are the process's.
        with pytest.warns(SweepInterruptedWarning, match="marked cancelled, not failed"):
            token.cancel()
            other.join(timeout=60)
        (cancelled,) = waiting
        assert cancelled.interrupted and cancelled.iterations[0].status == "cancelled"
        worker = int(marker.read_text().split()[0])
        assert worker in session_processes()  # still starting, for the call that waits
        release.touch()
    finally:
        release.touch()
        thread.join(timeout=60)
    done = waiting[1]
    assert done.iterations[0].ok, done.errors
    assert done[{}]["imported"] == "hanging_import"


@pytest.mark.parametrize(
    "refused", [(subprocess, "Popen"), (socket, "socketpair")], ids=["Popen", "socketpair"]
)
def test_a_process_that_cannot_be_started_leaves_no_file_open(refused, tmp_path, monkeypatch):
    """When Popen or the result channel fails (no such interpreter, out of processes or of
    descriptors), every file made for the start so far is closed, not leaked."""
    from py3r.behaviour.script._engine.subprocess import SubprocessEngine
    from py3r.behaviour.script._worker.protocol import Task

    def refuse(*args, **kwargs):
        raise OSError("no processes left")

    engine = SubprocessEngine()
    task = Task(str(tmp_path / "s.py"), "x = 1\n", {}, None, False, str(tmp_path), dict(os.environ))
    engine.start(task).close()  # the lifeline's descriptor is made once, on the first start
    before = sorted(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(*refused, refuse)
    with pytest.raises(OSError, match="no processes left"):
        engine.start(task)
    assert sorted(os.listdir("/proc/self/fd")) == before
