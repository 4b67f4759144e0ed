"""Notebooks as pipelines: a notebook's code cells read as one source, and places named by cell.

A line of the combined source is named by its cell (``pipeline.ipynb, cell 3 (id a0bab6a4), line 2``)
so that messages point where the user edits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .syntax import parse_python

__all__ = ["cell_at", "cell_label", "locate", "place", "read_notebook"]


def cell_at(cells: list[dict[str, Any]], line: int) -> tuple[dict[str, Any], int]:
    """The cell holding combined line ``line``, and the line within that cell."""
    for cell in cells:
        if cell["start"] <= line < cell["start"] + cell["lines"]:
            return cell, line - cell["start"] + 1
    return cells[-1], line - cells[-1]["start"] + 1


def cell_label(index: int, ident: str | None) -> str:
    """``'cell 3 (id a0bab6a4)'``: a cell by its position among all cells, with its id where it has one."""
    return f"cell {index}" + (f" (id {ident})" if ident else "")


def place(cells: list[dict[str, Any]] | None, line: int) -> str:
    """Combined line ``line`` without the file: ``'line 12'``, or ``'cell 3 (id …), line 2'`` (a notebook)."""
    if not cells:
        return f"line {line}"
    cell, within = cell_at(cells, line)
    return f"{cell_label(cell['index'], cell.get('id'))}, line {within}"


def locate(display: str, cells: list[dict[str, Any]] | None, line: int) -> str:
    """``'pipeline.py, line 12'``, or ``'pipeline.ipynb, cell 3 (id …), line 2'``: a place in a file."""
    return f"{display}, {place(cells, line)}"


def read_notebook(path: Path, display: str) -> tuple[str, dict[str, Any]]:
    """A notebook's code cells, in order, as one Python source (IPython syntax transformed).

    Markdown and raw cells are ignored, so are outputs and execution counts. Each cell keeps its
    own file name, so that the child runs it as a cell and tracebacks name it.
    """
    try:
        import nbformat
    except ImportError:
        raise ImportError(
            f"Reading the notebook {display} needs nbformat: pip install 'py3r-behaviour-script[notebook]'."
        ) from None
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        transform: Any = TransformerManager().transform_cell
    except ImportError:
        transform = None
    nb = nbformat.read(path, as_version=4)
    cells: list[dict[str, Any]] = []
    line = 1
    needs_ipython = False
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        raw = cell.source if cell.source.endswith("\n") else cell.source + "\n"
        ident = cell.get("id")
        label = cell_label(index, ident)
        if transform is None:
            try:
                parse_python(raw)
            except SyntaxError:
                raise ImportError(
                    f"{display}, {label} uses IPython syntax (magics, ! or ?), which needs IPython: "
                    "pip install ipython."
                ) from None
            python = raw
        else:
            python = transform(raw)
            python = python if python.endswith("\n") else python + "\n"
        uses = python.strip() != raw.strip()
        needs_ipython |= uses
        n = python.count("\n")
        cells.append(
            {
                "index": index,
                "id": ident,
                "start": line,
                "lines": n,
                "filename": f"{path.resolve()}, {label}",
                "source": python,
                "ipython": uses,
            }
        )
        line += n
    source = "".join(c["source"] for c in cells)
    task = {"cells": [(c["filename"], c["source"]) for c in cells], "ipython": needs_ipython}
    return source, {"cells": cells, "task": task}
