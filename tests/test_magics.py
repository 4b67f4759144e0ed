"""The magics, in a real IPython shell (run_line_magic / run_cell_magic)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import IPython
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import py3r.behaviour.script
from helpers import EXAMPLE, SCRIPTS
from py3r.behaviour.script import IterationFailedWarning, ScriptResults, ScriptSpec


@pytest.fixture(scope="module")
def ip():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "py3r.behaviour.script")
    yield shell
    shell.run_line_magic("unload_ext", "py3r.behaviour.script")


def test_inspect_script_returns_the_spec(ip):
    spec = ip.run_line_magic("inspect_script", str(SCRIPTS / "reference_pipeline.py"))
    assert isinstance(spec, ScriptSpec) and spec.param_names == ["data_path", "smooth_window", "threshold"]
    formatted = ip.display_formatter.format(spec)[0]
    assert "<table>" in formatted["text/html"]
    assert formatted["text/plain"].startswith("Script: ")
    quoted = ip.run_line_magic("inspect_script", f'"{SCRIPTS / "dir with spaces é" / "pipeline ü.py"}"')
    assert quoted.param_names == ["x"]


def test_inspect_script_errors(ip):
    with pytest.raises(UsageError, match="Usage: %inspect_script PATH"):
        ip.run_line_magic("inspect_script", "")
    with pytest.raises(UsageError, match="does not exist"):
        ip.run_line_magic("inspect_script", "nope.py")
    with pytest.raises(UsageError, match=r"Duplicate Param name 'x'"):
        ip.run_line_magic("inspect_script", str(SCRIPTS / "bad_duplicate_param.py"))


def test_sweep_cell_uses_the_namespace_and_numpy(ip, capsys):
    ip.run_cell("import numpy as np\nwindows = [3, 9]")
    ip.run_cell_magic(
        "sweep",
        f"{EXAMPLE} --mode grid -o sr --no-plot",
        "smooth_window = windows\nthreshold = np.linspace(1.0, 4.0, 2)\nseed = np.int64(7)\n",
    )
    sr = ip.user_ns["sr"]
    assert isinstance(sr, ScriptResults) and sr.mode == "grid"
    assert len(sr) == 3 * 3  # each list plus the script's default
    assert {it.values["seed"] for it in sr.iterations} == {7}
    assert "windows" in ip.user_ns and "smooth_window" not in ip.user_ns  # ran on a copy
    out = capsys.readouterr().out
    assert "ScriptResults" in out


def test_sweep_default_name_and_plot(ip, capsys):
    ip.run_cell_magic("sweep", f"{EXAMPLE} --outputs fraction_moving", "threshold = (1.0, 4.0)\n")
    sr = ip.user_ns["_sweep"]
    assert sr.output_names == ["fraction_moving"]
    assert "Figure" in capsys.readouterr().out  # the plot was displayed (as text in a terminal)


@pytest.mark.parametrize(
    ("cell", "pattern"),
    [
        (
            "thresold = [1]",
            r"'thresold' \(line 1 of the %%sweep cell\) not found in script .*Its parameters are: seed",
        ),
        (
            "for i in range(3):\n    pass",
            r"Line 1 of the %%sweep cell is not an assignment to a parameter name",
        ),
        ("a, b = 1, 2", r"Line 1 of the %%sweep cell is not an assignment"),
        ("seed = 3", r"Nothing to sweep: assign a list of values to at least one parameter"),
        ("threshold = {'a': 1}", r"threshold = dict: a %%sweep cell assigns a parameter either a list"),
        ("threshold = [1, 'x']", r"Parameter 'threshold' of .* is a float; got the string 'x'"),
        ("threshold = 1/0", r"The %%sweep cell raised ZeroDivisionError"),
        ("threshold = (", r"The %%sweep cell does not parse"),
    ],
)
def test_sweep_errors(ip, cell, pattern):
    with pytest.raises(UsageError, match=pattern):
        ip.run_cell_magic("sweep", str(EXAMPLE), cell)


def test_sweep_bad_options(ip):
    with pytest.raises(UsageError):
        ip.run_cell_magic("sweep", f"{EXAMPLE} --mode banana", "threshold = [1]")
    with pytest.raises(UsageError, match="mode='random' needs n="):
        ip.run_cell_magic("sweep", f"{EXAMPLE} --mode random", "threshold = (1.0, 2.0)")
    with pytest.raises(UsageError, match="does not exist"):
        ip.run_cell_magic("sweep", "missing.py", "threshold = [1]")


def test_unload_removes_the_magics():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "py3r.behaviour.script")
    assert "sweep" in shell.magics_manager.magics["cell"]
    shell.run_line_magic("unload_ext", "py3r.behaviour.script")
    assert "sweep" not in shell.magics_manager.magics["cell"]
    assert "inspect_script" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "py3r.behaviour.script")  # and it loads again
    assert "inspect_script" in shell.magics_manager.magics["line"]


def test_sweep_cache_option(ip, tmp_path):
    store = tmp_path / "store"
    ip.run_cell_magic("sweep", f"{EXAMPLE} --no-plot --cache {store} -o a", "threshold = [1.0]\n")
    ip.run_cell_magic("sweep", f"{EXAMPLE} --no-plot --cache {store} -o b", "threshold = [1.0]\n")
    assert not any(it.cached for it in ip.user_ns["a"].iterations)
    assert all(it.cached for it in ip.user_ns["b"].iterations)


def test_sweep_bare_cache_before_the_script(ip, tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_STORE", str(tmp_path / "default-store"))
    ip.run_cell_magic("sweep", f"--no-plot -o c --cache {EXAMPLE}", "threshold = [1.0]\n")
    assert ip.user_ns["c"][{"threshold": 1.0}]["fraction_moving"] > 0
    assert (tmp_path / "default-store").is_dir()
    with pytest.raises(UsageError, match=r"Usage: %%sweep PATH"):
        ip.run_cell_magic("sweep", f"--no-plot --cache {tmp_path / 'store'}", "threshold = [1.0]\n")


def test_failure_warning_points_at_the_users_cell(ip, tmp_path):
    script = tmp_path / "fails_at_two.py"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\nn = Param(0, name='n')\n"
        "if n == 2:\n    raise RuntimeError('two')\nOutput(n, name='y')\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ip.run_cell(f"%%sweep {script} --no-plot --workers 1\nn = [0, 2]\n")
    assert result.success
    (w,) = [w for w in caught if w.category is IterationFailedWarning]
    assert "1 of 2 iterations" in str(w.message)
    package = str(Path(py3r.behaviour.script.__file__).parent)
    ipython = str(Path(IPython.__file__).parent)
    assert not w.filename.startswith((package, ipython)), w.filename  # the cell, not the machinery
    assert w.lineno == 1


def test_sweep_runs_one_iteration_per_core_by_default(ip, tmp_path):
    # Several iterations at once cap each one's BLAS threads: the cap says how many ran at once.
    script = tmp_path / "threads.py"
    script.write_text(
        "import os\nfrom py3r.behaviour.script import Output, Param\ni = Param(0, name='i')\n"
        "Output(os.environ.get('OMP_NUM_THREADS'), name='omp')\n"
    )
    ip.run_cell_magic("sweep", f"{script} --no-plot -o threads", "i = [1, 2]\n")
    cores = os.cpu_count() or 1
    expected = str(max(1, cores // min(cores, 2))) if cores > 1 else None
    assert set(ip.user_ns["threads"].to_dataframe()["omp"]) == {expected}


def test_sweep_a_sampled_design_shows_its_indices(ip, capsys):
    linear = SCRIPTS / "linear.py"
    ip.run_cell_magic(
        "sweep", f"{linear} --mode morris -n 5 --seed 2 -o gsa", "a = (0.0, 1.0)\nb = (0.0, 0.5)\n"
    )
    sr = ip.user_ns["gsa"]
    assert sr.mode == "morris" and sr.param_names == ["a", "b"] and sr.design.seed == 2
    shown = capsys.readouterr().out
    assert "mu_star" in shown and "Figure" in shown  # the indices table, then their plot
    # mu* is per whole range: b's half-width range halves its effect.
    assert sr.indices()["mu_star"].tolist() == pytest.approx([10.0, 0.5])
    ip.run_cell_magic("sweep", f"{linear} --mode lhs -n 12 --seed 1 --no-plot -o every", "# declared ranges")
    assert ip.user_ns["every"].param_names == ["a", "b", "c"]  # no line: every declared range
    with pytest.raises(UsageError, match=r"Parameter 'a' of .* must be within"):
        ip.run_cell_magic("sweep", f"{linear} --mode lhs -n 4", "a = (0.0, 2.0)")
