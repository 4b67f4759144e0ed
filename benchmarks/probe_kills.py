"""Fault probe: kill -9 a sweep again and again, alone or together with its warm worker, and count.

Run: ``python benchmarks/probe_kills.py [KILLS]`` (default 50). Each round starts a sweep of the same
script into one run store in a fresh process, waits until a few iterations are stored, then kills
the caller with SIGKILL; every other round it kills the caller's warm worker in the same instant
(a double fault, as an out-of-memory killer may do). Every iteration starts a grandchild process.
After each kill it waits (at most 15 s) for every process of that round to be gone, and counts the
ones left (strays). At the end one more sweep runs to completion from the store. Printed: kills
survived (rounds whose store opened and resumed), points lost (points of the final sweep that are
not ok, plus stored entries reported unusable), strays, and how many iterations ran in all (each
kill may cost the iterations that were running). Exit status 0 when nothing was lost or left.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

MARK = "PY3R_PROBE_SESSION"
N = 60

SCRIPT = """\
import os, subprocess, sys, time
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
log = Param("", name="log")
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
time.sleep(0.05)
with open(log, "a") as f:
    f.write(f"{i}\\n")
Output(i * 10, name="y")
"""

CALLER = f"""\
import sys
from py3r.behaviour.script import sensitivity
sensitivity(sys.argv[1], {{"i": list(range(1, {N}))}}, nominal={{"log": sys.argv[2]}}, cache=sys.argv[3],
            workers=2, progress=False)
"""


def ours(mark: str) -> dict[int, tuple[int, str]]:
    """Live processes carrying ``mark`` in their environment: pid -> (ppid, command)."""
    found = {}
    token = f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if token not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state not in ("Z", "X"):
            found[int(entry.name)] = (int(ppid), cmd)
    return found


def stored(store: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(store / "index.sqlite") as db:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
    except sqlite3.Error:
        return 0


def main(kills: int) -> int:
    from py3r.behaviour.script import StoreWarning, sensitivity

    work = Path(tempfile.mkdtemp(prefix="py3r-probe-"))
    script, log, store = work / "s.py", work / "log", work / "store"
    script.write_text(SCRIPT)
    strays = survived = 0
    rng = random.Random(15)
    for round_ in range(kills):
        mark = uuid.uuid4().hex
        env = {**os.environ, MARK: mark}
        before = stored(store)
        caller = subprocess.Popen(
            [sys.executable, "-c", CALLER, str(script), str(log), str(store)],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        target = before + rng.randint(1, 4)
        while stored(store) < min(target, N) and caller.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        survived += caller.poll() is None or caller.returncode == 0
        double = round_ % 2 == 1
        workers = [p for p, (ppid, cmd) in ours(mark).items() if ppid == caller.pid and "zygote" in cmd]
        os.kill(caller.pid, signal.SIGKILL)
        if double:
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
        caller.wait()
        gone_by = time.monotonic() + 15
        while ours(mark) and time.monotonic() < gone_by:
            time.sleep(0.05)
        left = ours(mark)
        strays += len(left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        if stored(store) >= N:  # everything is in: start again with a fresh store
            store = work / f"store{round_}"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        final = sensitivity(
            script,
            {"i": list(range(1, N))},
            nominal={"log": str(log)},
            cache=store,
            workers=2,
            progress=False,
        )
    unusable = [w for w in seen if issubclass(w.category, StoreWarning)]
    lost = sum(not it.ok for it in final.iterations) + len(unusable)
    runs = len(log.read_text().split())
    print(
        json.dumps(
            {
                "kills": kills,
                "double_faults": kills // 2,
                "kills_survived": survived,
                "points": N,
                "points_lost": lost,
                "strays": strays,
                "iterations_run": runs,
                "final_sweep_cached": sum(it.cached for it in final.iterations),
            }
        )
    )
    return 0 if lost == 0 and strays == 0 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
