"""Concurrent sweeps into one store: a point another live process is computing is waited for, not
computed again; a point whose holder died is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from helpers import SCRIPTS, session_processes, wait_for
from py3r.behaviour.script import execute_plan, plan_sweep, read_script, sensitivity

SCRIPT = SCRIPTS / "held.py"
POINTS = list(range(1, 12))  # and 0, the default

CALLER = """\
import json, sys
from py3r.behaviour.script import execute_plan, plan_sweep, read_script, sensitivity
sr = sensitivity(sys.argv[1], {"i": json.loads(sys.argv[2])},
                 nominal={"log": sys.argv[3], "hold": sys.argv[4]}, cache=sys.argv[5], progress=False)
print(json.dumps({"ok": [it.ok for it in sr.iterations], "cached": [it.cached for it in sr.iterations]}))
"""


def started(log):
    return [int(x) for x in log.read_text().split()] if log.exists() else []


def other_sweep(tmp_path, hold):
    """The same sweep in another process; its report goes to ``out``, its stderr to ``err``."""
    args = [str(SCRIPT), json.dumps(POINTS), str(tmp_path / "log"), str(hold), str(tmp_path / "store")]
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "err", "wb") as err:
        return subprocess.Popen([sys.executable, "-c", CALLER, *args], stdout=out, stderr=err)


def test_a_point_another_process_computes_is_waited_for(tmp_path):
    hold, log = tmp_path / "hold", tmp_path / "log"
    hold.touch()
    other = other_sweep(tmp_path, hold)
    try:
        wait_for(lambda: 0 in started(log), timeout=60, what="the other sweep to start point 0")
        # Point 0 is held by the other process; this sweep computes what is free, then waits.
        released = []

        def release(it, results):
            if not released and len(results) >= len(POINTS):  # all but point 0 are in
                released.append(True)
                hold.unlink()

        plan = plan_sweep(read_script(SCRIPT), {"i": POINTS}, nominal={"log": str(log), "hold": str(hold)})
        sr = execute_plan(plan, cache=tmp_path / "store", on_iteration=release)
        other.wait(timeout=120)
    finally:
        other.kill()
        other.wait()
    assert other.returncode == 0, (tmp_path / "err").read_text()
    assert all(it.ok for it in sr.iterations)
    assert sr.iteration({"i": 0}).cached  # computed by the other process, read from the store
    runs = started(log)
    assert sorted(runs) == sorted(set(runs)) == [0, *POINTS]  # every point ran exactly once
    theirs = json.loads((tmp_path / "out").read_text())
    assert all(theirs["ok"])


def test_a_point_whose_holder_died_is_taken_over(tmp_path):
    hold, log = tmp_path / "hold", tmp_path / "log"
    hold.touch()
    before = set(session_processes())
    other = other_sweep(tmp_path, hold)
    try:
        wait_for(lambda: 0 in started(log), timeout=60, what="the other sweep to start point 0")
        theirs = set(session_processes()) - before
        os.kill(other.pid, signal.SIGKILL)  # dies holding the lease of point 0
        other.wait(timeout=30)
        wait_for(lambda: not (set(session_processes()) & theirs), timeout=30, what="its processes to go")
    finally:
        other.kill()
        other.wait()
    hold.unlink()
    sr = sensitivity(
        SCRIPT,
        {"i": POINTS},
        nominal={"log": str(log), "hold": str(hold)},
        cache=tmp_path / "store",
        progress=False,
    )
    assert all(it.ok for it in sr.iterations)
    assert not sr.iteration({"i": 0}).cached and started(log).count(0) == 2  # taken over, run again
