"""The Sweep tab's sampled designs, headless: real widgets, real designs run in background threads."""

from __future__ import annotations

import functools
import html

import pandas as pd
import pytest

from helpers import SCRIPTS, wait_for
from py3r.behaviour.script import UsageError, sensitivity

LINEAR = SCRIPTS / "linear.py"  # y = 10a + b + 0c on the unit cube
KNOBS = SCRIPTS / "knobs.py"

SCRIPT = """\
from py3r.behaviour.script import Output, Param
n = Param(3, name="n", low=0, high=20)  # how many
scale = Param(0.5, name="scale")
word = Param("a", name="word", choices=["a", "b, c"])
flag = Param(True, name="flag")
label = Param("x", name="label")
Output(n * scale + flag, name="value")
"""

#: The columns of the indices table, after output and param, by mode.
MEASURES = {
    "random": ["S1", "S1_conf"],
    "lhs": ["S1", "S1_conf"],
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "sigma", "mu"],
}
#: A small design of each mode over two parameters: (n, distinct rows at most).
SIZES = {"random": (20, 20), "lhs": (20, 20), "sobol": (8, 32), "morris": (4, 12)}


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "s.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture
def make_panel(make_panel):
    """Panels that keep no run store: every design here runs."""
    return functools.partial(make_panel, cache=None)


def test_the_mode_selector_offers_the_sampled_designs_with_their_options(script, make_panel):
    p = make_panel(script)
    tab = p.sweep_tab
    assert list(p.mode.options) == ["independent", "grid", "random", "lhs", "sobol", "morris"]
    assert tab.design.box.layout.display == "none"  # an independent sweep has no n
    p.mode.value = "lhs"
    assert tab.design.box.layout.display == "" and tab.design.n.value == 100
    assert tab.design.levels.layout.display == "none" and tab.design.second_order.layout.display == "none"
    p.mode.value = "sobol"
    assert tab.design.n.value == 256 and tab.design.second_order.layout.display == ""
    p.mode.value = "morris"
    assert tab.design.n.value == 10 and tab.design.levels.value == 4
    assert tab.design.levels.layout.display == ""
    tab.design.n.value = 6
    p.mode.value = "lhs"
    p.mode.value = "morris"
    assert tab.design.n.value == 6  # each mode keeps the n last used with it
    p.sweep_rows["n"][0].value = True
    p.sweep_rows["scale"][0].value = True
    note = html.unescape(tab.design.note.value)
    assert "Morris: 6 trajectories \u00d7 (D + 1) = 18 runs (D = 2 parameters ticked" in note
    p.mode.value = "grid"
    assert tab.design.box.layout.display == "none"


def test_ticking_fills_the_declared_range_and_a_mode_change_converts_what_was_filled(script, make_panel):
    p = make_panel(script)
    p.mode.value = "lhs"
    rows = p.sweep_rows
    for name in ("n", "scale", "word", "flag"):
        rows[name][0].value = True
    assert rows["n"][1].value == "0:20"  # the declared range: what plan_design samples given the name
    assert rows["scale"][1].value == "0.0:1.0"  # no range declared: the Live tab slider's span
    assert rows["word"][1].value == "a, b, c" and rows["flag"][1].value == "True, False"
    assert "(low:high) or 1, 2, 4" in rows["n"][1].placeholder
    rows["scale"][1].value = "0.25:0.75"  # typed: kept across modes
    p.mode.value = "grid"
    assert rows["n"][1].value == "0:20:11" and rows["scale"][1].value == "0.25:0.75"
    assert "(start:stop:count)" in rows["n"][1].placeholder
    p.mode.value = "sobol"
    assert rows["n"][1].value == "0:20" and rows["word"][1].value == "a, b, c"
    assert p.sweep_tab.design_values_of("scale", "0.25:0.75") == (0.25, 0.75)
    assert p.sweep_tab.design_values_of("word", "a, b, c") == ["a", "b, c"]  # the declared choices
    assert p.sweep_tab.design_values_of("n", "") is None  # empty: the declared range


def test_a_computed_parameter_takes_a_range_as_plan_design_does(tmp_path, make_panel):
    path = tmp_path / "c.py"
    path.write_text(
        "from py3r.behaviour.script import Output, Param\n"
        "size = Param(len('abc'), name='size')\n"
        "Output(size, name='value')\n"
    )
    p = make_panel(path)
    tab = p.sweep_tab
    assert p.spec.params["size"].type == "computed"
    assert tab.design_values_of("size", "1:5") == (1, 5)
    tab.fill({"size": "1:5"}, "lhs", n=4, seed=1)
    plan = tab.plan()
    assert len(plan.points) == 4 and all(1 <= pt.values["size"] <= 5 for pt in plan.points)


