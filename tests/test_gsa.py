"""Sampled designs (random, LHS, Sobol', Morris) and their analysis, on real fresh processes.

The Ishigami function and a linear script have known indices; the checks below compare with them
at tolerances that hold for the sizes used (a Sobol' design of n=256 on D=3 is 1280 runs).
"""

from __future__ import annotations

import math
import os
import signal
import threading

import numpy as np
import pytest

from helpers import EXAMPLE, SCRIPTS, wait_for
from py3r.behaviour.script import (
    CancelToken,
    Design,
    Iteration,
    IterationFailedWarning,
    ScriptResults,
    SweepInterruptedWarning,
    execute_plan,
    plan_design,
    read_script,
    sensitivity,
)

ISHIGAMI = SCRIPTS / "ishigami.py"
LINEAR = SCRIPTS / "linear.py"
KNOBS = SCRIPTS / "knobs.py"
#: Analytic Sobol' indices of the Ishigami function (a=7, b=0.1).
ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def ishigami(X: np.ndarray) -> np.ndarray:
    return np.sin(X[:, 0]) + 7 * np.sin(X[:, 1]) ** 2 + 0.1 * X[:, 2] ** 4 * np.sin(X[:, 0])


# Designs ------------------------------------------------------------------------------------------
def test_lhs_puts_one_point_in_each_bin_and_a_seed_repeats_it():
    spec = read_script(LINEAR)
    plan = plan_design(spec, ["a", "b", "c"], mode="lhs", n=20, seed=11)
    assert len(plan.points) == 20 and plan.param_names == ["a", "b", "c"]
    for name in ("a", "b", "c"):  # each parameter's range [0, 1] in 20 equal bins
        bins = sorted(math.floor(p.key[name] * 20) for p in plan.points)
        assert bins == list(range(20)), name
    again = plan_design(spec, ["a", "b", "c"], mode="lhs", n=20, seed=11)
    assert [p.key for p in again.points] == [p.key for p in plan.points]
    other = plan_design(spec, ["a", "b", "c"], mode="lhs", n=20, seed=12)
    assert [p.key for p in other.points] != [p.key for p in plan.points]
    assert plan.nominal is None and plan.design.seed == 11  # a sampled design adds no nominal point


def test_design_sizes_follow_the_method():
    spec = read_script(LINEAR)
    sizes = {
        ("sobol", False): len(plan_design(spec, None, mode="sobol", n=8, seed=1).design.sample),
        ("sobol", True): len(
            plan_design(spec, None, mode="sobol", n=8, seed=1, second_order=True).design.sample
        ),
        ("morris", False): len(plan_design(spec, None, mode="morris", n=5, seed=1).design.sample),
        ("random", False): len(plan_design(spec, None, mode="random", n=7, seed=1).design.sample),
    }
    assert sizes == {
        ("sobol", False): 8 * 5,
        ("sobol", True): 8 * 8,
        ("morris", False): 5 * 4,
        ("random", False): 7,
    }


def test_random_design_is_uniform_in_the_range_and_seeded():
    spec = read_script(KNOBS)
    plan = plan_design(spec, {"x": (0.25, 0.75)}, mode="random", n=200, seed=5)
    xs = [p.key["x"] for p in plan.points]
    assert all(0.25 <= x <= 0.75 for x in xs) and min(xs) < 0.3 and max(xs) > 0.7
    assert [p.key for p in plan_design(spec, {"x": (0.25, 0.75)}, mode="random", n=200, seed=5).points] == [
        p.key for p in plan.points
    ]


def test_unseeded_design_draws_and_keeps_its_seed():
    spec = read_script(LINEAR)
    a, b = (plan_design(spec, ["a"], mode="lhs", n=5) for _ in range(2))
    assert a.design.seed != b.design.seed
    again = plan_design(spec, ["a"], mode="lhs", n=5, seed=a.design.seed)
    assert [p.key for p in again.points] == [p.key for p in a.points]


