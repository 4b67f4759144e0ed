"""The public surface: sorted __all__, namespace packages, and a light import."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import py3r.behaviour.script as pbs
from helpers import ROOT


def test_all_is_sorted_and_complete():
    assert pbs.__all__ == sorted(pbs.__all__)
    for name in pbs.__all__:
        assert getattr(pbs, name) is not None
    public = {n for n in vars(pbs) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(pbs, n)).__name__ == "module"}
    assert public - modules - {"annotations"} <= set(pbs.__all__)


def test_namespace_packages_have_no_init():
    assert not (ROOT / "src" / "py3r" / "__init__.py").exists()
    assert not (ROOT / "src" / "py3r" / "behaviour" / "__init__.py").exists()


def test_import_is_light():
    code = (
        "import sys, json; import py3r.behaviour.script as m; "
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in "
        "('pandas','numpy','tqdm','IPython','ipywidgets','matplotlib','dask','distributed','cloudpickle'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


def test_reference_import_line():
    from py3r.behaviour.script import Output, Param, ScriptResults, inspect, run, sensitivity  # noqa: F401


def test_the_api_reference_documents_exactly_the_public_names():
    page = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: py3r\.behaviour\.script\.(\S+)$", page, flags=re.M)
    assert sorted(documented) == pbs.__all__
    assert len(documented) == len(set(documented))


def test_the_reference_import_paths_keep_working():
    from py3r.behaviour.script.discovery import discover_outputs, discover_params, validate_names
    from py3r.behaviour.script.param import Output, Param
    from py3r.behaviour.script.results import ScriptResults
    from py3r.behaviour.script.runner import inspect, run, sensitivity

    assert (Param, Output, ScriptResults) == (pbs.Param, pbs.Output, pbs.ScriptResults)
    assert (inspect, run, sensitivity) == (pbs.inspect, pbs.run, pbs.sensitivity)
    assert (discover_params, discover_outputs, validate_names) == (
        pbs.discover_params,
        pbs.discover_outputs,
        pbs.validate_names,
    )
