"""Sensitivity plots: structure of the figures (axes, labels, markers), checked on real sweeps."""

from __future__ import annotations

import matplotlib
import pytest

from py3r.behaviour.script import ScriptResults, plot_results, sensitivity

matplotlib.use("Agg")

SCRIPT = """\
from py3r.behaviour.script import Output, Param
a = Param(2, name="a")
b = Param(0.5, name="b")
mode = Param("x", name="mode")
flag = Param(True, name="flag")
if a == 4:
    raise RuntimeError("a=4 fails")
Output(a * b + (mode == "y") + flag, name="score")
Output(a - b, name="diff")
Output(f"{a}", name="label")
Output([a, b], name="pair")
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "s.py"
    path.write_text(SCRIPT)
    return path


def sweep(script, params, **kw):
    return sensitivity(script, params, progress=False, **kw)


@pytest.mark.filterwarnings("ignore::py3r.behaviour.script.IterationFailedWarning")
def test_independent_lines(script, tmp_path):
    sr = sweep(script, {"a": [1, 3, 4], "b": [0.1, 0.9], "mode": ["y"]})
    fig = sr.plot()
    axes = fig.axes
    assert len(axes) == 2 * 3  # numeric scalar outputs (score, diff) x swept params
    assert [ax.get_xlabel() for ax in axes[:3]] == ["a", "b", "mode"]
    assert [ax.get_ylabel() for ax in axes[::3]] == ["score", "diff"]
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert labels == {"nominal", "failed"}
    # The nominal point (a=2, b=0.5, mode='x') is starred in every panel.
    stars = [c for ax in axes for c in ax.collections if c.get_label() == "nominal"]
    assert len(stars) == 6
    # The failed point (a=4) is crossed in the 'a' panels only.
    failed = [ax.get_xlabel() for ax in axes for c in ax.collections if c.get_label() == "failed"]
    assert failed == ["a", "a"]
    # ... and inside the axes, though no successful point reaches that far (a=4 is the largest a).
    assert all(ax.get_xlim()[1] > 4 for ax in axes[::3])
    # Categorical parameters get one tick per value.
    assert [t.get_text() for t in axes[2].get_xticklabels()] == ["'x'", "'y'"]
    fig.savefig(tmp_path / "lines.png")
    assert (tmp_path / "lines.png").read_bytes()[:4] == b"\x89PNG"


def test_grid_of_two_is_a_heatmap(script):
    sr = sweep(script, {"a": [1, 2, 3], "b": [0.1, 0.5]}, mode="grid")
    fig = sr.plot(["score"])
    heat = [ax for ax in fig.axes if ax.get_title() == "score"]
    assert len(heat) == 1 and heat[0].get_images()
    assert heat[0].get_images()[0].get_array().shape == (3, 2)
    assert heat[0].get_ylabel() == "a" and heat[0].get_xlabel() == "b"


def test_grid_of_three_is_small_multiples(script):
    sr = sweep(script, {"a": [1, 2], "b": [0.1, 0.5], "flag": [True, False]}, mode="grid")
    fig = sr.plot(["score"])
    assert len(fig.axes) == 2  # one panel per value of the third parameter
    assert {ax.get_title() for ax in fig.axes} == {"flag=True", "flag=False"}
    assert len(fig.axes[0].get_lines()) == 2  # one line per value of the second


def test_tornado_ranks_by_swing(script):
    sr = sweep(script, {"a": [1, 3], "b": [0.4, 0.6]})
    fig = sr.plot(["score"], kind="tornado")
    ax = fig.axes[0]
    # score = a*b (+1): a from 1..3 swings 1.0, b from 0.4..0.6 swings 0.4: 'a' is on top.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]


def test_errors(script):
    with pytest.raises(ValueError, match="no swept parameter to plot against"):
        sensitivity(script, {"a": [2]}, progress=False).plot()
    sr = sweep(script, {"a": [1, 3]})
    with pytest.raises(ValueError, match="'pair' cannot be plotted: it is not a scalar"):
        sr.plot(["pair"])
    with pytest.raises(ValueError, match="'label' is not numeric"):
        sr.plot(["label"])
    with pytest.raises(ValueError, match="kind must be one of"):
        sr.plot(kind="pie")
    with pytest.raises(ValueError, match="A heat map needs a grid sweep over exactly two"):
        sr.plot(kind="heatmap")
    grid = sweep(script, {"a": [1, 3], "b": [0.1]}, mode="grid")
    assert plot_results(grid, ["score"], kind="tornado")  # defaults are nominal values in grid too
    empty = ScriptResults(["a"], ["x"])
    with pytest.raises(ValueError):
        plot_results(empty)


@pytest.mark.filterwarnings("ignore::py3r.behaviour.script.IterationFailedWarning")
def test_tornado_says_what_its_colours_mean_and_shows_failed_ends_as_gaps(script):
    sr = sweep(script, {"a": [1, 3, 4], "b": [0.4, 0.6]})  # a=4 fails: the high end of a
    fig = sr.plot(["score"], kind="tornado")
    ax = fig.axes[0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [
        "parameter moved to the lowest value swept",
        "parameter moved to the highest value swept",
    ]
    assert "fell" in ax.get_xlabel() and "rose" in ax.get_xlabel()
    # Each drawn bar is labelled with the value it is for; the failed end is a gap with a note.
    labels = [t.get_text() for t in ax.texts]
    assert any("a=4 failed" in t for t in labels) and "a=1" in labels and "b=0.6" in labels
    assert len(ax.patches) == 3  # a=1, b=0.4, b=0.6: no bar for a=4
    assert "1 end(s) failed or did not run" in fig.get_suptitle()
    # The legend sits outside the axes: nothing is drawn over the bars.
    fig.canvas.draw()
    legend_box = fig.legends[0].get_window_extent()
    assert not legend_box.overlaps(ax.get_window_extent())


def test_heatmap_marks_failed_cells_leaves_unrun_cells_blank_and_thins_its_ticks():
    from py3r.behaviour.script import Failure, Iteration

    sr = ScriptResults(["a", "b"], ["score"], mode="grid")
    index = 0
    for a in range(30):
        for b in (0.125, 0.25, 0.375, 0.5, 0.625):
            status = "failed" if (a, b) == (0, 0.125) else "cancelled" if a >= 25 else "ok"
            failure = None if status == "ok" else Failure(status, "why")
            outputs = {"score": a * b} if status == "ok" else {}
            sr.add(Iteration(index, {"a": a, "b": b}, outputs=outputs, status=status, failure=failure))
            index += 1
    fig = sr.plot(["score"])
    ax = next(ax for ax in fig.axes if ax.get_title() == "score")
    grid = ax.get_images()[0].get_array()
    assert grid.mask[0, 0] and grid.mask[29, 4] and grid[1, 1] == 0.25  # NaN: blank
    crosses = [c.get_offsets().tolist() for c in ax.collections if c.get_label() == "failed"]
    assert crosses == [[[0.0, 0.0]]]  # the failed cell alone: the 25 cancelled ones stay blank
    assert ax.get_title(loc="right") == "\u00d7 1 failed"
    assert 2 <= len(ax.get_yticks()) <= 16 and ax.get_yticklabels()[-1].get_text() == "29"
