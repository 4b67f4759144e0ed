"""binder/: an environment built the way mybinder.org (repo2docker) builds it runs the first notebook.

repo2docker installs ``binder/requirements.txt`` into the image's Python, then runs
``./binder/postBuild`` from the repository's root with that Python's ``bin`` first on ``PATH``.
This test does the same in a fresh virtual environment (with pip's cache, to stay fast), then
executes notebooks/01-quickstart.ipynb in a fresh kernel of that environment and checks that the
kernel really ran that environment's interpreter with the package installed from this repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import ROOT

pytestmark = pytest.mark.timeout(900)

BINDER = ROOT / "binder"
QUICKSTART = ROOT / "notebooks" / "01-quickstart.ipynb"
PROBE_MARK = "PY3R-BINDER-PROBE "

#: Run in the kernel after the notebook's own cells: which interpreter and which package it used.
PROBE = f"""\
import json, sys
import py3r.behaviour.script as _pkg
_where = {{"executable": sys.executable, "prefix": sys.prefix, "package": _pkg.__file__}}
print({PROBE_MARK!r} + json.dumps(_where))
"""

#: Runs inside the new environment: executes the notebook (plus the probe) in a fresh kernel.
DRIVER = """\
import sys
import nbformat
from nbclient import NotebookClient

src, cwd, out, probe = sys.argv[1:5]
nb = nbformat.read(src, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(probe))
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
nbformat.write(nb, out)
"""


def _run(cmd: list[str | os.PathLike[str]], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run ``cmd``; on failure or timeout, kill its whole process group and fail with its output."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited with {proc.returncode}:\n{out[-6000:]}")
    return out


def _notebook_imports() -> set[str]:
    """Top-level modules the notebooks import or load as extensions."""
    found = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                found |= set(re.findall(r"^\s*(?:from|import|%load_ext)\s+(\w+)", cell.source, re.M))
    return found


def test_binder_files():
    assert re.fullmatch(r"python-3\.\d+", (BINDER / "runtime.txt").read_text().strip())
    assert os.access(BINDER / "postBuild", os.X_OK), "binder/postBuild must be executable"
    reqs = (BINDER / "requirements.txt").read_text()
    for name in ("jupyterlab", "ipykernel"):
        assert re.search(rf"^{name}\b", reqs, re.M), f"{name} missing from binder/requirements.txt"


def test_binder_environment_runs_the_quickstart(tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=dict(os.environ), timeout=120)
    python = venv / "bin" / "python"

    # The environment of a fresh image: this venv first on PATH, no other venv, Jupyter and IPython
    # state of its own (no user kernelspecs, config or startup files).
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.pop("MPLBACKEND", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}"
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (tmp_path / var.lower()).mkdir()
        env[var] = str(tmp_path / var.lower())
    env.pop("JUPYTER_PATH", None)

    # repo2docker: `pip install -r binder/requirements.txt`, then `./binder/postBuild` from the root.
    _run(
        [python, "-m", "pip", "install", "-q", "-r", BINDER / "requirements.txt"],
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    _run(["./binder/postBuild"], cwd=ROOT, env=env, timeout=600)

    # Every notebook's imports resolve there (the quickstart below runs; the others need at least these).
    # jupytext opens each notebook paired with its .py source.
    needed = {"py3r", "ipykernel", "jupyterlab", "ipywidgets", "matplotlib", "jupytext"}
    modules = sorted(_notebook_imports() | needed)
    _run(
        [python, "-c", "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)", *modules],
        cwd=ROOT,
        env=env,
        timeout=300,
    )

    # The kernel starts in the notebook's own folder (its paths are relative to it), as in JupyterLab.
    notebook, cwd = QUICKSTART, QUICKSTART.parent
    driver = tmp_path / "execute_notebook.py"
    driver.write_text(DRIVER)
    executed = tmp_path / "executed.ipynb"
    _run([python, driver, notebook, cwd, executed, PROBE], cwd=cwd, env=env, timeout=600)

    nb = nbformat.read(executed, as_version=4)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors, errors
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    probe = json.loads(text.split(PROBE_MARK, 1)[1])
    # The kernel ran the new environment's interpreter ...
    assert Path(probe["prefix"]).resolve() == venv.resolve(), probe
    assert Path(probe["executable"]).parent.resolve() == (venv / "bin").resolve(), probe
    # ... and imported the package from this repository (postBuild's editable install).
    assert Path(probe["package"]).resolve().is_relative_to((ROOT / "src").resolve()), probe