def test_ints_take_their_step_grid_choices_map_to_levels_and_identical_rows_run_once():
    spec = read_script(KNOBS)
    plan = plan_design(spec, {"k": None, "w": None, "method": None, "flag": None}, mode="sobol", n=32, seed=2)
    design = plan.design
    keys = [p.key for p in plan.points]
    assert {k["k"] for k in keys} == {0, 1, 2, 3, 4} and all(type(k["k"]) is int for k in keys)
    assert {k["w"] for k in keys} == {1, 3, 5, 7, 9}  # the step grid from low=1: odd windows only
    assert {k["method"] for k in keys} == {"a", "b", "c"} and {k["flag"] for k in keys} == {False, True}
    # 32 * (4 + 2) rows, far more than the 5 * 5 * 3 * 2 distinct combinations: each runs once.
    assert len(design.sample) == 192 and len(plan.points) <= 150
    assert len({str(k) for k in keys}) == len(keys)
    for row, point in enumerate(design.points):  # every row is served by the point of its values
        assert row in plan.points[point].rows
        values = {f.name: f.value(x) for f, x in zip(design.factors, design.sample[row])}
        assert values == plan.points[point].key
    # Each level owns an equal share of the range SALib samples.
    k = design.factors[0]
    assert (k.kind, k.low, k.high, k.levels) == ("int", -0.5, 4.5, (0, 1, 2, 3, 4))


def test_explicit_ranges_and_choices_are_checked_against_the_declared_limits():
    spec = read_script(KNOBS)
    plan = plan_design(spec, {"w": (2, 6), "method": ["c", "a", "c"]}, mode="lhs", n=10, seed=1)
    assert {p.key["w"] for p in plan.points} <= {3, 5}  # the grid of step 2 from the declared low=1
    assert plan.design.factors[1].levels == ("c", "a")  # duplicates dropped, order kept
    with pytest.raises(ValueError, match=r"Parameter 'x' of .*knobs.py, line 5 must be within \[0.0, 1.0\]"):
        plan_design(spec, {"x": (0.0, 2.0)}, mode="lhs", n=4)
    with pytest.raises(ValueError, match=r"must be one of \['a', 'b', 'c'\]"):
        plan_design(spec, {"method": ["a", "z"]}, mode="lhs", n=4)


@pytest.mark.parametrize(
    ("params", "options", "error", "pattern"),
    [
        ({"x": (0.0, 1.0)}, {"mode": "sobol", "n": 100}, ValueError, r"power of 2 .* Use n=64 or n=128"),
        ({"x": (0.0, 1.0)}, {"mode": "lhs", "n": 0}, ValueError, "n must be a positive int"),
        ({"x": (0.0, 1.0)}, {"mode": "lhs", "n": 4, "seed": -1}, ValueError, "seed must be a non-negative"),
        ({"x": (0.0, 1.0)}, {"mode": "morris", "n": 4, "levels": 3}, ValueError, "levels must be an even"),
        ({"x": (0.0, 1.0)}, {"mode": "morris", "n": 1}, ValueError, "n >= 2 trajectories"),
        (
            {"x": (0.0, 1.0)},
            {"mode": "lhs", "n": 4, "levels": 4},
            ValueError,
            "levels= is an option of mode='m",
        ),
        (
            {"x": (0.0, 1.0)},
            {"mode": "lhs", "n": 4, "second_order": True},
            ValueError,
            "option of mode='sobol'",
        ),
        (
            {"x": (0.0, 1.0)},
            {"mode": "sobol", "n": 4, "second_order": True},
            ValueError,
            "at least two param",
        ),
        ({"x": (0.0, 1.0)}, {"mode": "fast", "n": 4}, ValueError, "must be one of 'random', 'lhs'"),
        ({"x": (1.0, 1.0)}, {"mode": "lhs", "n": 4}, ValueError, "finite range with low < high"),
        ({"k": (1, 1)}, {"mode": "lhs", "n": 4}, ValueError, "finite range with low < high"),
        ({"w": (3, 4)}, {"mode": "lhs", "n": 4}, ValueError, "holds 1 of them"),
        ({"method": ["a"]}, {"mode": "lhs", "n": 4}, ValueError, "at least two choices"),
        ({"method": (0, 1)}, {"mode": "lhs", "n": 4}, TypeError, "is a str; a range"),
        ({"x": 0.3}, {"mode": "lhs", "n": 4}, TypeError, "range .low, high., as a tuple of two numbers"),
        ({"k": (0.5, 2.5)}, {"mode": "lhs", "n": 4}, TypeError, "is an int; got the float 0.5"),
        ({"fail_above": None}, {"mode": "lhs", "n": 4}, ValueError, "declares no range to sample"),
        ({"nope": None}, {"mode": "lhs", "n": 4}, ValueError, "Parameter 'nope' not found"),
        ("x", {"mode": "lhs", "n": 4}, TypeError, "params of a sampled design is a dict"),
        ({}, {"mode": "lhs", "n": 4}, ValueError, "params is empty"),
        (
            {"x": None},
            {"mode": "lhs", "n": 4, "nominal": {"x": 0.5}},
            ValueError,
            "both varied and given a nominal",
        ),
    ],
)
def test_bad_designs_are_refused_before_anything_runs(params, options, error, pattern):
    with pytest.raises(error, match=pattern):
        plan_design(read_script(KNOBS), params, **options)


