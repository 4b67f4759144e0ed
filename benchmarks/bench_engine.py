"""Engine benchmark: warm forked workers against a fresh interpreter per iteration.

Run: ``python benchmarks/bench_engine.py``. Every figure is measured in this one run, on this machine.
Targets (from the engine issue): warm >= 25x faster than a fresh interpreter on a small pandas
script, warm overhead <= 10 ms per iteration above the script's own work, workers=2 >= 1.8x
workers=1 on a CPU-bound script, stop_after_outputs return <= 50 ms after the last requested output,
warm run() latency <= 50 ms for a trivial script.
"""

from __future__ import annotations

import os
import runpy
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from py3r.behaviour.script import run, sensitivity

PANDAS_SCRIPT = """\
import pandas as pd
from py3r.behaviour.script import Output, Param
n = Param(200, name="n")
df = pd.DataFrame({"x": range(n)})
df["y"] = df["x"].rolling(5, min_periods=1).mean()
Output(float(df["y"].sum()), name="total")
"""

CPU_SCRIPT = """\
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
n = Param(2_000_000, name="n")
total = 0
for k in range(n):
    total += k * k % 7
Output(total, name="total")
"""

STOP_SCRIPT = """\
import time
from py3r.behaviour.script import Output, Param
x = Param(1, name="x")
Output(time.monotonic(), name="produced_at")
time.sleep(5)  # downstream work the call must not wait for
Output(x, name="late")
"""

TRIVIAL_SCRIPT = """\
from py3r.behaviour.script import Output, Param
x = Param(1, name="x")
Output(x + 1, name="y")
"""


def per_iteration(script: Path, values: list[int], **kw: object) -> float:
    t = time.perf_counter()
    sr = sensitivity(script, {"n": values}, progress=False, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t
    assert not sr.errors, sr.errors
    return elapsed / len(sr)


def own_work(script: Path, repeats: int = 20) -> float:
    """Seconds the script's body takes in a warm process (pandas already imported)."""
    runpy.run_path(str(script))
    t = time.perf_counter()
    for _ in range(repeats):
        runpy.run_path(str(script))
    return (time.perf_counter() - t) / repeats


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="py3r-bench-"))
    scripts = {}
    for name, text in [
        ("pandas_small", PANDAS_SCRIPT),
        ("cpu", CPU_SCRIPT),
        ("stop", STOP_SCRIPT),
        ("trivial", TRIVIAL_SCRIPT),
    ]:
        scripts[name] = tmp / f"{name}.py"
        scripts[name].write_text(textwrap.dedent(text))
    ok = True

    def report(label: str, value: str, passed: bool) -> None:
        nonlocal ok
        ok &= passed
        print(f"{label:<58} {value:>18}  {'ok' if passed else 'MISSED'}")

    print(f"Python {sys.version.split()[0]}, {sys.platform}\n")
    # 1. warm vs fresh interpreter, 20 iterations of a small pandas script
    values = list(range(200, 220))
    run(scripts["pandas_small"], engine="fork")  # start the warm worker (counted separately below)
    # Each engine sweeps three times; the median sweep is reported.
    small = scripts["pandas_small"]
    warm = statistics.median(per_iteration(small, values, engine="fork") for _ in range(3))
    cold = statistics.median(per_iteration(small, values, engine="subprocess") for _ in range(3))
    work = own_work(scripts["pandas_small"])
    report("1. fresh interpreter, s/iteration", f"{cold:.3f}", True)
    report("   warm fork engine, s/iteration", f"{warm:.4f}", True)
    report("   speed-up (target >= 25x)", f"{cold / warm:.1f}x", cold / warm >= 25)
    report("   script's own work in a warm process, ms", f"{work * 1e3:.2f}", True)
    report(
        "   warm overhead above own work, ms (target <= 10)",
        f"{(warm - work) * 1e3:.1f}",
        warm - work <= 0.010,
    )

    # 2. workers=2 vs workers=1 on a CPU-bound script
    cpu = scripts["cpu"]
    run(cpu, {"n": 10}, engine="fork")
    t = time.perf_counter()
    sensitivity(cpu, {"i": list(range(8))}, progress=False, workers=1)  # 0 is the default: 8 points
    one = time.perf_counter() - t
    t = time.perf_counter()
    sensitivity(cpu, {"i": list(range(8))}, progress=False, workers=2)
    two = time.perf_counter() - t
    report("2. CPU-bound, 8 iterations, workers=1, s", f"{one:.2f}", True)
    report("   workers=2, s", f"{two:.2f}", True)
    report("   speed-up (target >= 1.8x on 2 cores)", f"{one / two:.2f}x", one / two >= 1.8)

    # 3. stop_after_outputs: last requested output produced -> call returns
    run(scripts["stop"], outputs=["produced_at"], stop_after_outputs=True)
    lags = []
    for x in range(5):
        sr = run(scripts["stop"], {"x": x}, outputs=["produced_at"], stop_after_outputs=True)
        lags.append(time.monotonic() - sr[{"x": x}]["produced_at"])
    lag = statistics.median(lags)
    report("3. stop_after_outputs return lag, ms (target <= 50)", f"{lag * 1e3:.1f}", lag <= 0.050)

    # 4. warm run() latency for a trivial script
    run(scripts["trivial"])
    lat = []
    for x in range(20):
        t = time.perf_counter()
        run(scripts["trivial"], {"x": x})
        lat.append(time.perf_counter() - t)
    med = statistics.median(lat)
    report("4. warm run() latency, trivial script, ms (target <= 50)", f"{med * 1e3:.1f}", med <= 0.050)

    # 5. peak memory of the warm workers
    for pid in warm_workers():
        report(f"5. warm worker {pid} peak RSS, MiB", f"{peak_rss_mib(pid):.0f}", True)
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


def warm_workers() -> list[int]:
    """This process's warm workers: its children running the worker module."""
    me = os.getpid()
    children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
    return [int(pid) for pid in children if b"zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()]


if __name__ == "__main__":
    raise SystemExit(main())
