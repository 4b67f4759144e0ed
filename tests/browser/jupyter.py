"""Helpers to drive a real JupyterLab in a real browser (Playwright + Debian's chromium)."""

from __future__ import annotations

from pathlib import Path

import nbformat

CHROMIUM = "/usr/bin/chromium"
#: As recommended for headless chromium here: no sandbox (root), and no background network traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells (nbformat v4)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def open_notebook(page, server, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its kernel is idle."""
    page.goto(f"{server.url}lab/tree/{name}?token={server.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    # The kernel must be connected and idle, or keystrokes that run cells are dropped.
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)


def run_all_cells(page) -> None:
    """Run every cell in order (Ctrl+Enter on each) and wait until each shows an execution count."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    for i in range(cells.count()):
        cells.nth(i).locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]
                 .every(p => /\\[\\d+\\]/.test(p.textContent))""",
        timeout=120_000,
    )
