"""Notebooks as pipelines: every entry point accepts a .ipynb whose code cells hold Param/Output."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from helpers import EXAMPLE_SCALARS, ROOT, SCRIPTS
from py3r.behaviour.script import IterationFailedWarning, panel, read_script, run, sensitivity

NOTEBOOK = ROOT / "examples" / "open_field" / "pipeline.ipynb"
SCRIPT = ROOT / "examples" / "open_field" / "pipeline.py"


def test_inspect_names_the_cells(capsys):
    spec = read_script(SCRIPTS / "nb_error_cell3.ipynb")
    assert spec.param_names == ["k"] and spec.output_names == ["double", "never"]
    assert spec.where(spec.params["k"].line).endswith("nb_error_cell3.ipynb, cell 1 (id cell-1), line 2")
    assert spec.cell_of(spec.outputs["never"].line) == "cell 4 (id cell-4)"
    text = str(spec)
    assert "k                    default=1           type=int  [cell 1 (id cell-1)]" in text
    assert "double  [cell 2 (id cell-2)]" in text
    assert "cell 1 (id cell-1), line 2" in spec._repr_html_()


def test_the_notebook_pipeline_matches_the_script():
    nb = sensitivity(NOTEBOOK, {"threshold": [1.0, 4.0]}, progress=False, outputs=EXAMPLE_SCALARS)
    py = sensitivity(SCRIPT, {"threshold": [1.0, 4.0]}, progress=False, outputs=EXAMPLE_SCALARS)
    assert nb.to_dataframe().equals(py.to_dataframe())


def test_error_names_cell_and_line():
    with pytest.warns(IterationFailedWarning):
        sr = run(SCRIPTS / "nb_error_cell3.ipynb", {"k": 4})
    f = sr.iterations[0].failure
    assert f.message == "The script raised RuntimeError: cell three fails with k=4"
    assert 'nb_error_cell3.ipynb, cell 3 (id cell-3)", line 3' in f.traceback
    assert sr.iterations[0].outputs == {"double": 8}


def test_ipython_syntax_runs_in_the_child():
    sr = run(SCRIPTS / "nb_magics.ipynb", {"n": 4})
    out = sr[{"n": 4}]
    assert out["total"] == 0 + 1 + 4 + 9
    assert out["captured"] == "hidden\n"
    stdout = sr.iterations[0].stdout
    assert "Wall time" in stdout and "from-the-shell" in stdout


def test_bad_notebook_cells_are_named(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from py3r.behaviour.script import Param\nx = Param(1, name='x')"),
        nbformat.v4.new_code_cell("y = Param(2, name='x')"),
    ]
    nb.cells[1]["id"] = "dup"
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(
        ValueError,
        match=r"Duplicate Param name 'x' in .*bad\.ipynb: on cell 1 .*line 2 and on cell 2 \(id dup\), line",
    ):
        read_script(path)
    nb.cells[1].source = "y = ("
    nbformat.write(nb, path)
    with pytest.raises(SyntaxError, match=r"bad\.ipynb, cell 2 \(id dup\), line 1 does not parse"):
        read_script(path)


def test_a_notebook_path_with_a_comma_names_cells_in_the_html(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from py3r.behaviour.script import Output, Param\nx = Param(1, name='x')"),
        nbformat.v4.new_code_cell("z = x\nOutput(z, name='y')"),
    ]
    nb.cells[0]["id"], nb.cells[1]["id"] = "first", "second"
    folder = tmp_path / "runs, old"
    folder.mkdir()
    path = folder / "a, b.ipynb"
    nbformat.write(nb, path)
    spec = read_script(path)
    assert spec.where(spec.params["x"].line) == f"{path}, cell 1 (id first), line 2"
    page = spec._repr_html_()
    assert "<td>cell 1 (id first), line 2</td>" in page
    assert "<td>cell 2 (id second), line 2</td>" in page


def test_store_key_ignores_outputs_and_execution_counts(tmp_path):
    path = tmp_path / "p.ipynb"
    path.write_text((SCRIPTS / "nb_error_cell3.ipynb").read_text())
    store = tmp_path / "store"
    with pytest.warns(IterationFailedWarning):
        run(path, {"k": 1}, cache=store)
    nb = json.loads(path.read_text())
    nb["cells"][1]["execution_count"] = 7
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "re-executed\n"}]
    path.write_text(json.dumps(nb))
    with pytest.warns(IterationFailedWarning):
        again = run(path, {"k": 1}, cache=store)
    assert again.iterations[0].cached
    nb["cells"][1]["source"] = "Output(k * 3, name='double')"
    path.write_text(json.dumps(nb))
    with pytest.warns(IterationFailedWarning):
        edited = run(path, {"k": 1}, cache=store)
    assert not edited.iterations[0].cached and edited.iterations[0].outputs["double"] == 3


def test_cli_magics_and_panel_accept_notebooks():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "py3r.behaviour.script",
            "sweep",
            str(NOTEBOOK),
            "-p",
            "threshold=1,4",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "0.562742" in out.stdout
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "py3r.behaviour.script")
    spec = ip.run_line_magic("inspect_script", str(NOTEBOOK))
    assert spec.output_names[0] == "tracking"
    ip.run_cell_magic("sweep", f"{NOTEBOOK} --no-plot -o nbsweep", "smooth_window = [3, 9]")
    assert len(ip.user_ns["nbsweep"]) == 3
    p = panel(NOTEBOOK, cache=None)
    try:
        assert p.wait(60)
        assert p.last_run.iterations[0].ok
        assert "cell 3" in p.controls["threshold"].tooltip
    finally:
        p.close()
