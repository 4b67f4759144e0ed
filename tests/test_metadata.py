"""Parameter metadata: ranges, choices, step and description, read statically and enforced up front.

A value outside a parameter's limits is refused by every entry point before any process starts:
the fixture script leaves a file behind whenever it runs, and these tests check that none appears.
"""

from __future__ import annotations

import html
import subprocess
import sys
import textwrap
import warnings

import nbformat
import pytest
from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.interactiveshell import InteractiveShell

from helpers import EXAMPLE, ROOT
from py3r.behaviour.script import (
    IterationFailedWarning,
    Param,
    inspect,
    panel,
    plan_sweep,
    read_script,
    run,
    sensitivity,
)
from py3r.behaviour.script.frontends.cli import main

HEADER = "import math\nfrom py3r.behaviour.script import Param, Output\n"


def write(tmp_path, body, name="s.py"):
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


# Reading -----------------------------------------------------------------------------------------
def test_limits_are_read_as_constants(tmp_path):
    path = write(
        tmp_path,
        """
        window = Param(5, name="window", low=1, high=51, step=2)
        angle = Param(0.0, name="angle", low=-math.pi, high=math.pi, step=math.pi / 8)
        seconds = Param(60, name="seconds", low=1, high=2 * 60 * 60)
        third = Param(0.5, name="third", low=1 / 3, high=2 ** 0.5, doc="  a  ratio  ")
        open_ended = Param(1e3, name="open_ended", low=0, high=math.inf)
        method = Param("mean", name="method", choices=("mean", "median", "mean"))
        anything = Param(None, name="anything", choices=[None, 1, "a", True, -2.5])
        required = Param(name="required", low=0, high=10)
        plain = Param(3, name="plain")
        """,
    )
    p = read_script(path).params
    assert (p["window"].low, p["window"].high, p["window"].step) == (1, 51, 2)
    assert (p["angle"].low, p["angle"].high, p["angle"].step) == (
        -3.141592653589793,
        3.141592653589793,
        0.39269908169872414,
    )
    assert p["seconds"].high == 7200 and type(p["seconds"].high) is int
    assert p["third"].low == 1 / 3 and p["third"].high == 2**0.5 and p["third"].doc == "a  ratio"
    # A float parameter's bounds are floats, whatever their spelling; an open end is infinite.
    assert type(p["open_ended"].low) is float and p["open_ended"].high == float("inf")
    assert p["method"].choices == ("mean", "median")  # listed twice, allowed once
    assert p["anything"].choices == (None, 1, "a", True, -2.5)
    assert (p["required"].low, p["required"].high, p["required"].required) == (0, 10, True)
    plain = p["plain"]
    assert (plain.low, plain.high, plain.step, plain.choices, plain.doc, plain.limited) == (
        None,
        None,
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        (
            "lim = 3\nx = Param(1, name='x', high=lim)\n",
            r"Param 'x' in .*s\.py, line 4 has high=lim, which cannot be read without running the script "
            r"\(it is not a constant\)",
        ),
        ("x = Param(1, name='x', low=len('ab'))\n", r"low=len\('ab'\), which cannot be read"),
        (
            "x = Param(1, name='x', high=1 / 0)\n",
            r"high=1 / 0, which cannot be read .*\(it divides by zero\)",
        ),
        ("x = Param(1, name='x', high=10 ** 10 ** 10)\n", r"\(it is too large a number\)"),
        ("x = Param(1, name='x', high='10')\n", r"high='10', which cannot be read .*'10' is not a number"),
        ("x = Param(1.0, name='x', high=10 ** 400)\n", r"high=10 \*\* 400, too large for a float"),
        ("x = Param('a', name='x', low=0)\n", r"Param 'x' in .*line 3 is a str; low= applies only to int"),
        ("x = Param(True, name='x', high=1)\n", r"is a bool; high= applies only to int and float"),
        ("x = Param(1, name='x', high=2.5)\n", r"is an int; high=2\.5 must be a whole number, or left out"),
        ("x = Param(1, name='x', step=0)\n", r"has step=0; it must be a positive number"),
        ("x = Param(1.0, name='x', low=math.nan)\n", r"has low=math\.nan, which cannot be read"),
        (
            "x = Param(1.0, name='x', low=math.inf - math.inf)\n",
            r"has low=math\.inf - math\.inf, which is NaN; a bound must be a number "
            r"\(math\.inf for no limit\)",
        ),
        ("x = Param(1, name='x', low=5, high=1)\n", r"has low=5 above high=1\. Swap them"),
        (
            "x = Param(0, name='x', low=1, high=5)\n",
            r"has the default 0, which its own limits do not allow: "
            r"it must be within \[1, 5\]",
        ),
        ("x = Param(None, name='x', low=0)\n", r"has the default None, .*it must be at least 0"),
        ("x = Param('c', name='x', choices=['a', 'b'])\n", r"default 'c', .*must be one of \['a', 'b'\]"),
        (
            "C = ['a']\nx = Param('a', name='x', choices=C)\n",
            r"has choices=C, which is not a list written out",
        ),
        (
            "x = Param('a', name='x', choices=['a', str(1)])\n",
            r"has the choice str\(1\), which cannot be read",
        ),
        ("x = Param(1, name='x', choices=[1, 2.5])\n", r"is an int; its choice 2\.5 is not an int"),
        ("x = Param(1, name='x', choices=[])\n", r"has choices=\[\]; list at least one value"),
        ("x = Param(1, name='x', choices=[1, 2], high=2)\n", r"has both choices= and low=/high=/step="),
        ("d = 'x'\nx = Param(1, name='x', doc=d)\n", r"has doc=d, which is not a string literal"),
    ],
)
def test_unreadable_or_contradictory_limits_are_errors_at_discovery(tmp_path, body, pattern):
    path = write(tmp_path, body)
    with pytest.raises(ValueError, match=pattern):
        read_script(path)
    with pytest.raises(ValueError, match=pattern):
        run(path)  # every entry point reads the script first


