"""Param and Output are transparent outside a runner."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from py3r.behaviour.script import Output, Param


@pytest.mark.parametrize("default", [5, -1.5, None, "a b", True, False, 0.0])
def test_param_returns_its_default(default):
    value = Param(default, name="x")
    assert value == default and type(value) is type(default)


def test_param_without_default_says_how_to_run():
    with pytest.raises(RuntimeError, match=r"Param 'threshold' has no default.*run\(\) or sensitivity\(\)"):
        Param(name="threshold")


@pytest.mark.parametrize("bad", [[1, 2], {"a": 1}, (1,), object()])
def test_param_rejects_non_scalar_defaults(bad):
    with pytest.raises(TypeError, match=r"must be a scalar \(bool, int, float, str or None\)"):
        Param(bad, name="x")


@pytest.mark.parametrize("name", ["", "not an id", 3, None])
def test_names_must_be_identifiers(name):
    with pytest.raises(ValueError, match="identifier"):
        Param(1, name=name)
    with pytest.raises(ValueError, match="identifier"):
        Output(1, name=name)


def test_output_returns_the_same_object():
    df = pd.DataFrame({"a": [1, 2]})
    assert Output(df, name="summary") is df


def test_annotated_script_runs_standalone(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Param, Output\n"
        "x = Param(3, name='x')\nprint(Output(x * 2, name='y'))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "6"
