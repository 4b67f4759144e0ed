"""ScriptResults: indexing, errors, tables and reprs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from py3r.behaviour.script import Failure, Iteration, ScriptResults


def make():
    sr = ScriptResults(["w", "t"], ["tracking", "score", "label"])
    frame = pd.DataFrame({"x": [1]})
    sr._add(
        Iteration(0, {"w": 3, "t": 0.5}, outputs={"tracking": frame, "score": np.float64(1.5), "label": "a"})
    )
    sr._add(
        Iteration(
            1, {"w": 5, "t": 0.5}, outputs={"tracking": frame, "score": 2, "label": "b"}, wall_time=0.25
        )
    )
    sr._add(
        Iteration(
            2,
            {"w": 7, "t": 0.5},
            outputs={"tracking": frame},
            status="failed",
            failure=Failure(
                "exception", "The script raised ValueError: bad", traceback="Traceback ...\nValueError: bad"
            ),
        )
    )
    return sr


def test_indexing_by_param_dict():
    sr = make()
    assert sr[{"w": 5, "t": 0.5}]["score"] == 2
    assert sr[{"t": 0.5, "w": 3}]["label"] == "a"  # order does not matter
    assert sr[{"w": 5}]["label"] == "b"  # a partial dict that selects one iteration
    with pytest.raises(KeyError, match="matches 3 iterations"):
        sr[{"t": 0.5}]
    with pytest.raises(KeyError, match="No iteration has parameters"):
        sr[{"w": 4, "t": 0.5}]
    with pytest.raises(KeyError, match="not among the parameters"):
        sr[{"x": 1}]
    with pytest.raises(TypeError, match="Index results with a dict"):
        sr[3]
    with pytest.raises(KeyError, match=r"'score' was not captured .* the iteration failed"):
        sr[{"w": 7, "t": 0.5}]["score"]
    assert {"w": 3, "t": 0.5} in sr and {"w": 9} not in sr


def test_one_and_one_point_oh_are_different_keys():
    sr = ScriptResults(["x"], ["y"])
    sr._add(Iteration(0, {"x": 1}, outputs={"y": "int"}))
    sr._add(Iteration(1, {"x": 1.0}, outputs={"y": "float"}))
    sr._add(Iteration(2, {"x": True}, outputs={"y": "bool"}))
    sr._add(Iteration(3, {"x": float("nan")}, outputs={"y": "nan"}))
    assert [sr[{"x": v}]["y"] for v in (1, 1.0, True, float("nan"))] == ["int", "float", "bool", "nan"]


def test_errors_are_param_dict_and_message():
    ((params, message),) = make().errors
    assert params == {"w": 7, "t": 0.5}
    assert message.startswith("The script raised ValueError: bad") and "Traceback" in message


def test_to_dataframe_scalars_only_in_plan_order():
    df = make().to_dataframe()
    assert list(df.columns) == ["w", "t", "score", "label"]
    assert df["w"].tolist() == [3, 5] and df["score"].tolist() == [1.5, 2]


def test_to_dataframe_named_non_scalar_raises():
    with pytest.raises(TypeError, match=r"'tracking' is not a scalar .* Access it directly"):
        make().to_dataframe(outputs=["tracking"])


def test_to_dataframe_mixed_scalar_raises():
    sr = ScriptResults(["x"], ["y"])
    sr._add(Iteration(0, {"x": 1}, outputs={"y": 1}))
    sr._add(Iteration(1, {"x": 2}, outputs={"y": [1]}))
    with pytest.raises(TypeError, match="'y' is a scalar in some iterations and not in others"):
        sr.to_dataframe()


def test_to_dataframe_include_failed():
    df = make().to_dataframe(include_failed=True)
    assert df["status"].tolist() == ["ok", "ok", "failed"]
    assert df["error"].tolist()[2] == "The script raised ValueError: bad"
    assert pd.isna(df["score"].iloc[2])


def test_reprs():
    sr = make()
    assert repr(sr) == (
        "<ScriptResults: 3 iterations (2 ok, 1 failed); params=['w', 't']; "
        "outputs=['tracking', 'score', 'label']>"
    )
    html = sr._repr_html_()
    assert "<table>" in html and "<th>score</th>" in html and "Failures" in html
    assert "<code>tracking</code>" in html  # named as reachable by indexing


def test_iteration_records():
    sr = make()
    assert sr.iteration({"w": 5}).wall_time == 0.25
    assert [it.index for it in sr.failures] == [2]