def test_computed_default_is_checked_when_the_script_runs(tmp_path):
    path = write(tmp_path, "x = Param(len('abcdef'), name='x', high=5)\nOutput(x, name='y')\n")
    assert read_script(path).params["x"].high == 5  # the default is unknown until the script runs
    with pytest.warns(IterationFailedWarning, match=r"Param 'x' is 6; it must be at most 5\."):
        sr = run(path)
    assert sr.iterations[0].failure.exc_type == "ValueError"
    assert run(path, {"x": 4})[{"x": 4}]["y"] == 4


# Descriptions from comments ------------------------------------------------------------------------
def test_descriptions_from_doc_and_comments(tmp_path):
    path = write(
        tmp_path,
        """
        a = Param(1, name="a")  # on the line
        # on the line above
        b = Param(2, name="b")
        # not this one: the line is not right above

        c = Param(3, name="c")
        d = Param(4, name="d", doc="from doc=")  # doc= wins over the comment
        e = Param(5, name="e")  # noqa: E501
        # ----------------------------------
        f = Param(6, name="f")
        g = Param(  # the first line of a call
            7,
            name="g",
        )
        h = Param(
            8, name="h"
        )  # the last line of a call
        s = "# not a comment"; i = Param(9, name="i")
        j = Param(10, name="j")  # frames  # noqa: E501
        """,
    )
    docs = {n: p.doc for n, p in read_script(path).params.items()}
    assert docs == {
        "a": "on the line",
        "b": "on the line above",
        "c": None,
        "d": "from doc=",
        "e": None,  # a tool directive is no description
        "f": None,  # nor is a separator
        "g": "the first line of a call",
        "h": "the last line of a call",
        "i": None,
        "j": "frames",
    }


