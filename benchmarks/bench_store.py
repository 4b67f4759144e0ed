"""Run-store benchmark: cache-hit latency and the store's overhead per iteration.

Run: ``python benchmarks/bench_store.py``. Every figure is measured in this one run, on this machine.
Targets (from the run-store issue): a cache-hit ``run()`` in <= 5 ms; the store's overhead per
iteration on a 200-point sweep is reported (the time to key, pickle, sign, fsync, rename and index
each iteration, measured against the same sweep without a store).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from py3r.behaviour.script import read_script, run, sensitivity

SCRIPT = """\
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
Output(i * 2, name="y")
Output({"i": i, "data": list(range(100))}, name="blob")
"""
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "open_field" / "pipeline.py"
TARGET_HIT = 0.005


def median_time(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="py3r-bench-store-"))
    script = tmp / "s.py"
    script.write_text(SCRIPT)
    store = tmp / "store"

    # Cache hits: everything a hit does (read the script, plan, hash the key, look up, check the
    # signature, unpickle the outputs: the example's include a 7500-row DataFrame).
    run(EXAMPLE, {"threshold": 3.0}, cache=store)
    assert run(EXAMPLE, {"threshold": 3.0}, cache=store).iterations[0].cached
    hit_example = median_time(lambda: run(EXAMPLE, {"threshold": 3.0}, cache=store), 100)
    parse = median_time(lambda: read_script(EXAMPLE), 100)
    run(script, {"i": 1}, cache=store)
    hit_small = median_time(lambda: run(script, {"i": 1}, cache=store), 100)
    print(
        f"cache-hit run() of the example pipeline (median of 100): {hit_example * 1e3:.2f} ms "
        f"(target <= {TARGET_HIT * 1e3:.0f} ms); parsing the script, skipped while it is unchanged, "
        f"would add {parse * 1e3:.2f} ms"
    )
    print(f"cache-hit run() of a 4-line script (median of 100):      {hit_small * 1e3:.2f} ms")

    # A 200-point sweep on the warm engine, without and with a store (best of 3 each).
    values = list(range(1, 200))  # + the default: 200 points
    n = len(values) + 1
    run(script)  # start the warm worker
    plain, stored, replay = [], [], []
    for k in range(3):
        t = time.perf_counter()
        sensitivity(script, {"i": values}, progress=False)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        sensitivity(script, {"i": values}, progress=False, cache=tmp / f"sweep{k}")
        stored.append(time.perf_counter() - t)
        t = time.perf_counter()
        served = sensitivity(script, {"i": values}, progress=False, cache=tmp / f"sweep{k}")
        replay.append(time.perf_counter() - t)
        assert all(it.cached for it in served.iterations)
    p, s, r = min(plain), min(stored), min(replay)
    print(f"200-point sweep without a store:       {p:.2f} s ({p / n * 1e3:.2f} ms/iteration)")
    print(f"200-point sweep writing a store:       {s:.2f} s ({s / n * 1e3:.2f} ms/iteration)")
    print(f"store overhead per iteration:          {(s - p) / n * 1e3:.2f} ms")
    print(f"200-point sweep served from the store: {r:.3f} s ({r / n * 1e3:.2f} ms/iteration)")
    return 0 if hit_example <= TARGET_HIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
