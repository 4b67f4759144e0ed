"""Dask benchmark: per-iteration overhead on a LocalCluster against the local warm engine.

Run: ``python benchmarks/bench_dask.py``. Both sweep the same trivial script (so the time is all
overhead), measured in this one run on this machine.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from py3r.behaviour.script import run, sensitivity

SCRIPT = """\
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
Output(i * 2, name="y")
"""


def per_iteration(script: Path, n: int, **kw: object) -> float:
    t = time.perf_counter()
    sr = sensitivity(script, {"i": list(range(1, n))}, progress=False, **kw)  # type: ignore[arg-type]
    assert not sr.errors and len(sr) == n
    return (time.perf_counter() - t) / n


def main() -> int:
    from distributed import Client, LocalCluster

    script = Path(tempfile.mkdtemp(prefix="py3r-bench-dask-")) / "s.py"
    script.write_text(SCRIPT)
    n = 60
    run(script)
    local1 = per_iteration(script, n)
    local2 = per_iteration(script, n, workers=2)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        per_iteration(script, 4, executor=client)  # warm workers on both Dask workers
        dask = per_iteration(script, n, executor=client)
    print(f"local warm engine, workers=1:     {local1 * 1e3:6.1f} ms/iteration")
    print(f"local warm engine, workers=2:     {local2 * 1e3:6.1f} ms/iteration")
    print(f"LocalCluster, 2 workers:          {dask * 1e3:6.1f} ms/iteration")
    print(f"Dask overhead over local (2 vs 2): {(dask - local2) * 1e3:6.1f} ms/iteration")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