def test_a_comment_in_the_cell_above_is_not_a_description(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from py3r.behaviour.script import Param, Output\n# setup done"),
        nbformat.v4.new_code_cell("x = Param(1, name='x')\n# the y knob\ny = Param(2, name='y')"),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    params = read_script(path).params
    assert params["x"].doc is None and params["y"].doc == "the y knob"


# Showing -----------------------------------------------------------------------------------------
def test_inspect_adds_limits_and_descriptions_after_the_reference_columns(tmp_path, capsys):
    path = write(
        tmp_path,
        """
        window = Param(5, name="window", low=1, high=51, step=2)  # frames in the window
        method = Param("mean", name="method", choices=["mean", "median"])
        seed = Param(42, name="seed", low=0)
        plain = Param(0.5, name="plain")
        req = Param(name="req", high=9, doc="needed")
        Output(1, name="out")
        """,
        name="pipeline.py",
    )
    inspect(path)
    assert capsys.readouterr().out == (
        f"Script: {path}\n\nParameters:\n"
        "  window               default=5           type=int  range=[1, 51]  step=2  # frames in the window\n"
        "  method               default='mean'      type=str  choices=['mean', 'median']\n"
        "  seed                 default=42          type=int  low=0\n"
        "  plain                default=0.5         type=float\n"
        "  req                  required                      high=9                 # needed\n"
        "\nOutputs:\n  out\n"
    )


def test_html_repr_shows_limits_and_descriptions(tmp_path):
    path = write(tmp_path, "w = Param(5, name='w', low=1, high=51)  # frames <in> the window\n")
    html = read_script(path)._repr_html_()
    assert "<th>allowed</th><th>description</th>" in html
    assert "<td>range=[1, 51]</td><td>frames &lt;in&gt; the window</td>" in html
    plain = read_script(write(tmp_path, "w = Param(5, name='w')\n", name="p.py"))._repr_html_()
    assert "allowed" not in plain  # a script without metadata shows the table it always did


def test_example_declares_its_limits():
    p = read_script(EXAMPLE).params
    assert (p["smooth_window"].low, p["smooth_window"].high, p["smooth_window"].step) == (1, 51, 2)
    assert p["smoothing"].choices == ("mean", "median")
    assert p["threshold"].doc == "cm/s above which the animal counts as moving"
    assert p["centre_fraction"].high < 1 and p["seed"].low == 0
    nb = read_script(EXAMPLE.with_suffix(".ipynb")).params
    assert [(q.low, q.high, q.step, q.choices, q.doc) for q in nb.values()] == [
        (q.low, q.high, q.step, q.choices, q.doc) for q in p.values()
    ]


# Refusing values before any process starts ---------------------------------------------------------
@pytest.fixture
def marked(tmp_path):
    """A script with limits that leaves a file behind whenever it runs."""
    marker = tmp_path / "ran"
    path = write(
        tmp_path,
        f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("x")
        n = Param(5, name="n", low=1, high=9)
        rate = Param(0.5, name="rate", low=0.0, high=1.0)
        how = Param("a", name="how", choices=["a", "b"])
        Output(n, name="y")
        """,
    )
    return path, marker


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda s: run(s, {"n": 0}),
            r"Parameter 'n' of .*s\.py, line 6 must be within \[1, 9\]; got the int 0\.",
        ),
        (
            lambda s: run(s, {"rate": float("nan")}),
            r"'rate' .* must be within \[0\.0, 1\.0\]; got the float nan",
        ),
        (
            lambda s: run(s, {"how": "c"}),
            r"'how' of .*line 8 must be one of \['a', 'b'\]; got the string 'c'",
        ),
        (lambda s: sensitivity(s, {"n": [2, 10]}), r"'n' .* must be within \[1, 9\]; got the int 10"),
        (
            lambda s: sensitivity(s, {"n": [2, 3]}, nominal={"rate": 1.5}),
            r"'rate' .* must be within \[0\.0, 1\.0\]; got the float 1\.5",
        ),
        (lambda s: sensitivity(s, {"how": ["a", "z"]}, mode="grid"), r"must be one of \['a', 'b'\]"),
    ],
)
def test_values_outside_the_limits_are_refused_before_anything_runs(marked, call, pattern):
    script, marker = marked
    with pytest.raises(ValueError, match=pattern):
        call(script)
    assert not marker.exists()


def test_refusal_says_what_to_do(marked):
    with pytest.raises(ValueError, match=r"Pick an allowed value, or change low=/high= at the Param call"):
        run(marked[0], {"n": 10})
    with pytest.raises(ValueError, match=r"or change choices= at the Param call"):
        run(marked[0], {"how": "z"})


def test_values_within_the_limits_run(marked):
    script, marker = marked
    sr = sensitivity(script, {"n": [1, 9]}, nominal={"rate": 1}, progress=False)
    assert [it.values for it in sr.iterations] == [
        {"rate": 1.0, "n": 1},
        {"rate": 1.0, "n": 5},
        {"rate": 1.0, "n": 9},
    ]
    assert marker.exists()


def test_step_is_only_a_hint(tmp_path):
    path = write(tmp_path, "n = Param(5, name='n', low=1, high=51, step=2)\nOutput(n, name='y')\n")
    plan = plan_sweep(read_script(path), {"n": [4, 6]})
    assert [p.key["n"] for p in plan.points] == [4, 5, 6]


def test_cli_refuses_with_status_2(marked):
    script, marker = marked
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "py3r.behaviour.script",
            "sweep",
            str(script),
            "-p",
            "n=1,10",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 2
    assert (
        "py3r-script: error: Parameter 'n' of" in out.stderr
        and "must be within [1, 9]; got the int 10" in out.stderr
    )
    assert main(["run", str(script), "-p", "how=c"]) == 2
    assert main(["sweep", str(script), "-p", "n=2", "--nominal", "rate=2"]) == 2
    assert not marker.exists()


def test_cli_inspect_shows_the_limits(capsys):
    assert main(["inspect", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "smooth_window        default=5           type=int    range=[1, 51]  step=2" in out
    assert "choices=['mean', 'median']" in out and "# cm/s above which the animal counts as moving" in out


def test_magics_refuse_and_show(marked):
    script, marker = marked
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "py3r.behaviour.script")
    try:
        with pytest.raises(IPythonUsageError, match=r"'n' of .* must be within \[1, 9\]; got the int 10"):
            ip.run_cell_magic("sweep", f"{script} --no-plot", "n = [2, 10]\n")
        with pytest.raises(IPythonUsageError, match=r"must be one of \['a', 'b'\]; got the string 'c'"):
            ip.run_cell_magic("sweep", f"{script} --no-plot", "n = [2]\nhow = 'c'\n")
        spec = ip.run_line_magic("inspect_script", str(script))
        assert "range=[1, 9]" in ip.display_formatter.format(spec)[0]["text/html"]
    finally:
        ip.run_line_magic("unload_ext", "py3r.behaviour.script")
    assert not marker.exists()


def test_panel_refuses_in_place(marked):
    from traitlets import TraitError

    script, marker = marked
    p = panel(script)
    try:
        assert p.wait(60)
        marker.unlink()  # the panel's first run, at the defaults
        # The controls cannot hold a value the script does not allow: the sliders span the declared
        # ranges, the drop-down offers the choices.
        n, rate = p.controls["n"], p.controls["rate"]
        assert (n.min, n.max, rate.min, rate.max) == (1, 9, 0.0, 1.0)
        assert [value for _, value in p.controls["how"].options] == ["a", "b"]
        with pytest.raises(TraitError):
            p.controls["how"].value = "c"
        p.sweep_rows["n"][1].value = "2, 12"  # typed values are checked before anything runs
        p.start_button.click()
        assert p.wait(60)
        assert "must be within [1, 9]; got the int 12" in html.unescape(p.sweep_status.value)
    finally:
        p.close()
    assert not marker.exists()


# Param on its own ----------------------------------------------------------------------------------
def test_param_alone_returns_its_default_and_checks_its_arguments():
    assert Param(5, name="w", low=1, high=51, step=2, doc="frames") == 5
    assert Param("b", name="m", choices=("a", "b")) == "b"
    assert Param(2.0, name="t", choices=[1, 2]) == 2.0  # numbers compare by value
    with pytest.raises(ValueError, match=r"Param 'w' is 0; it must be within \[1, 51\]\."):
        Param(0, name="w", low=1, high=51)
    with pytest.raises(ValueError, match=r"Param 'm' is 'c'; it must be one of \['a', 'b'\]\."):
        Param("c", name="m", choices=["a", "b"])
    with pytest.raises(ValueError, match=r"Param 't' is nan; it must be at most 1\."):
        Param(float("nan"), name="t", high=1)
    with pytest.raises(TypeError, match=r"Param 'w': low= takes a number or None; got '1'\."):
        Param(5, name="w", low="1")
    with pytest.raises(TypeError, match=r"choices= takes a non-empty list of scalars"):
        Param(5, name="w", choices={5})
    with pytest.raises(TypeError, match=r"doc= takes a str"):
        Param(5, name="w", doc=3)
    with pytest.raises(ValueError, match=r"low=3 is above high=1"):
        Param(2, name="w", low=3, high=1)
    with pytest.raises(ValueError, match=r"step= must be a positive number; got -1"):
        Param(2, name="w", step=-1)


def test_annotated_script_with_limits_runs_standalone(tmp_path):
    path = write(
        tmp_path, "x = Param(3, name='x', low=1, high=5)  # a knob\nprint(Output(x * 2, name='y'))\n"
    )
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "6"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(path, {"x": 5})[{"x": 5}]["y"] == 10


def test_line_numbers_of_comments_are_python_s(tmp_path):
    # A form feed inside a string is a line end for str.splitlines(), not for Python.
    path = write(tmp_path, 'ff = "\x0c"\nx = Param(1, name="x")  # after the form feed\n')
    assert read_script(path).params["x"].doc == "after the form feed"