@pytest.mark.parametrize("mode", ["random", "lhs", "sobol", "morris"])
def test_each_sampled_mode_runs_and_shows_its_indices_and_plot(mode, make_panel):
    n, most = SIZES[mode]
    p = make_panel(LINEAR)
    assert p.wait(60)
    p.sweep(["a", "b"], mode=mode, n=n, seed=7, workers=2)
    assert (p.mode.value, p.sweep_tab.design.n.value, p.sweep_tab.design.seed.value) == (mode, n, "7")
    assert p.sweep_rows["a"][1].value == "0.0:1.0" and not p.sweep_rows["c"][0].value
    assert p.wait(120)
    sr = p.results
    assert sr.design is not None and sr.design.mode == mode and sr.design.seed == 7
    points = len(sr)
    assert points <= most and p.progress.description == f"{points} / {points}"
    assert p.progress.bar_style == "success"
    assert f"Done: {points} points, 0 failed." in p.sweep_status.value
    assert f"A {mode} design of {len(sr.design.sample)} rows, seed 7." in p.sweep_status.value
    # The indices are the library's, of the same design sensitivity() makes with the same seed.
    table = p.indices
    assert list(table.columns) == ["output", "param", *MEASURES[mode]]
    assert table["param"].tolist() == ["a", "b"]
    same = sensitivity(LINEAR, ["a", "b"], mode=mode, n=n, seed=7, progress=False).indices()
    pd.testing.assert_frame_equal(table, same)
    shown = html.unescape(p.sweep_tab.indices_html.value)
    runs = len(sr.design.sample)
    assert f"{table.attrs['method']} indices of {runs} runs ({points} distinct points), seed 7" in shown
    assert "py3r-table" in shown and f"<th>{MEASURES[mode][0]}</th>" in shown
    # The plot is what sr.plot() draws for the design: bars, the mu*-sigma plane, or the cloud.
    (ax, *_) = p.sweep_tab.figure.axes
    assert p.sweep_plot.value[:4] == b"\x89PNG"
    if mode == "sobol":
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["S1 (first order)", "ST (total)"]
    elif mode == "morris":
        assert ax.get_xlabel() == "mu* (mean |elementary effect|)"
    else:
        assert ax.get_xlabel() == "a" and ax.get_title(loc="right").startswith("S1 = ")
    table_html = html.unescape(p.sweep_table.value)
    assert f"{points} points ran, 0 failed" in table_html  # and the points themselves, as for sweeps


def test_morris_from_the_panel_gives_the_slopes_of_a_linear_script(make_panel):
    p = make_panel(LINEAR)
    p.sweep(["a", "b", "c"], mode="morris", n=6, seed=3, workers=2)
    assert p.wait(120)
    rows = p.indices.set_index("param")
    assert rows["mu_star"].tolist() == pytest.approx([10.0, 1.0, 0.0], abs=1e-9)
    assert rows["sigma"].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)


def test_ranges_and_choices_given_to_sweep_and_the_live_values_of_the_others(make_panel):
    p = make_panel(KNOBS)
    p.controls["k"].value = 3  # not varied: the Live tab's value, as for sweeps
    assert p.wait(60)
    p.sweep({"x": (0.2, 0.4), "method": ["a", "c"], "w": "3:7"}, mode="lhs", n=12, seed=1, workers=2)
    assert p.sweep_rows["x"][1].value == "0.2:0.4" and p.sweep_rows["method"][1].value == "a, c"
    assert p.wait(120)
    its = p.results.iterations
    assert all(0.2 <= it.params["x"] <= 0.4 and it.params["method"] in ("a", "c") for it in its)
    assert {it.params["w"] for it in its} <= {3, 5, 7} and {it.values["k"] for it in its} == {3}
    assert p.indices["param"].tolist()[:3] == ["x", "w", "method"]  # in the script's order


def test_sobol_needs_a_power_of_two_and_says_so_in_place(make_panel):
    p = make_panel(LINEAR)
    p.mode.value = "sobol"
    p.sweep_rows["a"][0].value = True
    p.sweep_tab.design.n.value = 100
    note = html.unescape(p.sweep_tab.design.note.value)
    assert "Sobol' needs n to be a power of 2: use 64 or 128." in note
    p.start_button.click()  # nothing starts: the library's own message, in place
    assert "needs n to be a power of 2" in html.unescape(p.sweep_status.value) and p.results is None
    p.sweep_tab.design.n.value = 64
    note = html.unescape(p.sweep_tab.design.note.value)
    assert "64 \u00d7 (D + 2) = 192 runs (D = 1 parameter ticked" in note
    with pytest.raises(ValueError, match="Use n=64 or n=128"):
        p.sweep(["a"], mode="sobol", n=100)


