"""Drop-in for the reference API: its error wording, its discovery helpers, its empty results.

Users' tests match on the reference's phrases, so each phrase must stand in the message itself. Every
script here lives in a folder whose name holds all the phrases: a message is searched only after
every path is taken out of it, so a phrase found in a path never counts.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from py3r.behaviour.script import Param, ScriptResults, inspect, run, sensitivity
from py3r.behaviour.script.discovery import discover_outputs, discover_params, validate_names

PHRASES = [
    "not found in script",
    "Required parameters not provided",
    "no value in nominal",
    "has no script default and no nominal value",
    "collision",
    "Duplicate Param name",
    "missing the 'name' keyword",
    "No result for parameters",
]


@pytest.fixture
def folder(tmp_path):
    place = tmp_path / " ".join(PHRASES).replace("'", "")
    place.mkdir()
    return place


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text("from py3r.behaviour.script import Output, Param\n" + text)
    return path


def message(exc_info, *paths) -> str:
    """The exception's message with every path (and the folder holding it) taken out."""
    text = exc_info.value.args[0]
    for path in paths:
        for form in (str(path), str(path.parent), path.name):
            text = text.replace(form, "<path>")
    return text


@pytest.fixture
def pipeline(folder):
    return write(
        folder,
        "pipeline.py",
        "window = Param(5, name='window')\n"
        "req = Param(name='req')\n"
        "other = Param(name='other')\n"
        "Output(window * 2, name='doubled')\n",
    )


def test_unknown_parameter_nominal_key_and_output_are_not_found_in_script(pipeline):
    with pytest.raises(ValueError) as info:
        run(pipeline, {"windwo": 3, "req": 1, "other": 1})
    assert "Parameter 'windwo' not found in script <path>. Did you mean 'window'?" in message(info, pipeline)
    with pytest.raises(ValueError) as info:
        sensitivity(pipeline, {"nope": [1]}, nominal={"req": 1, "other": 1}, progress=False)
    assert "'nope' not found in script" in message(info, pipeline)
    with pytest.raises(ValueError) as info:
        sensitivity(pipeline, {"window": [1]}, nominal={"req": 1, "other": 1, "nope": 2}, progress=False)
    assert "Nominal parameter 'nope' not found in script" in message(info, pipeline)
    with pytest.raises(ValueError) as info:
        run(pipeline, {"req": 1, "other": 1}, outputs=["doubld"])
    assert "Output 'doubld' not found in script <path>. Did you mean 'doubled'?" in message(info, pipeline)


def test_every_missing_required_parameter_is_listed(pipeline):
    with pytest.raises(ValueError) as info:
        run(pipeline, {"window": 3})
    text = message(info, pipeline)
    assert text.startswith(
        "Required parameters not provided: 'req' (<path>, line 3), 'other' (<path>, line 4)"
    )
    assert "run(script, {'req': ..., 'other': ...})" in text


def test_required_parameter_neither_swept_nor_nominal_has_no_value_in_nominal(pipeline):
    with pytest.raises(ValueError) as info:
        sensitivity(pipeline, {"window": [1, 2]}, nominal={"req": 1}, progress=False)
    text = message(info, pipeline)
    assert (
        "Required parameter 'other' of <path>, line 4 is not being swept and has no value in nominal" in text
    )


def test_swept_parameter_without_default_or_nominal(pipeline):
    with pytest.raises(ValueError) as info:
        sensitivity(pipeline, {"req": [1, 2]}, nominal={"other": 1}, progress=False)
    assert "Swept parameter 'req' of <path>, line 3 has no script default and no nominal value" in message(
        info, pipeline
    )


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("a = Param(1, name='a')\nOutput(a, name='a')\n", "Name collision in <path>: 'a' is used both"),
        ("a = Param(1, name='a')\nb = Param(2, name='a')\n", "Duplicate Param name 'a' in <path>"),
        ("a = Param(1)\n", "Param() call in <path>, line 2 is missing the 'name' keyword"),
        ("Output(1)\n", "Output() call in <path>, line 2 is missing the 'name' keyword"),
        ("a = Param([1, 2], name='a')\n", "a default must be a scalar"),
    ],
)
def test_name_problems(folder, text, phrase):
    script = write(folder, "bad.py", text)
    for call in (validate_names, discover_params, discover_outputs, inspect, run):
        with pytest.raises(ValueError) as info:
            call(script)
        assert phrase in message(info, script), call.__name__


def test_duplicate_output_names_are_allowed_on_purpose(folder):
    script = write(
        folder, "branches.py", "x = Param(1, name='x')\nOutput(1, name='y')\nOutput(2, name='y')\n"
    )
    validate_names(script)
    assert discover_outputs(script) == ["y"]


def test_param_alone_says_no_default_and_wants_a_scalar(folder):
    script = write(folder, "alone.py", "t = Param(name='threshold')\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "RuntimeError: Param 'threshold' has no default" in out.stderr
    with pytest.raises(TypeError, match="a default must be a scalar"):
        Param([1], name="x")


def test_indexing_without_a_result_raises_key_error_starting_as_the_reference(pipeline):
    sr = run(pipeline, {"req": 1, "other": 2})
    for query in ({"req": 9, "other": 2}, {"nope": 1}, {"req": "text", "other": 2}):
        with pytest.raises(KeyError) as info:
            sr[query]
        assert info.value.args[0].startswith("No result for parameters"), query


def test_discovery_helpers(folder):
    script = write(
        folder,
        "helpers.py",
        "import math\n"
        "if True:\n    Output(0, name='late')\n"  # nested in an `if`, still before 'first' in the source
        "first = Output(1, name='first')\n"
        "b = Param(-1.5, name='b')\n"
        "a = Param(name='a')\n"
        "c = Param(None, name='c')\n"
        "d = Param(math.pi, name='d')\n"
        "Output(2, name='late')\n",
    )
    params = discover_params(script)
    assert params == {"b": -1.5, "a": None, "c": None, "d": None}  # required and computed: None
    assert list(params) == ["b", "a", "c", "d"]  # source order
    assert discover_outputs(script) == ["late", "first"]  # each once, by first call site
    assert validate_names(script) is None


def test_empty_results_container():
    sr = ScriptResults(param_names=["window"], output_names=["summary"])
    assert (len(sr), sr.errors, list(sr.to_dataframe().columns)) == (0, [], ["window", "summary"])
