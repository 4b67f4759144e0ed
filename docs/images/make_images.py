"""Make the README's pictures from the bundled example, so they can be made again after a change.

    python docs/images/make_images.py [--out DIR] [--only {sensitivity,panel}]

* ``sensitivity.png``: ``sensitivity()`` of examples/open_field/pipeline.py over ``smooth_window``
  and ``threshold``, drawn by the library's own ``ScriptResults.plot()``.
* ``panel.png``: the sweep panel (``panel()``) in a real JupyterLab, in Debian's headless chromium
  driven by Playwright, after a small sweep from its Sweep tab; cropped to the cell's output.

Needs the ``notebook`` and ``test`` extras (matplotlib, JupyterLab, Playwright) and
``/usr/bin/chromium``; no browser is ever downloaded. The JupyterLab server, its kernel and the
browser are all stopped before the script ends, whether it succeeds or not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE = Path("examples") / "open_field" / "pipeline.py"

#: The sweep drawn in sensitivity.png (each list holds the script's default: the starred nominal).
SWEEP = {"smooth_window": [1, 3, 5, 11, 21, 41], "threshold": [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]}
#: What is typed into the panel's Sweep tab.
PANEL_SWEEP = {"smooth_window": "1, 5, 11, 21", "threshold": "1, 2, 4, 8"}
#: Browser viewport: wide enough for the panel's plot beside nothing else (left sidebar closed).
VIEWPORT = (1060, 2200)


def make_sensitivity(out: Path) -> Path:
    """A sensitivity plot of the example pipeline, ~900 px wide."""
    from py3r.behaviour.script import sensitivity

    results = sensitivity(ROOT / EXAMPLE, SWEEP, progress=False, workers=os.cpu_count() or 1)
    if results.failures:
        raise RuntimeError(f"The example failed in the sweep: {results.failures}")
    fig = results.plot(figsize=(9.0, 7.0))
    fig.savefig(out, dpi=100, metadata={"Software": None})  # no version stamp: same input, same file
    return out


def make_panel(out: Path, work: Path) -> Path:
    """A screenshot of the sweep panel after a small sweep, in JupyterLab in headless chromium."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
    from labdriver import (
        chromium_page,
        open_notebook,
        run_all_cells,
        start_server,
        stop_server,
        write_notebook,
    )

    env = dict(os.environ)
    # The panel's run store and its key stay in the scratch directory, never the user's own.
    env["PY3R_SCRIPT_STORE"] = str(work / "store")
    env["PY3R_SCRIPT_KEY_FILE"] = str(work / "store.key")
    server = start_server(work, env)
    try:
        # The example beside the notebook, so the panel shows the path a reader would type.
        (server.root / EXAMPLE).parent.mkdir(parents=True)
        shutil.copy(ROOT / EXAMPLE, server.root / EXAMPLE)
        write_notebook(
            server.root / "panel.ipynb",
            [f"from py3r.behaviour.script import panel\n\npanel({str(EXAMPLE)!r})"],
        )
        with chromium_page(*VIEWPORT) as page:
            _drive_panel(page, server, open_notebook, run_all_cells, out)
    finally:
        _shutdown_kernels(server)
        stop_server(server)
    return out


def _drive_panel(page, server, open_notebook, run_all_cells, out: Path) -> None:
    open_notebook(page, server, "panel.ipynb")
    # Only the notebook on screen: close the file browser (Ctrl+B toggles the left sidebar).
    if page.locator("#jp-left-stack").is_visible():
        page.keyboard.press("Escape")
        page.keyboard.press("Control+b")
        page.locator("#jp-left-stack").wait_for(state="hidden", timeout=10_000)
    run_all_cells(page)
    page.locator(".py3r-live-scalars").wait_for(timeout=120_000)

    page.locator(".lm-TabBar-tab", has_text="Sweep").click()
    for name, values in PANEL_SWEEP.items():
        row = page.locator(".widget-hbox", has=page.locator("label", has_text=name)).last
        row.locator("input[type='text']").fill(values)
        row.locator("input[type='text']").press("Tab")
    page.locator("button", has_text="Start").click()
    page.locator("text=/Done: \\d+ points, 0 failed\\./").wait_for(timeout=120_000)
    # The last redraw sets the plot, then the table: wait for every row, then for the decoded plot.
    page.wait_for_function(
        """() => { const n = document.body.innerText.match(/Done: (\\d+) points/);
                   const t = [...document.querySelectorAll('.py3r-scroll')].pop();
                   return n && t && t.querySelectorAll('tbody tr').length === Number(n[1]); }""",
        timeout=60_000,
    )
    page.wait_for_function(
        """() => [...document.querySelectorAll('img.widget-image')]
                 .some(i => i.offsetParent !== null && i.complete && i.naturalWidth > 300)""",
        timeout=60_000,
    )
    # A still picture: no focus ring, caret or hover highlight.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    output = page.locator(".jp-Notebook .jp-Cell .jp-OutputArea-output").first
    output.screenshot(path=str(out), animations="disabled", caret="hide")


def _shutdown_kernels(server) -> None:
    """Shut the notebook's kernel down through the server (its workers end with it)."""
    auth = {"Authorization": f"token {server.token}"}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"{server.url}api/kernels", headers=auth), timeout=10
        ) as r:
            kernels = json.load(r)
        for k in kernels:
            req = urllib.request.Request(f"{server.url}api/kernels/{k['id']}", headers=auth, method="DELETE")
            urllib.request.urlopen(req, timeout=30).close()
    except OSError:
        pass  # stopping the server shuts down whatever is left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="directory for the PNGs (default: %(default)s)"
    )
    parser.add_argument("--only", choices=["sensitivity", "panel"], help="make only this picture")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.only in (None, "sensitivity"):
        t0 = time.monotonic()
        path = make_sensitivity(args.out / "sensitivity.png")
        print(f"{path} ({path.stat().st_size // 1024} KB, {time.monotonic() - t0:.1f} s)")
    if args.only in (None, "panel"):
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="py3r-images-") as work:
            path = make_panel(args.out / "panel.png", Path(work))
        print(f"{path} ({path.stat().st_size // 1024} KB, {time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