def test_a_required_parameter_needs_a_value(tmp_path):
    script = tmp_path / "needs.py"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\n"
        "x = Param(0.5, name='x', low=0.0, high=1.0)\nq = Param(name='q')\nOutput(x * q, name='y')\n"
    )
    with pytest.raises(ValueError, match=r"Required parameter 'q' .* is not varied"):
        plan_design(read_script(script), ["x"], mode="lhs", n=4)
    plan = plan_design(read_script(script), ["x"], mode="lhs", n=4, nominal={"q": 2})
    assert all(p.values["q"] == 2 and p.key.keys() == {"x"} for p in plan.points)


def test_no_params_means_every_declared_range_or_choice():
    plan = plan_design(read_script(EXAMPLE), None, mode="lhs", n=4, seed=1)
    # seed declares only low=, and a bool is sampled only when named.
    assert plan.param_names == ["smooth_window", "threshold", "smoothing", "centre_fraction"]
    with pytest.raises(ValueError, match="declares no parameter with a range or choices"):
        plan_design(read_script(SCRIPTS / "scalars.py"), None, mode="lhs", n=4)


def test_sensitivity_takes_the_design_options_only_with_a_sampled_mode():
    with pytest.raises(ValueError, match="mode='sobol' needs n="):
        sensitivity(LINEAR, ["a"], mode="sobol")
    with pytest.raises(ValueError, match=r"n=, seed=, second_order= and levels= are options of sampled"):
        sensitivity(LINEAR, {"a": [0.1, 0.2]}, mode="grid", n=4)
    with pytest.raises(ValueError, match=r"Sampled designs .* are planned by plan_design"):
        sensitivity(LINEAR, {"a": [0.1, 0.2]}, mode="sobo")  # a typo is not a sampled mode


# Analysis: the known answers ----------------------------------------------------------------------
def test_morris_on_a_linear_script_gives_its_slopes():
    sr = sensitivity(LINEAR, ["a", "b", "c"], mode="morris", n=10, seed=4, progress=False)
    assert len(sr.design.sample) == 40 and sr.mode == "morris"
    table = sr.indices().set_index("param")
    assert list(table.columns) == ["output", "mu_star", "mu_star_conf", "sigma", "mu"]
    assert table["mu_star"].to_dict() == pytest.approx({"a": 10.0, "b": 1.0, "c": 0.0}, abs=1e-9)
    assert table["sigma"].to_dict() == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0}, abs=1e-9)
    assert table.attrs["method"] == "Morris"


def test_sobol_on_ishigami_matches_salib_and_the_analytic_indices():
    from SALib.analyze import sobol

    sr = sensitivity(ISHIGAMI, ["x1", "x2", "x3"], mode="sobol", n=256, seed=7, workers=2, progress=False)
    assert len(sr) == 256 * 5 and not sr.errors
    table = sr.indices().set_index("param")
    assert list(table.columns) == ["output", "S1", "S1_conf", "ST", "ST_conf"]
    # The fresh processes computed what the function computes in-process, row for row.
    design = sr.design
    direct = sobol.analyze(design.problem(), ishigami(design.matrix()), calc_second_order=False, seed=7)
    assert table["S1"].tolist() == pytest.approx(list(direct["S1"]), abs=1e-12)
    assert table["ST"].tolist() == pytest.approx(list(direct["ST"]), abs=1e-12)
    # At n=256 the estimates scatter by about their 95% bootstrap half-width (up to 0.18 for ST of x1
    # over 40 seeds): each must lie within twice its own interval of the analytic value.
    for p in ("x1", "x2", "x3"):
        assert abs(table.loc[p, "S1"] - ISHIGAMI_S1[p]) <= 2 * table.loc[p, "S1_conf"], p
        assert abs(table.loc[p, "ST"] - ISHIGAMI_ST[p]) <= 2 * table.loc[p, "ST_conf"], p
    assert table["ST"].idxmax() == "x1" and table["ST"].idxmin() == "x3"
    assert table.loc["x3", "S1"] < 0.1 < table.loc["x3", "ST"]  # x3 acts only through x1


