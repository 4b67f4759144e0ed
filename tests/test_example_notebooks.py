"""The example notebooks in notebooks/: they run, and their committed outputs are what they produce.

Each notebook is executed (a copy: the committed file is never touched) top to bottom in a fresh
``python3`` kernel with ``notebooks/`` as its working directory, exactly as ``notebooks/build.py``
executes it, and must raise nothing. Then, code cell by code cell, the fresh outputs are compared
with the committed ones:

- ``stream`` outputs: the whole stdout and the whole stderr text of the cell (however the kernel split
  it into chunks), after normalisation;
- ``execute_result`` and ``display_data`` outputs, in order: their output type and set of MIME types,
  and their ``text/plain`` after normalisation, except for outputs holding an ``image/png`` or a
  widget view, whose text is not compared (only that such an output is there).

The normaliser (:func:`normalise`) masks what legitimately differs from run to run or machine to
machine:

- the file ipykernel compiles each cell to (``/tmp/ipykernel_<pid>/<hash>.py``, shown in warnings);
- absolute paths into this repository (``/home/me/py3r/examples/...`` -> ``<repo>/examples/...``);
- other temporary paths (``/tmp/...``, the system temporary directory);
- memory addresses (``0x7f...``) and 32-digit hex ids (widget model ids);
- tqdm timings (``[00:01<00:02, 3.1it/s]``) and rates;
- durations (``0.12 s``, ``12 ms``, ``563 μs``: ``%time``'s output, wall times);
- trailing spaces at the ends of lines.

Without running anything, every committed notebook must also have been executed top to bottom,
hold no error output, and have exactly the cells of its jupytext source ``notebooks/NAME.py`` (the
check of ``python notebooks/build.py --check``): after editing a source, run
``python notebooks/build.py NAME`` to regenerate and re-execute its notebook.
"""

from __future__ import annotations

import copy
import difflib
import importlib.util
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "python3"
#: Seconds one cell may take (the slowest takes a few seconds).
CELL_TIMEOUT = 120

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Outputs whose text is not compared, only their presence.
UNCOMPARED_TEXT = ("image/png", WIDGET_VIEW)

_MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[^\s'\"]*ipykernel_\d+/\d+\.py"), "<cell>"),
    (re.compile(r"(?<![\w./])/(?:[\w.+@-]+/)*?(?=(?:examples|notebooks|tests)/)"), "<repo>/"),
    (re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s'\"]*"), "<tmp>"),
    (re.compile(r"/tmp/[^\s'\"]*"), "<tmp>"),
    (re.compile(r"0x[0-9a-fA-F]+"), "0x<addr>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
    (re.compile(r"\[\d+:\d+(?::\d+)?<[^\]]*\]"), "[<tqdm time>]"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:it/s|s/it)"), "<rate>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|µs|μs|us|ms|s|min|h)\b"), "<duration>"),
    (re.compile(r"[ \t]+$", re.MULTILINE), ""),
]


def normalise(text: str) -> str:
    """``text`` with run-to-run differences masked (see the module's docstring)."""
    text = text.replace("\r\n", "\n")
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def test_normaliser():
    raw = (
        "/tmp/ipykernel_4242/123456.py:3: IterationFailedWarning: ...\n"
        '  File "/home/me/src/py3r/examples/open_field/pipeline.py", line 33\n'
        "../examples/open_field/pipeline.py  \n"
        "CPU times: user 1.6 ms, sys: 563 μs, total: 2.16 ms\nWall time: 0.12 s\n"
        "<object at 0x7f3a2b> 100%|##| 8/8 [00:01<00:00, 5.21it/s] model 0123456789abcdef0123456789abcdef\n"
    )
    assert normalise(raw) == (
        "<cell>:3: IterationFailedWarning: ...\n"
        '  File "<repo>/examples/open_field/pipeline.py", line 33\n'
        "../examples/open_field/pipeline.py\n"
        "CPU times: user <duration>, sys: <duration>, total: <duration>\nWall time: <duration>\n"
        "<object at 0x<addr>> 100%|##| 8/8 [<tqdm time>] model <id>\n"
    )


def outputs_of(cell: Any) -> dict[str, Any]:
    """What is compared of a code cell's outputs."""
    streams: dict[str, str] = {}
    rich: list[tuple[str, list[str], str | None]] = []
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            streams[out["name"]] = streams.get(out["name"], "") + out["text"]
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            compared = not any(mime in data for mime in UNCOMPARED_TEXT)
            rich.append((kind, sorted(data), normalise(data.get("text/plain", "")) if compared else None))
        else:  # an error: never expected, shown in full
            rich.append((kind, [out.get("ename", "")], out.get("evalue", "")))
    return {"streams": {name: normalise(text) for name, text in sorted(streams.items())}, "rich": rich}


def _render(rich: tuple[str, list[str], str | None]) -> str:
    kind, mimes, text = rich
    return f"{kind} {mimes}\n{'(text not compared)' if text is None else text}"


def _diff(name: str, index: int, source: str, committed: dict[str, Any], fresh: dict[str, Any]) -> str:
    first = source.splitlines()[0] if source else ""
    lines = [f"{name}, cell {index} ({first!r}): the outputs differ from the committed ones."]
    parts = [
        (f"{stream} stream", committed["streams"].get(stream, ""), fresh["streams"].get(stream, ""))
        for stream in sorted(set(committed["streams"]) | set(fresh["streams"]))
    ]
    for k in range(max(len(committed["rich"]), len(fresh["rich"]))):
        old = _render(committed["rich"][k]) if k < len(committed["rich"]) else ""
        new = _render(fresh["rich"][k]) if k < len(fresh["rich"]) else ""
        parts.append((f"result {k}", old, new))
    for what, old, new in parts:
        if old != new:
            lines.append(f"  {what}:")
            lines += difflib.unified_diff(
                old.splitlines(), new.splitlines(), "committed", "fresh", lineterm="", n=1
            )
    return "\n".join(lines)


def _code_cells(nb: Any) -> list[tuple[int, Any]]:
    return [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def test_there_are_notebooks():
    """An empty parametrisation would pass silently."""
    assert NOTEBOOKS, f"No notebooks in {NOTEBOOK_DIR}."


def test_kernel_is_this_interpreter():
    """``python3`` must start this interpreter, where the package and ipykernel are installed."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    # jupyter_client starts the running interpreter for a kernelspec whose command is plain "python".
    python = spec.argv[0]
    assert (
        python in ("python", "python3", sys.executable)
        or Path(python).resolve() == Path(sys.executable).resolve()
    ), f"The {KERNEL!r} kernelspec in {spec.resource_dir} starts {python}, not {sys.executable}."


def _build_script() -> Any:
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOK_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_hold_the_cells_of_their_sources():
    """Each committed notebook has the cells of its .py source: a source edited was rebuilt."""
    build = _build_script()
    assert build.names() == [p.stem for p in NOTEBOOKS]
    problems = build.check()
    assert not problems, "\n".join(problems) + "\nRun `python notebooks/build.py NAME` for each."


def test_check_sees_an_edited_source_and_a_lone_notebook(tmp_path):
    """The check above can fail: it notices a changed cell, a notebook without source, a missing one."""
    build = _build_script()
    for path in NOTEBOOK_DIR.glob("0[12]-*"):
        shutil.copy(path, tmp_path)
    assert build.check(tmp_path) == []
    cells = len(nbformat.read(tmp_path / "01-quickstart.ipynb", as_version=4).cells)
    with open(tmp_path / "01-quickstart.py", "a") as source:
        source.write("\n# %%\n1 + 1\n")  # a new last cell
    (tmp_path / "02-magics.py").rename(tmp_path / "03-magics.py")
    assert build.check(tmp_path) == [
        "02-magics.ipynb has no source 02-magics.py.",
        f"01-quickstart.ipynb differs from 01-quickstart.py from cell {cells} on; rebuild it.",
        "03-magics.ipynb is missing; build it.",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_executed_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cells."
    not_run = [i for i, cell in cells if cell.get("execution_count") is None]
    assert not not_run, f"{path.name}: code cells {not_run} were never executed; run notebooks/build.py."
    assert [cell.execution_count for _, cell in cells] == list(range(1, len(cells) + 1)), (
        f"{path.name} was not executed top to bottom in one go."
    )
    assert any(cell.outputs for _, cell in cells), f"{path.name} has no outputs."
    errors = [i for i, cell in cells for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{path.name}: cells {errors} hold an error."


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_reproduces_its_outputs(path):
    committed = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        copy.deepcopy(committed),
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        record_timing=False,
    )
    fresh = client.execute()  # raises CellExecutionError, naming the cell, if anything fails
    problems = []
    for (i, old), (_, new) in zip(_code_cells(committed), _code_cells(fresh), strict=True):
        a, b = outputs_of(old), outputs_of(new)
        if a != b:
            problems.append(_diff(path.name, i, old.source, a, b))
    assert not problems, "\n\n".join(problems) + (
        "\n\nIf the change is intended, run `python notebooks/build.py " + path.stem + "`."
    )
