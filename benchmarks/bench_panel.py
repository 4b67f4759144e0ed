"""Panel benchmark: live latency of the sweep panel, and a sweep from the panel against the same from code.

Run: ``python benchmarks/bench_panel.py``. Every figure is measured in this one run, on this machine,
kernel side: real ipywidgets widgets in this process (no browser), the panel's own threads and the
warm engine. A latency is the time from setting a control's value (what a slider move does) to the
output widget's value being set, read by an observer of that widget.

Targets (from the panel issue): a new value's outputs show within 50 ms beyond ``run()`` itself; a
value seen before within 20 ms, served from the run store (no process started); a 156-point grid
sweep of the example from the panel takes at most 1.3x the same sweep from ``sensitivity()``, and
so does a Sobol' design (its indices and plot are drawn after its last point, by another thread).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import ipywidgets as w

from py3r.behaviour.script import panel, run, sensitivity

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "open_field" / "pipeline.py"
#: The issue's sweep: 13 x 12 = 156 points of the example, a grid.
GRID = {
    "smooth_window": [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 25, 31],
    "threshold": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0],
}
TARGET_NEW = 0.050
TARGET_SEEN = 0.020
TARGET_RATIO = 1.3


def widgets() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return len(w.Widget.widgets)


def main() -> int:
    store = Path(tempfile.mkdtemp(prefix="py3r-bench-panel-")) / "store"
    workers = os.cpu_count() or 1
    run(EXAMPLE)  # the warm worker, as a notebook would have it after its first run

    # Live latency ---------------------------------------------------------------------------------
    p = panel(EXAMPLE, cache=store)
    assert p.wait(120)
    shown: list[float] = []
    p.live_output.children[0].observe(lambda ch: shown.append(time.perf_counter()), "value")

    def move(value: float) -> float:
        shown.clear()
        start = time.perf_counter()
        p.controls["threshold"].value = value
        assert p.wait(120)
        return shown[0] - start

    values = [0.5 * k for k in range(5, 26)]  # 2.5 .. 12.5: 21 new values
    new, code = [], []
    for value in values:
        start = time.perf_counter()
        run(EXAMPLE, {"threshold": value + 0.25})  # the same work from code, interleaved
        code.append(time.perf_counter() - start)
        new.append(move(value))
    before = widgets()
    seen = [move(value) for value in values]
    hits = p.last_run.iterations[0].cached and "from the store" in p.status.value
    grew = widgets() - before
    extra = statistics.median(new) - statistics.median(code)
    print(f"live rerun, new value (median of {len(new)}):        {statistics.median(new) * 1e3:6.1f} ms")
    print(f"run() of the same, from code (median of {len(code)}):  {statistics.median(code) * 1e3:6.1f} ms")
    print(f"  beyond run() itself:                          {extra * 1e3:+6.1f} ms (target <= 50 ms)")
    print(
        f"live rerun, value seen before (median of {len(seen)}): {statistics.median(seen) * 1e3:6.1f} ms "
        f"(target <= 20 ms; served from the store: {hits}); slowest {max(seen) * 1e3:.1f} ms"
    )
    print(f"widgets made by {len(seen)} reruns: {grew}")

    # A sweep from the panel against the same from code --------------------------------------------
    p2 = panel(EXAMPLE, cache=None)
    assert p2.wait(120)
    code_s, done_s, drawn_s = [], [], []
    for _ in range(2):  # interleaved: the machine's load changes from second to second
        start = time.perf_counter()
        sensitivity(EXAMPLE, GRID, mode="grid", workers=workers, progress=False)
        code_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        p2.sweep(GRID, mode="grid", workers=workers)
        assert p2.wait(600)
        drawn_s.append(time.perf_counter() - start)
        done_s.append(p2.sweep_tab.elapsed)
    points = len(p2.results)
    ratio = min(drawn_s) / min(code_s)
    print(f"{points}-point grid sweep, workers={workers}, best of 2:")
    print(f"  sensitivity():                            {min(code_s):6.2f} s")
    print(f"  panel, Start to its last point:           {min(done_s):6.2f} s")
    print(f"  panel, Start to the last plot and table:  {min(drawn_s):6.2f} s")
    print(f"  panel / code:                             {ratio:6.2f}x (target <= {TARGET_RATIO}x)")
    print(f"  last redraw of the plot and table took    {p2.sweep_tab.redraw.cost:6.2f} s")

    # A sampled design from the panel against the same from code -----------------------------------
    knobs, design = ["threshold", "smooth_window"], {"mode": "sobol", "n": 64, "seed": 1}
    code_d, done_d, drawn_d = [], [], []
    for _ in range(2):
        start = time.perf_counter()
        sr = sensitivity(EXAMPLE, knobs, **design, workers=workers, progress=False)
        code_d.append(time.perf_counter() - start)
        sr.indices()
        start = time.perf_counter()
        p2.sweep(knobs, workers=workers, **design)
        assert p2.wait(600) and p2.indices is not None
        drawn_d.append(time.perf_counter() - start)
        done_d.append(p2.sweep_tab.elapsed)
    rows = len(p2.results.design.sample)
    design_ratio = min(done_d) / min(code_d)
    print(f"Sobol' design of {rows} rows ({len(p2.results)} distinct points), workers={workers}, best of 2:")
    print(f"  sensitivity():                            {min(code_d):6.2f} s")
    print(f"  panel, Start to its last point:           {min(done_d):6.2f} s")
    print(f"  panel, Start to the indices and plot:     {min(drawn_d):6.2f} s")
    print(f"  panel / code (to the last point):         {design_ratio:6.2f}x (target <= {TARGET_RATIO}x)")
    closed_before = widgets()
    p.close()
    p2.close()
    print(f"widgets closed by close(): {closed_before - widgets()}")
    ok = extra <= TARGET_NEW and statistics.median(seen) <= TARGET_SEEN and hits and ratio <= TARGET_RATIO
    ok = ok and design_ratio <= TARGET_RATIO
    return 0 if ok and grew == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
