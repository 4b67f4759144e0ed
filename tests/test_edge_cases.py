"""Odd scripts and odd values: causes named right, values normalised, keys and names that hold."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest

from helpers import SCRIPTS
from py3r.behaviour.script import IterationFailedWarning, history, read_script, run, sensitivity
from py3r.behaviour.script.frontends.cli import main
from py3r.behaviour.script.values import parse_value


def test_a_script_that_closes_the_librarys_pipes_is_named_so(engine, tmp_path):
    own = tmp_path / "own.txt"
    with pytest.warns(IterationFailedWarning, match="closed the pipe"):
        sr = run(SCRIPTS / "closes_pipes.py", {"own_file": str(own)}, engine=engine)
    (it,) = sr.iterations
    assert it.failure is not None and it.failure.kind == "exit"
    assert it.failure.message.startswith("The script closed the pipe this library receives its outputs")
    assert "SIGKILL" not in it.failure.message and "out of memory" not in it.failure.message
    # A file the script opened under the number of the library's pipe got none of its frames.
    assert own.read_text() == "the script's own text\n"


INT_ENUM_CALLER = """\
import enum
import sys

from py3r.behaviour.script import run, sensitivity


class Level(enum.IntEnum):  # defined in the caller's __main__: no other process can import it
    LOW = 1
    HIGH = 2


class Name(str):
    def __str__(self):
        return "not the value"


sr = run(sys.argv[1], {"a": Level.HIGH, "label": Name("plain")}, engine=sys.argv[2])
echo = sr[{"a": 2, "label": "plain"}]["echo"]
assert not sr.errors, sr.errors
assert echo["a"] == (2, "int") and echo["label"] == ("plain", "str"), echo
sw = sensitivity(sys.argv[1], {"a": [Level.LOW, Level.HIGH]}, engine=sys.argv[2], progress=False)
assert not sw.errors, sw.errors
assert [sw[k]["echo"]["a"] for k in sw.keys()] == [(1, "int"), (2, "int")]
print("ok")
"""


def test_values_of_subclasses_travel_as_their_base_type(engine):
    """An IntEnum member passes the int check; it must reach the script as a plain int."""
    out = subprocess.run(
        [sys.executable, "-c", INT_ENUM_CALLER, str(SCRIPTS / "scalars.py"), engine],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_huge_ints_are_stored_under_a_hashed_key(engine, tmp_path):
    """repr() of an int over 4300 digits fails; the store's key must not depend on it."""
    big, script = 10**5000, SCRIPTS / "int_echo.py"
    first = run(script, {"i": big}, cache=tmp_path, engine=engine)
    again = run(script, {"i": big}, cache=tmp_path, engine=engine)
    other = run(script, {"i": big + 1}, cache=tmp_path, engine=engine)
    assert first.iterations[0].ok and not first.iterations[0].cached, first.errors
    assert again.iterations[0].cached and again[{"i": big}]["bits"] == big.bit_length()
    assert not other.iterations[0].cached and other[{"i": big + 1}]["last_digits"] == 1
    assert len(history(script, store=tmp_path)) == 2


def test_an_int_too_large_for_a_float_parameter_is_a_value_error_naming_it():
    for big in (10**400, 10**5000):
        with pytest.raises(
            ValueError, match=r"Parameter 'b' of .*scalars\.py, line \d+ is a float; got .*too large"
        ):
            run(SCRIPTS / "scalars.py", {"b": big})


NFC, NFD = (unicodedata.normalize(form, "größe") for form in ("NFC", "NFD"))
OUT_NFC, OUT_NFD = (unicodedata.normalize(form, "mäßig") for form in ("NFC", "NFD"))


def test_names_are_compared_in_unicode_normal_form(engine):
    """The script writes one name composed and one decomposed; the caller types the other forms."""
    script = SCRIPTS / "unicode_names.py"
    assert NFC in script.read_text(encoding="utf-8") and OUT_NFD in script.read_text(encoding="utf-8")
    spec = read_script(script)
    assert list(spec.params) == [NFC] and list(spec.outputs) == [OUT_NFC]
    sr = run(script, {NFD: 3}, outputs=[OUT_NFD], engine=engine)
    assert not sr.errors, sr.errors
    assert sr[{NFC: 3}][OUT_NFC] == 6 and sr[{NFD: 3}][OUT_NFC] == 6
    sw = sensitivity(script, {NFD: [2]}, nominal={NFD: 4}, mode="grid", engine=engine, progress=False)
    assert [sw[k][OUT_NFC] for k in sw.keys()] == [4, 8]  # the nominal value joins the grid
    assert parse_value(spec, NFD, "5") == 5


def test_names_in_unicode_normal_form_on_the_command_line(capsys):
    assert main(["run", str(SCRIPTS / "unicode_names.py"), "-p", f"{NFD}=3"]) == 0
    assert f"{OUT_NFC} = 6" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("variable", "value", "wanted"),
    [
        ("PY3R_SCRIPT_MAX_OUTPUT_BYTES", "1GB", "positive whole number of bytes; got '1GB'"),
        ("PY3R_SCRIPT_MAX_OUTPUT_BYTES", "-5", "positive whole number of bytes; got '-5'"),
        ("PY3R_SCRIPT_WORKER_IDLE", "ten", "positive number of seconds; got 'ten'"),
        ("PY3R_SCRIPT_WORKER_IDLE", "nan", "positive number of seconds; got 'nan'"),
    ],
)
def test_a_bad_environment_variable_names_itself(variable, value, wanted, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    engine = "fork" if variable == "PY3R_SCRIPT_WORKER_IDLE" else "subprocess"
    with pytest.raises(ValueError, match=f"The environment variable {variable} must be a {wanted}"):
        run(SCRIPTS / "scalars.py", engine=engine)
    assert main(["run", str(SCRIPTS / "scalars.py"), "--engine", engine]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"py3r-script: error: The environment variable {variable}") and "Traceback" not in err
    )
