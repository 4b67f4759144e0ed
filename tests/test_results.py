"""ScriptResults: indexing, errors, tables and reprs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from py3r.behaviour.script import Failure, Iteration, ScriptResults


def make():
    sr = ScriptResults(["w", "t"], ["tracking", "score", "label"])
    frame = pd.DataFrame({"x": [1]})
    sr.add(
        Iteration(0, {"w": 3, "t": 0.5}, outputs={"tracking": frame, "score": np.float64(1.5), "label": "a"})
    )
    sr.add(
        Iteration(
            1, {"w": 5, "t": 0.5}, outputs={"tracking": frame, "score": 2, "label": "b"}, wall_time=0.25
        )
    )
    sr.add(
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
    with pytest.raises(KeyError, match=r"^.No result for parameters \{'t': 0.5\} alone: they match 3 iter"):
        sr[{"t": 0.5}]
    with pytest.raises(KeyError, match=r"^.No result for parameters .*: no iteration has these values"):
        sr[{"w": 4, "t": 0.5}]
    with pytest.raises(KeyError, match=r"^.No result for parameters .*not among the parameters"):
        sr[{"x": 1}]
    with pytest.raises(TypeError, match="Index results with a dict"):
        sr[3]
    with pytest.raises(KeyError, match=r"'score' was not captured .* the iteration failed"):
        sr[{"w": 7, "t": 0.5}]["score"]
    assert {"w": 3, "t": 0.5} in sr and {"w": 9} not in sr


def test_one_and_one_point_oh_are_different_keys():
    sr = ScriptResults(["x"], ["y"])
    sr.add(Iteration(0, {"x": 1}, outputs={"y": "int"}))
    sr.add(Iteration(1, {"x": 1.0}, outputs={"y": "float"}))
    sr.add(Iteration(2, {"x": True}, outputs={"y": "bool"}))
    sr.add(Iteration(3, {"x": float("nan")}, outputs={"y": "nan"}))
    assert [sr[{"x": v}]["y"] for v in (1, 1.0, True, float("nan"))] == ["int", "float", "bool", "nan"]


def test_errors_are_param_dict_and_message():
    ((params, message),) = make().errors
    assert params == {"w": 7, "t": 0.5}
    assert message.startswith("The script raised ValueError: bad") and "Traceback" in message


def test_to_dataframe_raises_on_a_non_scalar_output_as_the_reference_says():
    with pytest.raises(TypeError) as info:
        make().to_dataframe()
    message = str(info.value)
    assert "'tracking' (a DataFrame) is not scalar" in message
    assert "The scalar outputs are: score, label" in message
    assert "sr.to_dataframe(outputs=['score', 'label'])" in message  # one way out ...
    assert "sr[{'w': 3, 't': 0.5}]['tracking']" in message  # ... and the other


def test_to_dataframe_names_every_non_scalar_output():
    sr = ScriptResults(["x"], ["a", "y", "b"])
    sr.add(Iteration(0, {"x": 1}, outputs={"a": [1], "y": 1.0, "b": np.zeros(2)}))
    with pytest.raises(TypeError, match=r"Outputs 'a' \(a list\), 'b' \(a ndarray\) are not scalar"):
        sr.to_dataframe()


def test_to_dataframe_with_named_scalar_outputs_in_plan_order():
    sr = make()
    df = sr.to_dataframe(outputs=sr.scalar_outputs())
    assert list(df.columns) == ["w", "t", "score", "label"]
    assert df["w"].tolist() == [3, 5] and df["score"].tolist() == [1.5, 2]
    assert list(sr.to_dataframe(outputs=["label", "score"]).columns) == ["w", "t", "label", "score"]


def test_to_dataframe_of_scalar_outputs_needs_no_arguments():
    sr = ScriptResults(["x"], ["y", "never"])
    sr.add(Iteration(0, {"x": 1}, outputs={"y": np.int64(4)}))
    sr.add(Iteration(1, {"x": 2}, outputs={"y": 5}))
    df = sr.to_dataframe()
    assert list(df.columns) == ["x", "y", "never"]  # an output no iteration produced is an empty column
    assert df["y"].tolist() == [4, 5] and df["never"].isna().all()


def test_to_dataframe_named_non_scalar_raises():
    with pytest.raises(TypeError, match=r"'tracking' \(a DataFrame\) is not scalar.* sr\[\{'w': 3"):
        make().to_dataframe(outputs=["tracking"])


def test_to_dataframe_mixed_scalar_raises():
    sr = ScriptResults(["x"], ["y"])
    sr.add(Iteration(0, {"x": 1}, outputs={"y": 1}))
    sr.add(Iteration(1, {"x": 2}, outputs={"y": [1]}))
    with pytest.raises(TypeError, match=r"'y' \(a list\) is not scalar.*No output here is a scalar"):
        sr.to_dataframe()


def test_empty_results_built_as_in_the_reference():
    sr = ScriptResults(param_names=["threshold"], output_names=["summary"])
    assert len(sr) == 0 and sr.errors == [] and sr.param_names == ["threshold"]
    assert list(sr.to_dataframe().columns) == ["threshold", "summary"]
    with pytest.raises(KeyError, match=r"^.No result for parameters \{'threshold': 1\}"):
        sr[{"threshold": 1}]


def test_to_dataframe_include_failed():
    df = make().to_dataframe(outputs=["score", "label"], include_failed=True)
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
