"""Points a cancelled sweep never ran are no failures: not in plots, counts, the CLI or the magics.

One real sweep of ``fail_then_hang.py`` (i = 0 ok, 1 fails, 2 hangs, 3 waits its turn), cancelled
once i = 2 has started: two points ran (one of them failed), two did not run to the end.
``sr.failures`` and ``sr.errors`` keep the cancelled ones, as the reference's ``errors`` do.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import signal
import subprocess
import sys
import threading
import warnings

import matplotlib
import pytest

from helpers import ROOT, SCRIPTS, wait_for
from py3r.behaviour.script import CancelToken, SweepInterruptedWarning, sensitivity

matplotlib.use("Agg")

SCRIPT = SCRIPTS / "fail_then_hang.py"


def _cancel_when_started(marker, token: CancelToken) -> threading.Thread:
    def cancel() -> None:
        wait_for(marker.exists, timeout=60, what=f"{marker.name} to appear")
        token.cancel()

    t = threading.Thread(target=cancel)
    t.start()
    return t


@pytest.fixture(scope="module")
def cancelled(tmp_path_factory):
    """The results of the cancelled sweep, its warnings, and what its progress bar printed."""
    markers = tmp_path_factory.mktemp("markers")
    token = CancelToken()
    t = _cancel_when_started(markers / "started-2", token)
    bar = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(bar):
        warnings.simplefilter("always")
        sr = sensitivity(
            SCRIPT, {"i": [1, 2, 3]}, nominal={"marker_dir": str(markers)}, cancel=token, workers=1
        )
    t.join()
    return sr, caught, bar.getvalue()


def test_the_sweep_was_cancelled_as_planned(cancelled):
    sr, _, _ = cancelled
    assert sr.interrupted
    assert [(it.params["i"], it.status) for it in sr.iterations] == [
        (0, "ok"),
        (1, "failed"),
        (2, "cancelled"),
        (3, "cancelled"),
    ]


def test_the_reprs_count_cancelled_points_apart(cancelled):
    sr, _, _ = cancelled
    assert "4 iterations (1 ok, 1 failed, 2 cancelled)" in repr(sr)
    page = html.unescape(sr._repr_html_())
    assert "4 iterations, 1 ok, 1 failed, 2 cancelled" in page
    # Failed rows in red, cancelled ones in grey: they are no failures.
    cells = re.findall(r"<td style='color:(#\w+)' title='[^']*'>(\w+)</td>", page)
    assert cells == [("#b00", "failed"), ("#888", "cancelled"), ("#888", "cancelled")]
    failures = page.split("<summary>Failures</summary>")[1]
    assert "i=1 fails on purpose" in failures and "cancelled" not in failures  # the failed one alone


def test_failures_and_errors_keep_cancelled_points_as_the_reference_does(cancelled):
    sr, _, _ = cancelled
    assert [it.status for it in sr.failures] == ["failed", "cancelled", "cancelled"]
    assert [params["i"] for params, _ in sr.errors] == [1, 2, 3]
    assert "cancelled while it ran" in sr.errors[1][1] and "cancelled before it started" in sr.errors[2][1]


def test_a_cancelled_point_says_it_was_cancelled_not_that_it_failed(cancelled):
    sr, _, _ = cancelled
    with pytest.raises(KeyError, match=r"'y' was not captured for \{'i': 3\}: the iteration was cancelled\."):
        sr[{"i": 3}]["y"]
    with pytest.raises(KeyError, match=r"'y' was not captured for \{'i': 1\}: the iteration failed\."):
        sr[{"i": 1}]["y"]


def test_the_warning_and_the_progress_bar_count_what_ran(cancelled):
    _, caught, bar = cancelled
    (interrupted,) = [str(w.message) for w in caught if w.category is SweepInterruptedWarning]
    assert interrupted.startswith("Interrupted: 2 of 4 iterations of ")
    assert interrupted.endswith(
        "fail_then_hang.py ran and are kept (1 failed); "
        "the other 2 did not run to the end and are marked cancelled, not failed."
    )
    last = bar.replace("\r", "\n").strip().splitlines()[-1]
    assert "2/4" in last and "failed=1" in last, bar  # i = 2, stopped while it ran, is not counted


def test_lines_cross_the_failed_point_only(cancelled):
    sr, _, _ = cancelled
    fig = sr.plot(["y"])
    (ax,) = fig.axes
    crosses = [c.get_offsets()[:, 0].tolist() for c in ax.collections if c.get_label() == "failed"]
    assert crosses == [[1.0]]  # i = 1 failed; i = 2 and 3 never ran: no cross
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["nominal", "failed"]


def test_the_command_line_does_not_count_cancelled_points_as_failed(tmp_path):
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "py3r.behaviour.script", "sweep", SCRIPT, "-p", "i=1,2,3"),
            *("--nominal", f"marker_dir={tmp_path}", "--workers", "1", "--no-progress"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_for((tmp_path / "started-2").exists, timeout=60, what="the hanging iteration to start")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, err
    assert [line.split() for line in out.splitlines()[:2]] == [["i", "y", "z"], ["0", "0.0", "0.0"]]
    assert "1 of 4 iterations failed; 2 were cancelled:" in err
    assert "{'i': 1}: The script raised ValueError: i=1 fails on purpose" in err
    assert "{'i': 3}: The iteration was cancelled before it started." in err


def test_the_magics_count_cancelled_points_apart(tmp_path):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "py3r.behaviour.script")

    def press_ctrl_c_when_started() -> None:  # as a person does while the cell runs
        wait_for((tmp_path / "started-2").exists, timeout=60, what="the hanging iteration to start")
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=press_ctrl_c_when_started)
    t.start()
    cell = f"i = [1, 2, 3]\nmarker_dir = {str(tmp_path)!r}\n"
    try:
        with capture_output() as shown, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ip.run_cell_magic("sweep", f"{SCRIPT} --workers 1 -o cancelled_sr", cell)
    finally:
        t.join()
        ip.run_line_magic("unload_ext", "py3r.behaviour.script")
    sr = ip.user_ns.pop("cancelled_sr")
    assert sr.interrupted and [it.status for it in sr.iterations].count("cancelled") == 2
    table, figure = shown.outputs
    assert "1 ok, 1 failed, 2 cancelled" in table.data["text/html"]
    assert "(1 ok, 1 failed, 2 cancelled)" in table.data["text/plain"]
    assert "Figure" in figure.data["text/plain"]
    messages = [str(w.message) for w in caught]
    assert any("ran and are kept (1 failed); the other 2 did not run to the end" in m for m in messages)


# Results of cancelled sweeps, made point by point as the runner adds them -------------------------
def _results(params, mode, rows):
    """ScriptResults of ``rows``: (values, status, y) each, in plan order."""
    from py3r.behaviour.script import Failure, Iteration, ScriptResults

    sr = ScriptResults(params, ["y"], mode=mode)
    for index, (values, status, y) in enumerate(rows):
        kind = "exception" if status == "failed" else "cancelled"
        failure = None if status == "ok" else Failure(kind, "why")
        outputs = {"y": y} if status == "ok" else {}
        sr.add(Iteration(index, dict(values), outputs=outputs, status=status, failure=failure))
    return sr


def test_small_multiples_cross_the_failed_point_only():
    rows = []
    for c in (True, False):
        for b in ("u", "v"):
            for a in (1, 2, 3):
                status = "failed" if (a, b, c) == (2, "u", True) else "cancelled" if not c else "ok"
                rows.append(({"a": a, "b": b, "c": c}, status, float(a)))
    fig = _results(["a", "b", "c"], "grid", rows).plot(["y"])
    crosses = {
        ax.get_title(): [c.get_offsets()[:, 0].tolist() for c in ax.collections if c.get_label() == "failed"]
        for ax in fig.axes
    }
    assert crosses == {"c=True": [[2.0]], "c=False": []}  # the six cancelled points of c=False: none


def test_the_scatter_of_a_design_counts_failed_and_not_run_points_apart():
    rows = [({"x": x / 10}, "ok", x / 10) for x in range(5)]
    rows += [({"x": 0.5}, "failed", None), ({"x": 0.6}, "cancelled", None), ({"x": 0.7}, "cancelled", None)]
    fig = _results(["x"], "lhs", rows).plot(kind="scatter")
    assert fig.get_suptitle().startswith("5 points (1 failed, 2 not run, not shown)")
    only_cancelled = _results(["x"], "lhs", [r for r in rows if r[1] != "failed"]).plot(kind="scatter")
    assert only_cancelled.get_suptitle().startswith("5 points (2 not run, not shown)")


def test_a_specification_curve_counts_failed_and_not_run_specifications_apart():
    rows = [
        ({"m": m, "k": k}, "failed" if (m, k) == ("b", 1) else "cancelled" if m == "c" else "ok", k - 0.5)
        for m in ("a", "b", "c")
        for k in (1, 2)
    ]
    sr = _results(["m", "k"], "grid", rows)
    table = sr.specifications("y")
    assert len(table) == 3 and (table.attrs["failed"], table.attrs["not_run"]) == (1, 2)
    title = sr.plot(kind="specification", output="y").get_suptitle()
    assert "; 1 failed, not shown; 2 not run (cancelled), not shown" in title
