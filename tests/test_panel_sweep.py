"""The panel's Sweep tab, headless: real widgets, real sweeps in background threads."""

from __future__ import annotations

import html
import time

import ipywidgets as w
import pytest

from helpers import EXAMPLE, wait_for
from py3r.behaviour.script import UsageError, sensitivity

SCRIPT = """\
import pathlib, time
from py3r.behaviour.script import Output, Param
n = Param(3, name="n", low=0, high=20)  # how many
scale = Param(0.5, name="scale")
word = Param("a", name="word", choices=["a", "b, c"])
req = Param(name="req")
marker_dir = Param("", name="marker_dir")
if n == 7:
    raise ValueError("seven is not allowed")
if n == 9 and marker_dir:
    (pathlib.Path(marker_dir) / "slow-started").write_text("x")
    while True:
        time.sleep(0.05)
Output(n * scale, name="value")
Output(f"{word}-{req}", name="text")
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "s.py"
    path.write_text(SCRIPT)
    return path


def test_sweep_runs_with_progress_table_and_plot(script, make_panel):
    p = make_panel(script)
    p.controls["req"].value = "x"
    assert p.wait(60)
    assert p.sweep_plot.layout.display == "none"  # no plot yet: nothing shown, no broken image
    check, text = p.sweep_rows["scale"]
    text.value = "0:1:3"
    assert check.value  # typing values ticks the parameter
    p.sweep_rows["n"][1].value = "1, 2"
    p.mode.value = "grid"
    p.start_button.click()
    assert p.wait(60)
    assert p.progress.value == p.progress.max == 3 * 3 and p.progress.bar_style == "success"
    assert len(p.results) == 9 and p.results.mode == "grid"
    assert p.results[{"n": 2, "scale": 1.0}]["value"] == 2.0
    assert "py3r-table" in p.sweep_table.value and p.sweep_plot.value[:4] == b"\x89PNG"
    assert p.sweep_plot.layout.display == ""
    assert "None" not in p.sweep_table.value  # the error column is blank where a point ran
    assert "Done: 9 points, 0 failed." in p.sweep_status.value


def test_the_mode_selector_is_built_from_the_modes(script, make_panel):
    from py3r.behaviour.script.frontends.panel.sweep import MODES

    p = make_panel(script, cache=None)
    assert list(p.mode.options) == MODES == ["independent", "grid", "random", "lhs", "sobol", "morris"]
    assert p.workers.value == -1  # one iteration per core, as the command line and %%sweep


def test_ticking_fills_the_declared_range(script, make_panel):
    p = make_panel(script, cache=None)
    check, text = p.sweep_rows["n"]
    check.value = True
    assert text.value == "0:20:11"  # low to high on the step grid, at most 11 values
    assert p.sweep_tab.values_of("n", text.value) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    p.sweep_rows["word"][0].value = True
    assert p.sweep_rows["word"][1].value == "a, b, c"  # the choices
    p.sweep_rows["scale"][0].value = True
    assert p.sweep_rows["scale"][1].value == "0.0:1.0:5"  # no range declared: around the default
    assert p.sweep_tab.values_of("scale", "0.1:0.3:3") == [0.1, 0.2, 0.3]  # not 0.30000000000000004


def test_sweep_bad_input_shown_in_place(script, make_panel):
    p = make_panel(script)
    p.start_button.click()
    assert "Tick at least one parameter" in p.sweep_status.value
    p.sweep_rows["n"][1].value = "1, two"
    p.start_button.click()
    assert "'two' is not a whole number" in html.unescape(p.sweep_status.value)
    p.sweep_rows["n"][1].value = "1, 30"
    p.start_button.click()
    assert "must be within [0, 20]; got the int 30" in html.unescape(p.sweep_status.value)
    p.sweep_rows["n"][1].value = "1:4"
    p.start_button.click()
    assert "Write a range for 'n' as start:stop:count" in html.unescape(p.sweep_status.value)


def test_sweep_is_the_twin_of_the_tab(script, make_panel):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    assert p.wait(60)
    p.sweep({"word": ["a", "b, c"], "n": "1:2:2"}, mode="grid", workers=1, timeout=30)
    assert p.sweep_rows["word"][0].value and p.sweep_rows["word"][1].value == "a, b, c"
    assert p.sweep_rows["n"][1].value == "1:2:2" and not p.sweep_rows["scale"][0].value
    assert (p.mode.value, p.workers.value, p.timeout.value) == ("grid", 1, 30)
    assert p.wait(60)
    # The values as given (a comma inside a value survives), each with the default added.
    assert sorted(it.params["word"] for it in p.results.iterations) == ["a", "a", "a", "b, c", "b, c", "b, c"]
    assert p.results[{"word": "b, c", "n": 2}]["text"] == "b, c-x"
    p.sweep(["n"], workers=1)  # a name alone: the declared range
    assert p.wait(60)
    assert p.sweep_rows["n"][1].value == "0:20:11" and not p.sweep_rows["word"][0].value
    assert len(p.results) == 12 and "Done: 12 points, 0 failed." in p.sweep_status.value  # + default 3
    with pytest.raises(UsageError, match="Parameter 'nn' not found in script"):
        p.sweep({"nn": [1]})
    with pytest.raises(UsageError, match=r"Give values for 'req': .* declares no range"):
        p.sweep(["req"])
    with pytest.raises(UsageError, match="The panel sweeps in mode 'independent', 'grid', 'random', 'lhs'"):
        p.sweep(["n"], mode="anova")
    with pytest.raises(ValueError, match="must be within"):
        p.sweep({"n": [99]})
    assert "must be within" in html.unescape(p.sweep_status.value)
    with pytest.raises(TypeError, match=r"sweep\(\) takes workers=, timeout=, n=, .*; got size"):
        p.sweep(["n"], size=5)
    with pytest.raises(UsageError, match="n= is an option of the sampled modes"):
        p.sweep(["n"], n=5)


def test_cancel_leaves_out_the_points_that_never_ran(script, make_panel, tmp_path):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    p.controls["marker_dir"].value = str(tmp_path)
    assert p.wait(60)
    values = [1, 2, 9, *range(10, 20)]  # 9 hangs: the points after it never run
    p.sweep({"n": values}, workers=1)
    wait_for(lambda: (tmp_path / "slow-started").exists(), timeout=60, what="the slow point to start")
    p.cancel_button.click()
    assert p.wait(60)
    statuses = {it.params["n"]: it.status for it in p.results.iterations}
    assert statuses[1] == statuses[2] == statuses[3] == "ok" and statuses[9] == "cancelled"
    assert statuses[19] == "cancelled" and p.results.interrupted
    ran = sum(s != "cancelled" for s in statuses.values())
    assert ran == 3 and p.progress.value == ran and p.progress.description == f"3 / {len(values) + 1}"
    status = p.sweep_status.value
    assert f"Cancelled: 3 of {len(values) + 1} points ran (0 failed); 11 did not run" in status
    table = html.unescape(p.sweep_table.value)
    assert table.count("<tr>") == 1 + 3 and "cancelled" not in table and "3 points ran, 0 failed" in table
    assert p.progress.bar_style == "warning"
    # The plot shows only what ran: no crosses of failure for the points that never started.
    ax = p.sweep_tab.figure.axes[0]
    assert not [c for c in ax.collections if c.get_label() == "failed"]


def test_a_sweep_ends_before_start_is_enabled_again(script, make_panel):
    """A Start pressed as a sweep ends finds its end drawn: the old end never overwrites the new sweep."""
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    assert p.wait(60)
    tab, seen = p.sweep_tab, []
    finished = tab._finished

    def spy(results, total):
        seen.append(tab.start_button.disabled)
        with pytest.raises(UsageError, match="A sweep is running"):
            tab.check_idle()
        finished(results, total)

    tab._finished = spy
    p.sweep({"n": [1, 2]}, workers=1)
    assert p.wait(60)
    assert seen == [True] and not tab.start_button.disabled and "Done: 3 points" in p.sweep_status.value


def test_a_sweep_refused_while_one_runs_leaves_the_controls(script, make_panel, tmp_path):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    p.controls["marker_dir"].value = str(tmp_path)
    assert p.wait(60)
    p.sweep({"n": [1, 9]}, workers=1)
    wait_for(lambda: (tmp_path / "slow-started").exists(), timeout=60, what="the slow point to start")
    with pytest.raises(UsageError, match="A sweep is running"):
        p.sweep({"scale": [0.1, 0.2]}, mode="grid")
    assert "A sweep is running" in p.sweep_status.value
    assert p.sweep_rows["n"][1].value == "1, 9" and not p.sweep_rows["scale"][0].value
    assert p.mode.value == "independent"
    p.cancel_button.click()
    assert p.wait(60)


def test_the_table_shows_every_row_in_a_scrolling_box(script, make_panel):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    assert p.wait(60)
    p.sweep({"scale": [i / 10 for i in range(80)]}, workers=2)
    assert p.wait(120)
    table = p.sweep_table.value
    assert "py3r-scroll" in table and table.count("<tr>") == 1 + 80  # 80 values, the default among them
    assert "<td class='num'>0.1</td>" in table


def test_export_writes_the_table_and_the_plot(script, make_panel, tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    p = make_panel(script, cache=None)
    p.sweep_tab.export_button.click()
    assert "Nothing to export yet" in p.sweep_tab.export_status.value
    p.controls["req"].value = "x"
    p.sweep({"n": [1, 7]}, workers=1)
    assert p.wait(60)
    p.sweep_tab.export_button.click()
    csv, png, svg = sorted(tmp_path.glob("s-sweep-*"))
    assert png.read_bytes()[:4] == b"\x89PNG" and b"<svg" in svg.read_bytes()[:400]
    table = pd.read_csv(csv)
    assert table["n"].tolist() == [1, 3, 7] and table["status"].tolist() == ["ok", "ok", "failed"]
    assert table["value"].tolist()[:2] == [0.5, 1.5]


def test_a_sweep_from_the_panel_is_as_fast_as_from_code(make_panel):
    """At most 1.3 times the same sweep from sensitivity(): drawing never holds the sweep back.

    The sweep's own time is compared (its last point in): the final redraw of the plot and the
    table after it is the panel's to show, and benchmarks/bench_panel.py reports it too.
    """
    params = {
        "smooth_window": [1, 3, 5, 7, 9, 11, 13, 15, 17, 21, 25, 31],
        "threshold": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0],
    }  # 144 points
    p = make_panel(EXAMPLE, cache=None)
    assert p.wait(60)
    code, done, drawn = [], [], []
    for _ in range(3):  # each side three times, interleaved: the machine's load changes from second to second
        start = time.perf_counter()
        sensitivity(EXAMPLE, params, mode="grid", workers=2, progress=False)
        code.append(time.perf_counter() - start)
        start = time.perf_counter()
        p.sweep(params, mode="grid", workers=2)
        assert p.wait(300)
        drawn.append(time.perf_counter() - start)
        done.append(p.sweep_tab.elapsed)
        assert len(p.results) == 144 and "Done: 144 points, 0 failed." in p.sweep_status.value
    print(f"code {min(code):.2f} s; panel {min(done):.2f} s to the last point, {min(drawn):.2f} s drawn")
    assert min(done) <= 1.3 * min(code), (code, done, drawn)
    assert isinstance(p.sweep_plot, w.Image) and p.sweep_plot.value[:4] == b"\x89PNG"