def test_a_cancelled_design_says_in_place_why_it_has_no_indices(make_panel, tmp_path):
    p = make_panel(SCRIPTS / "slow_design.py")
    p.controls["marker_dir"].value = str(tmp_path)
    assert p.wait(60)
    p.sweep(["x"], mode="lhs", n=10, seed=3, workers=1)

    def a_slow_point_started():
        return any(float(m.name.split("-", 1)[1]) > 0.5 for m in tmp_path.glob("started-*"))

    wait_for(a_slow_point_started, timeout=60, what="a slow point to start")
    p.cancel_button.click()
    assert p.wait(60)
    assert p.results.interrupted and p.indices is None
    ran = sum(it.status != "cancelled" for it in p.results.iterations)
    assert p.progress.bar_style == "warning" and p.progress.description == f"{ran} / 10"
    assert f"Cancelled: {ran} of 10 points ran (0 failed)" in p.sweep_status.value
    shown = html.unescape(p.sweep_tab.indices_html.value)
    assert "No indices" in shown and f"The lhs design is incomplete: {ran} of its 10 points finished" in shown
    # The plot is the cloud of the points that ran; those that did not are no failures.
    assert p.sweep_tab.figure.get_suptitle().startswith(f"{ran} points ({10 - ran} not run, not shown)")


def test_a_design_with_failed_points_says_in_place_why_it_has_no_indices(make_panel):
    p = make_panel(KNOBS)
    p.controls["fail_above"].value = 0.5  # x above 0.5 fails
    assert p.wait(60)
    p.sweep(["x"], mode="lhs", n=10, seed=1, workers=2)
    assert p.wait(120)
    failed = sum(it.status == "failed" for it in p.results.iterations)
    assert failed == 5 and p.progress.bar_style == "danger" and p.indices is None
    shown = html.unescape(p.sweep_tab.indices_html.value)
    assert "5 of the 10 points of the lhs design failed" in shown
    assert p.sweep_tab.figure.get_suptitle().startswith("5 points (5 failed, not shown)")


def test_export_writes_the_indices_too(make_panel, tmp_path):
    p = make_panel(LINEAR)
    p.sweep(["a", "b"], mode="morris", n=4, seed=1, workers=2)
    assert p.wait(120)
    csv, indices_csv, png, svg = p.sweep_tab.export(tmp_path)
    assert indices_csv.name == f"{csv.stem}-indices.csv" and (png.suffix, svg.suffix) == (".png", ".svg")
    indices = pd.read_csv(indices_csv)
    assert indices["param"].tolist() == ["a", "b"] and "mu_star" in indices.columns


def test_export_never_writes_over_an_indices_file(make_panel, tmp_path, monkeypatch):
    import types

    from py3r.behaviour.script.frontends.panel import files

    monkeypatch.setattr(files, "time", types.SimpleNamespace(strftime=lambda fmt: "20260101-000000"))
    (tmp_path / "linear-sweep-20260101-000000-indices.csv").write_text("kept\n")
    p = make_panel(LINEAR)
    p.sweep(["a", "b"], mode="morris", n=4, seed=1, workers=2)
    assert p.wait(120)
    csv, indices_csv, _png, _svg = p.sweep_tab.export(tmp_path)
    assert indices_csv.name == "linear-sweep-20260101-000000-2-indices.csv" == f"{csv.stem}-indices.csv"
    assert pd.read_csv(indices_csv)["param"].tolist() == ["a", "b"]
    assert (tmp_path / "linear-sweep-20260101-000000-indices.csv").read_text() == "kept\n"


def test_bad_design_input_is_refused_before_anything_runs(script, make_panel):
    p = make_panel(script)
    p.mode.value = "lhs"
    p.sweep_rows["n"][1].value = "0:20:11"
    p.start_button.click()
    assert "In a sampled design, write a range for 'n' as low:high" in html.unescape(p.sweep_status.value)
    p.sweep_rows["n"][1].value = "0:20"
    p.sweep_tab.design.seed.value = "abc"
    p.start_button.click()
    assert "The seed of a design is a whole number, 0 or more" in html.unescape(p.sweep_status.value)
    p.sweep_tab.design.seed.value = ""
    p.sweep_rows["label"][1].value = "x"  # one choice: nothing to vary
    p.start_button.click()
    assert "needs at least two choices to vary" in html.unescape(p.sweep_status.value)
    assert p.results is None
    with pytest.raises(UsageError, match=r"^n=, seed= are options of the sampled modes .*; got mode='grid'"):
        p.sweep(["n"], mode="grid", n=5, seed=1)
    with pytest.raises(
        UsageError, match=r"The panel sweeps in mode 'independent', .* or 'morris'; got 'pie'"
    ):
        p.sweep(["n"], mode="pie")
    with pytest.raises(TypeError, match="sweep\\(\\) takes workers=, timeout=, n=, seed=, levels= and"):
        p.sweep(["n"], mode="lhs", size=5)
    with pytest.raises(ValueError, match="levels must be an even int"):
        p.sweep(["n"], mode="morris", n=4, levels=3)