def test_second_order_indices_pair_every_parameter():
    sr = sensitivity(
        ISHIGAMI, ["x1", "x2", "x3"], mode="sobol", n=32, seed=1, second_order=True, progress=False
    )
    table = sr.indices().set_index("param")
    assert len(sr.design.sample) == 32 * 8
    assert [c for c in table.columns if c.startswith("S2")] == [
        f"S2{kind}[{q}]" for q in ("x1", "x2", "x3") for kind in ("", "_conf")
    ]
    assert math.isnan(table.loc["x1", "S2[x1]"]) and table.loc["x1", "S2[x3]"] == table.loc["x3", "S2[x1]"]


def test_lhs_and_random_designs_give_rbd_fast_indices():
    sr = sensitivity(ISHIGAMI, ["x1", "x2", "x3"], mode="lhs", n=300, seed=2, workers=2, progress=False)
    table = sr.indices().set_index("param")
    assert list(table.columns) == ["output", "S1", "S1_conf"] and table.attrs["method"] == "RBD-FAST"
    # RBD-FAST at n=300: over 40 seeds no index strays 0.1 from its value (bootstrap half-width 0.13).
    for p in ("x1", "x2", "x3"):
        assert abs(table.loc[p, "S1"] - ISHIGAMI_S1[p]) < 0.15, p
    few = sensitivity(LINEAR, ["a"], mode="random", n=6, seed=1, progress=False)
    with pytest.raises(ValueError, match="RBD-FAST needs at least 10 points"):
        few.indices()


def test_outputs_are_chosen_and_checked():
    sr = sensitivity(KNOBS, {"x": None, "k": None}, mode="lhs", n=12, seed=3, progress=False)
    assert sr.indices()["output"].unique().tolist() == [
        "y"
    ]  # label (a str) and pair (a list) are not numbers
    assert sr.indices("y").equals(sr.indices())
    with pytest.raises(ValueError, match="'label' is not a finite number at 12 point"):
        sr.indices("label")
    with pytest.raises(ValueError, match="'nope' is not an output here"):
        sr.indices("nope")
    with pytest.raises(ValueError, match="need a sampled design; these results are of mode='grid'"):
        sensitivity(LINEAR, {"a": [0.1, 0.2]}, mode="grid", progress=False).indices()


def test_indices_are_computed_once_until_an_iteration_is_added():
    plan = plan_design(read_script(LINEAR), ["a", "b"], mode="morris", n=4, seed=1)
    sr = ScriptResults.for_plan(plan)
    for p in plan.points:  # y = 10a + b, recorded without running anything
        sr.add(Iteration(p.index, p.key, outputs={"y": 10 * p.key["a"] + p.key["b"]}))
    first = sr.indices()
    assert first["mu_star"].tolist() == pytest.approx([10.0, 1.0])
    (kept,) = sr._analyses.values()  # the memo: one table, never handed out itself
    assert kept is not first and kept.equals(first)
    first.loc[0, "mu_star"] = -1.0  # a caller's copy: changing it changes nothing kept
    second = sr.indices()
    assert next(iter(sr._analyses.values())) is kept  # not computed again
    assert second is not kept and second.equals(kept) and second.attrs["method"] == "Morris"
    assert sr.indices("y").equals(second) and len(sr._analyses) == 2  # another outputs= argument
    point = plan.points[0]  # the same point recorded again, with another value: the last one counts
    sr.add(Iteration(point.index, point.key, outputs={"y": 10 * point.key["a"] + point.key["b"] + 5.0}))
    assert not sr._analyses
    third = sr.indices()
    assert next(iter(sr._analyses.values())) is not kept
    assert not third.equals(second)


