"""Specification curves: the table of every specification of a grid over choices, and its figure."""

from __future__ import annotations

import matplotlib
import pytest

from helpers import SCRIPTS
from py3r.behaviour.script import IterationFailedWarning, sensitivity

matplotlib.use("Agg")

EFFECT = SCRIPTS / "effect.py"
CHOICES = {"method": ["a", "b", "c"], "trim": [0, 1, 2]}


@pytest.fixture(scope="module")
def multiverse():
    return sensitivity(EFFECT, CHOICES, mode="grid", progress=False)


def test_the_table_sorts_specifications_and_counts_those_keeping_the_sign(multiverse):
    table = multiverse.specifications("effect", ci=("effect_lo", "effect_hi"))
    assert list(table.columns) == [
        "rank", "method", "trim", "effect", "effect_lo", "effect_hi", "nominal", "same_sign", "excludes_zero"
    ]  # fmt: skip
    assert table["rank"].tolist() == list(range(1, 10))
    assert table["effect"].tolist() == pytest.approx([-0.25, -0.15, -0.05, 0.5, 0.6, 0.7, 1.0, 1.1, 1.2])
    # The nominal specification (each choice's default: method 'a', trim 0) gives +1.0.
    assert table.loc[table["nominal"], ["method", "trim"]].values.tolist() == [["a", 0]]
    assert table.attrs["reference"] == "nominal" and table.attrs["sign"] == 1
    assert table.attrs["share_same_sign"] == pytest.approx(6 / 9)  # method 'c' flips the sign
    # Intervals clear of 0 on the positive side: methods a and b with trim 0 or 1.
    assert table.attrs["share_excludes_zero"] == pytest.approx(4 / 9)
    assert table.loc[table["excludes_zero"], ["method", "trim"]].values.tolist() == [
        ["b", 0], ["b", 1], ["a", 0], ["a", 1]
    ]  # fmt: skip
    assert "excludes_zero" not in multiverse.specifications("effect").columns


def test_without_a_nominal_point_the_median_is_the_reference():
    design = sensitivity(EFFECT, ["method", "trim"], mode="lhs", n=6, seed=1, progress=False)
    table = design.specifications("effect")  # a sampled design has no nominal point
    assert table.attrs["reference"] == "median" and not table["nominal"].any()
    assert table.attrs["sign"] == (1 if table["effect"].median() > 0 else -1)


def test_the_figure_has_the_curve_the_zero_line_the_nominal_star_and_the_dot_matrix(multiverse, tmp_path):
    fig = multiverse.plot(kind="specification", output="effect", ci=("effect_lo", "effect_hi"))
    top, bottom = fig.axes
    points = top.collections[1].get_offsets()
    assert points[:, 0].tolist() == list(range(1, 10))
    assert points[:, 1].tolist() == pytest.approx([-0.25, -0.15, -0.05, 0.5, 0.6, 0.7, 1.0, 1.1, 1.2])
    intervals = top.collections[0].get_segments()
    assert len(intervals) == 9 and intervals[0][:, 1].tolist() == pytest.approx([-0.45, -0.05])
    assert [line.get_ydata()[0] for line in top.get_lines()] == [0]  # the reference line at 0
    (star,) = [c for c in top.collections if c.get_label() == "nominal"]
    assert star.get_offsets().tolist() == [[7.0, 1.0]]
    labels = [t.get_text() for t in bottom.get_yticklabels()]
    assert labels == ["method = a", "method = b", "method = c", "trim = 0", "trim = 1", "trim = 2"]
    dots = bottom.collections[0].get_offsets()
    assert len(dots) == 9 * 2  # one dot per specification and parameter
    assert sorted(tuple(d) for d in dots if d[0] == 7) == [(7.0, 0.0), (7.0, 3.0)]  # nominal: a, trim 0
    assert (
        fig.texts[0]
        .get_text()
        .startswith(
            "67% of 9 specifications give a positive effect (as the nominal does); 44% with an interval that"
        )
    )
    fig.savefig(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_no_zero_line_when_every_result_has_one_sign():
    sr = sensitivity(EFFECT, {"method": ["a", "b"], "trim": [0, 1]}, mode="grid", progress=False)
    top, _ = sr.plot(kind="specification", output="effect").axes
    assert not top.get_lines()


def test_failed_specifications_are_counted_and_left_out():
    with pytest.warns(IterationFailedWarning):
        sr = sensitivity(SCRIPTS / "knobs.py", {"k": [0, 1, 2], "w": [3, 4]}, mode="grid", progress=False)
    table = sr.specifications("y")
    assert len(table) == 3 and table.attrs["failed"] == 3  # w=4 is even: the script refuses it
    fig = sr.plot(kind="specification", output="y")
    assert "3 failed, not shown" in fig.texts[0].get_text()


def test_errors(multiverse):
    with pytest.raises(ValueError, match="'nope' is not an output here"):
        multiverse.specifications("nope")
    with pytest.raises(ValueError, match="ci= names two outputs"):
        multiverse.specifications("effect", ci=("effect_lo",))
    with pytest.raises(ValueError, match="A specification curve plots one output"):
        multiverse.plot(kind="specification")
    with pytest.raises(ValueError, match=r"Give output= \(one output\) or outputs= \(a list\), not both"):
        multiverse.plot(["effect"], kind="specification", output="effect")
