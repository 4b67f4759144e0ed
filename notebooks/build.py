"""Build the example notebooks of this folder from their sources, executed; or check them.

    python notebooks/build.py                  # execute every NN-name.py into NN-name.ipynb
    python notebooks/build.py 01-quickstart    # only this one (or several)
    python notebooks/build.py --check          # no kernel: each .ipynb holds its .py's cells

A notebook's single source is its jupytext percent-format ``.py`` file, paired with its ``.ipynb``:
edit the ``.py`` (or the notebook in JupyterLab with jupytext, which saves both), then run this.
Each notebook runs top to bottom in a fresh "python3" kernel in this folder, as
``tests/test_example_notebooks.py`` runs it, and is saved with its outputs (not if it fails).
Cells get the ids cell-00, cell-01, ... in order, so rebuilding unchanged cells changes no id.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
TIMEOUT = 120  # seconds one cell may take


def names(folder: Path = HERE) -> list[str]:
    """The notebooks of ``folder``: the stems of its numbered ``.py`` sources."""
    return sorted(p.stem for p in folder.glob("[0-9]*.py"))


def source(name: str, folder: Path = HERE) -> nbformat.NotebookNode:
    """The notebook ``name`` as its ``.py`` source gives it, not executed, with stable cell ids."""
    nb = jupytext.read(folder / f"{name}.py")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh kernel, in this folder; raise on the first error."""
    where = {"metadata": {"path": str(HERE)}}
    # record_timing=False: no execution timestamps in the saved notebooks.
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources=where, record_timing=False)
    return client.execute()


def check(folder: Path = HERE) -> list[str]:
    """Without running anything, a sentence for each ``.ipynb`` that does not hold its source's cells."""
    built = sorted(p.stem for p in folder.glob("*.ipynb"))
    problems = [f"{name}.ipynb has no source {name}.py." for name in built if name not in names(folder)]
    for name in names(folder):
        path = folder / f"{name}.ipynb"
        if not path.exists():
            problems.append(f"{name}.ipynb is missing; build it.")
            continue
        have = [(c.cell_type, c.source) for c in nbformat.read(path, as_version=4).cells]
        want = [(c.cell_type, c.source) for c in source(name, folder).cells]
        if have != want:
            cell = next((i for i, (a, b) in enumerate(zip(have, want)) if a != b), min(len(have), len(want)))
            problems.append(f"{name}.ipynb differs from {name}.py from cell {cell} on; rebuild it.")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"notebooks to build (default: all of {', '.join(names())})")
    parser.add_argument("--check", action="store_true", help="only check that each .ipynb has its cells")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or f"The {len(names())} notebooks hold the cells of their sources.")
        return 1 if problems else 0
    chosen = [n.removesuffix(".ipynb").removesuffix(".py") for n in args.names] or names()
    unknown = [n for n in chosen if n not in names()]
    if unknown:
        parser.error(f"unknown notebook(s): {', '.join(unknown)}; known: {', '.join(names())}")
    for name in chosen:
        t0 = time.monotonic()
        nb = execute(source(name))
        jupytext.write(nb, HERE / f"{name}.ipynb", fmt="ipynb")
        print(f"{name}.ipynb: {len(nb.cells)} cells, executed in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
