"""Plans: value checking before anything runs, nominal resolution, independent and grid points."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from py3r.behaviour.script import plan_run, plan_sweep, read_script
from py3r.behaviour.script.values import check_value, value_key


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "pipeline.py"
    path.write_text(
        textwrap.dedent(
            """\
            from py3r.behaviour.script import Param, Output
            window = Param(5, name="window")
            threshold = Param(0.8, name="threshold")
            flag = Param(False, name="flag")
            label = Param("a", name="label")
            opt = Param(None, name="opt")
            req = Param(name="req")
            comp = Param(len("ab"), name="comp")
            Output(1, name="tracking")
            Output(2, name="summary")
            """
        )
    )
    return read_script(path)


def check(spec, name, value):
    return check_value(spec, spec.params[name], value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("window", 3, 3),
        ("window", np.int64(7), 7),
        ("threshold", 1, 1.0),
        ("threshold", np.float32(0.5), 0.5),
        ("threshold", float("inf"), float("inf")),
        ("flag", True, True),
        ("flag", np.bool_(True), True),
        ("label", "x y", "x y"),
        ("opt", "anything", "anything"),
        ("opt", None, None),
        ("req", 2.5, 2.5),
        ("comp", 3, 3),
    ],
)
def test_good_values(spec, name, value, expected):
    got = check(spec, name, value)
    assert got == expected and type(got) is type(expected)


def test_nan_is_a_float(spec):
    assert math.isnan(check(spec, "threshold", float("nan")))


@pytest.mark.parametrize(
    ("name", "value", "pattern"),
    [
        ("window", "abc", r"Parameter 'window' of .*pipeline\.py, line 2 is an int; got the string 'abc'"),
        ("window", 2.7, r"is an int; got the float 2\.7\. Pass a whole number; values are never rounded"),
        ("window", True, r"is an int; got the bool True"),
        ("window", float("nan"), r"is an int; got the float nan"),
        ("flag", "False", r"Parameter 'flag' .* is a bool; got the string 'False'\. Pass True or False"),
        ("flag", 1, r"is a bool; got the int 1"),
        (
            "threshold",
            "high",
            r"Parameter 'threshold' .*line 3 is a float; got the string 'high'\. .*threshold=0\.8",
        ),
        ("threshold", True, r"is a float; got the bool True"),
        ("label", 3, r"is a str; got the int 3"),
        ("window", [1, 2], r"takes a single int; got the list \[1, 2\], which is not a scalar"),
        ("opt", {"a": 1}, r"got the dict .* which is not a scalar"),
        ("threshold", np.array([0.1, 0.2]), r"got the ndarray .* which is not a scalar"),
    ],
)
def test_bad_values(spec, name, value, pattern):
    with pytest.raises(TypeError, match=pattern):
        check(spec, name, value)


def test_value_key_keeps_types_apart_and_nan_equal():
    assert len({value_key({"x": 1}), value_key({"x": 1.0}), value_key({"x": True})}) == 3
    assert value_key({"x": float("nan")}) == value_key({"x": float("nan")})
    assert value_key({"a": 1, "b": 2}) == value_key({"b": 2, "a": 1})


def test_run_plan(spec):
    plan = plan_run(spec, {"req": 1, "threshold": 1})
    assert plan.param_names == ["req", "threshold"]
    assert plan.points[0].values == {"req": 1, "threshold": 1.0}
    assert plan.capture == ("tracking", "summary") and not plan.explicit_outputs


def test_run_plan_errors(spec):
    with pytest.raises(
        ValueError,
        match=r"Required parameters not provided: 'req' \(.*line 7\).*run\(script, \{'req': \.\.\.\}\)",
    ):
        plan_run(spec, {})
    with pytest.raises(ValueError, match=r"Parameter 'windwo' not found in script .*Did you mean 'window'\?"):
        plan_run(spec, {"windwo": 3, "req": 1})
    with pytest.raises(ValueError, match=r"Output 'summry' not found in script .*Did you mean 'summary'\?"):
        plan_run(spec, {"req": 1}, outputs=["summry"])
    with pytest.raises(TypeError, match=r"params must be a dict of parameter values; got the list \[1\]\."):
        plan_run(spec, [1])  # type: ignore[arg-type]


def test_outputs_in_source_order(spec):
    plan = plan_run(spec, {"req": 1}, outputs=["summary", "tracking"])
    assert plan.capture == ("tracking", "summary") and plan.explicit_outputs


def test_independent_sweep_adds_default_and_runs_nominal_once(spec):
    plan = plan_sweep(spec, {"window": [3, 7], "threshold": [0.5]}, nominal={"req": 0})
    keys = [p.key for p in plan.points]
    assert keys == [
        {"window": 3, "threshold": 0.8},
        {"window": 5, "threshold": 0.8},
        {"window": 7, "threshold": 0.8},
        {"window": 5, "threshold": 0.5},
    ]
    assert all(p.values["req"] == 0 for p in plan.points)
    assert plan.nominal == {"window": 5, "threshold": 0.8}


def test_nominal_overrides_default_and_dedupes(spec):
    plan = plan_sweep(spec, {"window": [3, 3, 4]}, nominal={"window": 4, "req": 1})
    assert [p.key for p in plan.points] == [{"window": 3}, {"window": 4}]


def test_grid_sweep(spec):
    plan = plan_sweep(spec, {"window": [3, 5], "flag": [True]}, mode="grid", nominal={"req": 1})
    assert [p.key for p in plan.points] == [
        {"window": 3, "flag": True},
        {"window": 3, "flag": False},
        {"window": 5, "flag": True},
        {"window": 5, "flag": False},
    ]


def test_required_swept_needs_nominal_in_independent_mode_only(spec):
    with pytest.raises(
        ValueError,
        match=r"Swept parameter 'req' .*has no script default and no nominal value.*nominal=\{'req': 1\}",
    ):
        plan_sweep(spec, {"req": [1, 2]})
    plan = plan_sweep(spec, {"req": [1, 2]}, mode="grid")
    assert [p.key for p in plan.points] == [{"req": 1}, {"req": 2}]
    with pytest.raises(ValueError, match=r"Swept parameter 'comp' .*computed at run time: len\('ab'\)"):
        plan_sweep(spec, {"comp": [1]}, nominal={"req": 1})


def test_sweep_errors(spec):
    with pytest.raises(
        ValueError,
        match=r"Required parameter 'req' .* is not being swept and has no value in nominal.*nominal=\{'req'",
    ):
        plan_sweep(spec, {"window": [1]})
    with pytest.raises(TypeError, match=r"values to sweep for 'window' must be a list; got the int 3"):
        plan_sweep(spec, {"window": 3}, nominal={"req": 1})
    with pytest.raises(ValueError, match="is empty"):
        plan_sweep(spec, {"window": []}, nominal={"req": 1})
    with pytest.raises(TypeError, match=r"'window' .* got the float 2\.5"):
        plan_sweep(spec, {"window": [1, 2.5]}, nominal={"req": 1})
    with pytest.raises(ValueError, match="mode must be 'independent' or 'grid'"):
        plan_sweep(spec, {"window": [1]}, nominal={"req": 1}, mode="random")
    with pytest.raises(ValueError, match=r"Nominal parameter 'nope' not found in script"):
        plan_sweep(spec, {"window": [1]}, nominal={"req": 1, "nope": 2})
    with pytest.raises(ValueError, match="needs a dict of parameters to sweep"):
        plan_sweep(spec, {})


def test_sweep_accepts_ranges_and_arrays(spec):
    plan = plan_sweep(spec, {"window": range(1, 3), "threshold": np.linspace(0, 1, 3)}, nominal={"req": 1})
    values = {(p.key["window"], p.key["threshold"]) for p in plan.points}
    assert (1, 0.8) in values and (5, 0.5) in values and (5, 1.0) in values
