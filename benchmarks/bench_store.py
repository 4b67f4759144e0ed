"""Run-store benchmark: cache-hit latency and the store's overhead per iteration.

Run: ``python benchmarks/bench_store.py``. Targets (from the run-store issue): a cache-hit ``run()``
in <= 5 ms; the store's overhead per iteration on a 200-point sweep is reported.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from py3r.behaviour.script import run, sensitivity

SCRIPT = """\
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
Output(i * 2, name="y")
Output({"i": i, "data": list(range(100))}, name="blob")
"""


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="py3r-bench-store-"))
    script = tmp / "s.py"
    script.write_text(SCRIPT)
    example = Path(__file__).resolve().parents[1] / "examples" / "open_field" / "pipeline.py"
    store = tmp / "store"

    run(example, {"threshold": 3.0}, cache=store)  # fill
    hits = []
    for _ in range(50):
        t = time.perf_counter()
        sr = run(example, {"threshold": 3.0}, cache=store)
        hits.append(time.perf_counter() - t)
        assert sr.iterations[0].cached
    hit = statistics.median(hits)
    print(f"cache-hit run() of the example pipeline (median of 50): {hit * 1e3:.2f} ms  (target <= 5 ms)")

    values = list(range(1, 200))  # + the default: 200 points
    run(script)  # warm worker
    t = time.perf_counter()
    sensitivity(script, {"i": values}, progress=False)
    plain = time.perf_counter() - t
    t = time.perf_counter()
    sensitivity(script, {"i": values}, progress=False, cache=tmp / "store2")
    stored = time.perf_counter() - t
    t = time.perf_counter()
    served = sensitivity(script, {"i": values}, progress=False, cache=tmp / "store2")
    replay = time.perf_counter() - t
    assert all(it.cached for it in served.iterations)
    n = len(values) + 1
    print(f"200-point sweep without a store:      {plain:.2f} s ({plain / n * 1e3:.1f} ms/iteration)")
    print(f"200-point sweep writing a store:      {stored:.2f} s ({stored / n * 1e3:.1f} ms/iteration)")
    print(f"store overhead per iteration:         {(stored - plain) / n * 1e3:.2f} ms")
    print(f"200-point sweep served from the store: {replay:.3f} s ({replay / n * 1e3:.2f} ms/iteration)")
    return 0 if hit <= 0.005 else 1


if __name__ == "__main__":
    raise SystemExit(main())
