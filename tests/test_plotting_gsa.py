"""Plots of sampled designs: Sobol' bars, Morris' mu*-sigma plane, scatter; checked on real sweeps."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.container import BarContainer

from helpers import SCRIPTS
from py3r.behaviour.script import sensitivity

matplotlib.use("Agg")

ISHIGAMI = SCRIPTS / "ishigami.py"


def test_sobol_draws_first_and_total_bars_with_intervals(tmp_path):
    sr = sensitivity(ISHIGAMI, ["x1", "x2", "x3"], mode="sobol", n=32, seed=1, progress=False)
    fig = sr.plot()  # auto: the indices
    (ax,) = fig.axes
    table = sr.indices()
    s1, st = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [round(b.get_height(), 9) for b in s1] == [round(v, 9) for v in table["S1"]]
    assert [round(b.get_height(), 9) for b in st] == [round(v, 9) for v in table["ST"]]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x1", "x2", "x3"]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"S1 (first order)", "ST (total)"}
    assert len([c for c in ax.collections if c.get_segments()]) == 2  # an error bar per measure
    assert fig.texts[0].get_text() == "Sobol' (Saltelli), 160 runs: ishigami.py"
    fig.savefig(tmp_path / "sobol.png")
    assert (tmp_path / "sobol.png").read_bytes()[:4] == b"\x89PNG"


def test_morris_places_each_parameter_in_the_mu_star_sigma_plane():
    sr = sensitivity(SCRIPTS / "linear.py", ["a", "b", "c"], mode="morris", n=4, seed=1, progress=False)
    (ax,) = sr.plot().axes
    assert {t.get_text(): t.xy[0] for t in ax.texts} == pytest.approx({"a": 10.0, "b": 1.0, "c": 0.0})
    # b and c lie close together near the origin: their labels are stacked, not printed over each other.
    offsets = {t.get_text(): t.xyann[1] for t in ax.texts}
    assert offsets["b"] != offsets["c"]
    assert ax.get_xlabel().startswith("mu*") and ax.get_ylabel().startswith("sigma")
    assert [line.get_label() for line in ax.get_lines() if line.get_linestyle() == "--"] == ["sigma = mu*"]


def test_lhs_draws_each_output_against_each_parameter_with_its_index():
    sr = sensitivity(ISHIGAMI, ["x1", "x2"], mode="lhs", n=30, seed=1, progress=False)
    fig = sr.plot()  # auto: scatter
    assert [ax.get_xlabel() for ax in fig.axes] == ["x1", "x2"]
    assert all(len(ax.collections[0].get_offsets()) == 30 for ax in fig.axes)
    s1 = sr.indices()["S1"].tolist()
    assert [ax.get_title(loc="right") for ax in fig.axes] == [f"S1 = {v:.2f}" for v in s1]
    bars = sr.plot(kind="indices")  # RBD-FAST's indices as bars
    (container,) = [c for c in bars.axes[0].containers if isinstance(c, BarContainer)]
    assert [round(b.get_height(), 9) for b in container] == [round(v, 9) for v in s1]


def test_sweep_kinds_do_not_fit_a_design():
    sr = sensitivity(SCRIPTS / "linear.py", ["a"], mode="random", n=12, seed=1, progress=False)
    with pytest.raises(ValueError, match="kind='lines' plots independent and grid sweeps; a random design"):
        sr.plot(kind="lines")
    with pytest.raises(ValueError, match="ci= is an option of kind='specification'"):
        sr.plot(ci=("y", "y"))
    with pytest.raises(ValueError, match="need a sampled design"):
        sensitivity(SCRIPTS / "linear.py", {"a": [0.1, 0.2]}, progress=False).plot(kind="indices")
