"""Discovery: one parse gives the spec; every bad-script error names the file and line."""

from __future__ import annotations

import textwrap

import pytest

from py3r.behaviour.script import inspect, read_script

HEADER = "from py3r.behaviour.script import Param, Output\n"


def write(tmp_path, body, name="s.py", header=HEADER):
    path = tmp_path / name
    path.write_text(header + textwrap.dedent(body))
    return path


def test_literal_defaults_and_types(tmp_path):
    path = write(
        tmp_path,
        """
        neg = Param(-1, name="neg")
        negf = Param(-1.5, name="negf")
        none = Param(None, name="none")
        spaced = Param("a b", name="spaced")
        yes = Param(True, name="yes")
        computed = Param(len("abc") * 2, name="computed")
        req = Param(name="req")
        kw = Param(default=+2, name="kw")
        """,
    )
    spec = read_script(path)
    got = {
        n: (p.default if p.has_literal_default else repr(p.default), p.type, p.required)
        for n, p in spec.params.items()
    }
    assert got == {
        "neg": (-1, "int", False),
        "negf": (-1.5, "float", False),
        "none": (None, "any", False),
        "spaced": ("a b", "str", False),
        "yes": (True, "bool", False),
        "computed": ("COMPUTED", "computed", False),
        "req": ("MISSING", "any", True),
        "kw": (2, "int", False),
    }
    assert [p.line for p in spec.params.values()] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert spec.params["computed"].default_source == "len('abc') * 2"


def test_aliases_and_calls_anywhere(tmp_path):
    path = write(
        tmp_path,
        """
        import py3r.behaviour.script as pbs
        from py3r.behaviour.script import Param as P, Output as O
        import py3r.behaviour.script

        def f():
            return P(3, name="inner")

        for i in range(3):
            O(i, name="loop")
        y = 2 * pbs.Param(4, name="expr")
        z = py3r.behaviour.script.Param("q", name="dotted")
        if y:
            O(y, name="branch")
        else:
            O(-y, name="branch")
        O(1, name="last")
        """,
        header="",
    )
    spec = read_script(path)
    assert spec.param_names == ["inner", "expr", "dotted"]
    assert spec.output_names == ["loop", "branch", "last"]
    assert spec.outputs["branch"].lines == (14, 16)


def test_outputs_in_source_order_not_walk_order(tmp_path):
    # A breadth-first walk would list 'late' (top level) before 'nested' (inside an if).
    path = write(
        tmp_path,
        """
        if True:
            Output(1, name="nested")
        Output(2, name="late")
        """,
    )
    assert read_script(path).output_names == ["nested", "late"]


def test_unrelated_calls_named_param_are_ignored(tmp_path):
    path = write(
        tmp_path,
        """
        class Thing:
            def Param(self, **kw):
                return kw
        Thing().Param(name="not ours")
        def Output(x): return x
        """,
        header="from py3r.behaviour.script import Param as P\n",
    )
    assert read_script(path).params == {}


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("x = Param(3)\n", r"Param\(\) call in .*s\.py, line 2 is missing the 'name' keyword"),
        ("n = 'x'\nx = Param(3, name=n)\n", r"line 3 has a name= that is not a string literal \(n\)"),
        (
            "x = Param(3, name='not an id')\n",
            r"line 2 has the name 'not an id', which is not a Python identifier",
        ),
        ("Output(3)\n", r"Output\(\) call in .*s\.py, line 2 is missing the 'name' keyword"),
        (
            "a = Param(1, name='a')\n\nb = Param(2, name='a')\n",
            r"Duplicate Param name 'a' in .*: on line 2 and on line 4",
        ),
        (
            "a = Param(1, name='a')\nOutput(a, name='a')\n",
            r"Name collision in .*: 'a' is used both as a Param \(line 2\) and as an Output \(line 3\)",
        ),
        ("a = Param([1, 2], name='a')\n", r"Param 'a' in .*line 2 has the default \[1, 2\], a list"),
    ],
)
def test_bad_scripts(tmp_path, body, pattern):
    path = write(tmp_path, body)
    with pytest.raises(ValueError, match=pattern):
        read_script(path)


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "x = Param(1, name='x')\ny = (\n")
    with pytest.raises(SyntaxError, match=r"s\.py, line 3 does not parse: ") as info:
        read_script(path)
    assert info.value.lineno == 3 and info.value.filename == str(path)


def test_missing_directory_and_unreadable(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_script(tmp_path / "nope.py")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_script(tmp_path)
    bad = tmp_path / "latin.py"
    bad.write_bytes(b"x = '\xe9'\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_script(bad)


def test_inspect_prints_the_reference_layout(tmp_path, capsys):
    path = write(
        tmp_path,
        """
        data_path = Param("/my/data", name="data_path")
        smooth_window = Param(5, name="smooth_window")
        threshold = Param(name="threshold")
        tracking = Output([data_path], name="tracking")
        Output({}, name="summary")
        """,
        name="pipeline.py",
    )
    assert inspect(path) is None
    expected = f"""\
Script: {path}

Parameters:
  data_path            default='/my/data'  type=str
  smooth_window        default=5           type=int
  threshold            required

Outputs:
  tracking
  summary
"""
    assert capsys.readouterr().out == expected


def test_spec_reprs(tmp_path):
    path = write(tmp_path, "x = Param(1, name='x')\nOutput(x, name='<y>')\n".replace("<y>", "y"))
    spec = read_script(path)
    assert str(spec).startswith(f"Script: {path}")
    html = spec._repr_html_()
    assert "<table>" in html and "<code>x</code>" in html and "<code>y</code>" in html


def test_top_level_imports_and_local_modules(tmp_path):
    (tmp_path / "helper_mod.py").write_text("X = 1\n")
    path = write(
        tmp_path,
        """
        import os.path
        from collections import abc, OrderedDict
        import helper_mod
        def f():
            import json
        """,
    )
    spec = read_script(path)
    mods = [(i.module, i.names) for i in spec.imports]
    assert ("os.path", ()) in mods and ("collections", ("abc", "OrderedDict")) in mods
    assert "json" not in [m for m, _ in mods]
    assert spec.local_modules == ("helper_mod",)


def test_source_given_without_a_file(tmp_path):
    spec = read_script(tmp_path / "elsewhere" / "s.py", source=HEADER + "x = Param(2, name='x')\n")
    assert spec.params["x"].default == 2
