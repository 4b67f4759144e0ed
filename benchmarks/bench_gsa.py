"""Global sensitivity benchmark: how fast a Sobol' design of a trivial script runs, and where the time goes.

Run: ``python benchmarks/bench_gsa.py [N]``. A Sobol' design of ``N`` base samples (default 256) over
three parameters is ``N * 5`` runs, each in a fresh process (the warm fork engine). The script
does almost nothing, so the time is the library's: sampling the design (SALib), running each point
in its own process, and the analysis (SALib). The script times itself from its first statement to
its last ``Output``; the rest of the wall time, with ``workers`` processes at once, is spent outside
it. Figures are measured in this one run on this machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from py3r.behaviour.script import execute_plan, plan_design, read_script, run

SCRIPT = """\
import time
started = time.perf_counter()

import math

from py3r.behaviour.script import Output, Param

x1 = Param(0.0, name="x1", low=-math.pi, high=math.pi)
x2 = Param(0.0, name="x2", low=-math.pi, high=math.pi)
x3 = Param(0.0, name="x3", low=-math.pi, high=math.pi)
Output(math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1), name="y")
Output(time.perf_counter() - started, name="script_s")
"""


def measure(script: Path, n: int, workers: int) -> dict[str, float]:
    spec = read_script(script)
    t0 = time.perf_counter()
    plan = plan_design(spec, None, mode="sobol", n=n, seed=1, outputs=["y", "script_s"])
    t1 = time.perf_counter()
    sr = execute_plan(plan, workers=workers)
    t2 = time.perf_counter()
    sr.indices("y")
    t3 = time.perf_counter()
    assert not sr.errors and len(sr) == len(plan.points)
    inside = sum(it.outputs["script_s"] for it in sr.iterations)
    total = t3 - t0
    return {
        "runs": len(plan.design.sample),
        "plan": t1 - t0,
        "execute": t2 - t1,
        "analyse": t3 - t2,
        "total": total,
        "per_s": len(plan.design.sample) / total,
        "outside": 1 - inside / workers / total,
    }


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    script = Path(tempfile.mkdtemp(prefix="py3r-bench-gsa-")) / "ishigami.py"
    script.write_text(SCRIPT)
    run(script)  # start the warm worker and import SALib once, outside the measurements
    measure(script, 8, 1)
    for workers in (1, 2):
        m = measure(script, n, workers)
        print(
            f"Sobol' n={n}, D=3, {m['runs']:.0f} runs, workers={workers}: {m['per_s']:6.0f} evaluations/s "
            f"({m['total']:.2f} s: sample {m['plan'] * 1e3:.0f} ms, run {m['execute']:.2f} s, "
            f"analyse {m['analyse'] * 1e3:.0f} ms); {m['outside']:.1%} of the time outside the script"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
