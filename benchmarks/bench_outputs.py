"""Output benchmark: what moving a large output costs, and what a sweep of large outputs holds.

Run: ``python benchmarks/bench_outputs.py`` (Linux: peak memory is read from /proc). Every figure is
measured in this one run, on this machine. Targets (from the outputs issue):

- moving a 200 MiB output costs at most 1.5x an in-process pickle round trip of it;
- the caller's peak grows by at most 1.6x the output's size;
- a sweep of 150 points x 30 MiB (workers=2) keeps the caller's peak growth under 1.5 GiB, and every
  output is still reachable and correct.

For each size, a script makes a float64 array and outputs it; the same script outputting only a
number is the script's own work. Overhead = run() with the array out - run() with the number out
(medians of 3, of 21 for outputs of 10 MiB or less, whose few milliseconds the machine's noise
would otherwise swamp). The caller's peak growth is read from /proc/self/status (VmHWM, reset through
/proc/self/clear_refs before each measurement) after the caller has read a value on every page of
the output, so an output that merely sits mapped and untouched would not look free. For the sweep,
the peak is read right after it, and again after every output was read back the same way (the
target applies to the second).
"""

from __future__ import annotations

import gc
import inspect
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from py3r.behaviour.script import run, sensitivity

MIB = 2**20
SCRIPT = """\
import numpy as np
from py3r.behaviour.script import Output, Param

n = Param(1, name="n")
fill = Param(1.0, name="fill")
whole = Param(True, name="whole")
a = np.full(n, fill)
Output(a if whole else float(a[-1]), name="a")
"""
SIZES_MIB = (1, 10, 100, 200, 500)
SWEEP_POINTS = 150
SWEEP_MIB = 30
TARGET_RATIO = 1.5
TARGET_PEAK = 1.6
TARGET_SWEEP_PEAK = 1.5 * 2**30


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak() -> int:
    """Reset this process's peak RSS to its current RSS; return the current RSS in bytes."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def peak_growth(start: int) -> int:
    return _status("VmHWM") - start


def touch(a: np.ndarray) -> float:
    """Read one value on every page of ``a`` (4096 bytes = 512 float64)."""
    return float(a[::512].sum())


def median_time(fn: Callable[[], object], n: int = 3) -> float:
    times = []
    for _ in range(n):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def pickle_round_trip(n: int, repeats: int) -> float:
    """The in-process pickle.dumps + pickle.loads of the same array (median of ``repeats``)."""
    a = np.full(n, 1.0)
    return median_time(lambda: pickle.loads(pickle.dumps(a, protocol=pickle.HIGHEST_PROTOCOL)), repeats)


def one_output(script: Path, mib: int) -> tuple[float, float, int]:
    n = mib * MIB // 8
    repeats = 21 if mib <= 10 else 3
    run(script, {"n": n, "whole": False})  # warm worker up, numpy imported
    own = median_time(lambda: run(script, {"n": n, "whole": False}), repeats)
    moved = median_time(lambda: run(script, {"n": n}), repeats)
    round_trip = pickle_round_trip(n, repeats)
    start = reset_peak()
    sr = run(script, {"n": n, "fill": 2.0})
    out = sr[{"n": n, "fill": 2.0}]["a"]
    assert touch(out) == 2.0 * len(out[::512]) and out.shape == (n,)
    growth = peak_growth(start)
    del sr, out
    return moved - own, round_trip, growth


def sweep(script: Path, **options: object) -> tuple[float, int, float, int]:
    n = SWEEP_MIB * MIB // 8
    fills = [float(i) for i in range(SWEEP_POINTS)]
    start = reset_peak()
    t = time.perf_counter()
    sr = sensitivity(
        script,
        {"fill": fills},
        nominal={"n": n},
        workers=2,
        progress=False,
        **options,  # type: ignore[arg-type]
    )
    wall = time.perf_counter() - t
    growth = peak_growth(start)
    t = time.perf_counter()
    for fill in fills:
        out = sr[{"fill": fill}]["a"]
        assert out.shape == (n,) and touch(out) == fill * len(out[::512]), fill
    check = time.perf_counter() - t
    assert len(sr) == SWEEP_POINTS and not sr.errors
    growth_all = peak_growth(start)
    del sr, out
    gc.collect()
    return wall, growth, check, growth_all


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="py3r-bench-outputs-"))
    script = tmp / "big.py"
    script.write_text(SCRIPT)
    met = True
    print("output   overhead of run()   pickle round trip   ratio   caller's peak growth (x output)")
    for mib in SIZES_MIB:
        overhead, round_trip, growth = one_output(script, mib)
        ratio = overhead / round_trip
        times = growth / (mib * MIB)
        mark = ""
        if mib == 200:
            ok = ratio <= TARGET_RATIO and times <= TARGET_PEAK
            met &= ok
            mark = f"   targets <= {TARGET_RATIO}x, <= {TARGET_PEAK}x: {'met' if ok else 'MISSED'}"
        print(
            f"{mib:4d} MiB   {overhead * 1e3:9.1f} ms        {round_trip * 1e3:9.1f} ms       "
            f"{ratio:5.2f}   {growth / MIB:7.1f} MiB ({times:.2f}x){mark}"
        )

    total = SWEEP_POINTS * SWEEP_MIB * MIB
    print(
        f"\nsweep of {SWEEP_POINTS} points x {SWEEP_MIB} MiB ({total / 2**30:.1f} GiB of outputs), workers=2:"
    )
    modes: list[tuple[str, dict[str, object]]] = [("default", {})]
    if "max_memory" in inspect.signature(sensitivity).parameters:
        modes = [("spilling (max_memory default, 1 GiB)", {}), ("max_memory=None (all in memory)", {})]
        modes[1][1]["max_memory"] = None
    for label, options in modes:
        wall, growth, check, growth_all = sweep(script, **options)
        line = (
            f"  {label}: {wall:.1f} s, caller's peak growth {growth / 2**30:.2f} GiB; reading every "
            f"output back (one value per page): {check:.1f} s, peak growth over both "
            f"{growth_all / 2**30:.2f} GiB"
        )
        if "spilling" in label:
            ok = growth_all < TARGET_SWEEP_PEAK
            met &= ok
            line += f" (target < {TARGET_SWEEP_PEAK / 2**30:.1f} GiB: {'met' if ok else 'MISSED'})"
        print(line)
    print("all targets met" if met else "some targets missed")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