def test_a_constant_output_has_undefined_variance_indices():
    sr = sensitivity(LINEAR, ["c"], mode="sobol", n=8, seed=1, progress=False)
    assert sr.indices()[["S1", "ST"]].isna().all().all()
    morris = sensitivity(LINEAR, ["c"], mode="morris", n=3, seed=1, progress=False)
    assert morris.indices()["mu_star"].tolist() == [0.0]


# Results remember their design -------------------------------------------------------------------
def test_indices_survive_save_load_and_come_back_from_the_store(tmp_path):
    store = tmp_path / "runs"
    sr = sensitivity(KNOBS, ["x", "k", "method"], mode="sobol", n=16, seed=9, cache=store, progress=False)
    first = sr.indices()
    sr.save(tmp_path / "sr.pkl")
    back = ScriptResults.load(tmp_path / "sr.pkl")
    assert isinstance(back.design, Design) and back.design.to_record() == sr.design.to_record()
    assert back.indices().equals(first)
    again = sensitivity(KNOBS, ["x", "k", "method"], mode="sobol", n=16, seed=9, cache=store, progress=False)
    assert all(it.cached for it in again.iterations) and len(again) == len(sr)
    assert again.indices().equals(first)


def test_workers_do_not_change_the_answer():
    one = sensitivity(ISHIGAMI, ["x1", "x2"], mode="morris", n=6, seed=5, progress=False)
    two = sensitivity(ISHIGAMI, ["x1", "x2"], mode="morris", n=6, seed=5, workers=2, progress=False)
    assert one.indices().equals(two.indices())


def test_failed_points_are_named_and_the_analysis_refused():
    with pytest.warns(IterationFailedWarning):
        sr = sensitivity(KNOBS, ["x"], mode="lhs", n=20, seed=1, nominal={"fail_above": 0.7}, progress=False)
    failed = [it for it in sr.iterations if it.status == "failed"]
    assert len(failed) == 6  # one LHS point in each of the six bins above 0.7
    with pytest.raises(ValueError, match=r"6 of the 20 points of the lhs design failed.*\{'x': 0\.7"):
        sr.indices()
    assert sr.plot(kind="scatter").axes  # the points that ran can still be looked at


def test_an_interrupted_design_is_kept_and_the_analysis_refused_politely(tmp_path):
    def interrupt_when_a_slow_point_started():
        wait_for(
            lambda: any(float(p.name.split("-", 1)[1]) > 0.5 for p in tmp_path.glob("started-*")),
            timeout=60,
            what="a slow point to start",
        )
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt_when_a_slow_point_started)
    t.start()
    with pytest.warns(SweepInterruptedWarning):
        sr = sensitivity(
            SCRIPTS / "slow_design.py",
            ["x"],
            mode="lhs",
            n=10,
            seed=3,
            nominal={"marker_dir": str(tmp_path)},
            progress=False,
        )
    t.join()
    assert sr.interrupted and any(it.ok for it in sr.iterations)
    assert {it.status for it in sr.iterations if not it.ok} == {"cancelled"}
    with pytest.raises(ValueError, match=r"The lhs design is incomplete: \d of its 10 points finished"):
        sr.indices()


def test_a_design_runs_through_execute_plan_with_a_cancel_token():
    token = CancelToken()
    plan = plan_design(read_script(LINEAR), ["a", "b"], mode="lhs", n=12, seed=1)

    def stop_after_three(it, results):
        if len(results) >= 3:
            token.cancel()

    with pytest.warns(SweepInterruptedWarning):
        sr = execute_plan(plan, cancel=token, on_iteration=stop_after_three)
    assert sr.design is plan.design and sr.interrupted
    with pytest.raises(ValueError, match="incomplete"):
        sr.indices()


def test_the_progress_bar_counts_distinct_points(capsys):
    sensitivity(LINEAR, ["a", "b"], mode="morris", n=3, seed=2, progress=True)
    points = len(plan_design(read_script(LINEAR), ["a", "b"], mode="morris", n=3, seed=2).points)
    assert f"{points}/{points}" in capsys.readouterr().err
