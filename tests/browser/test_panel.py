"""End to end: the sweep panel in JupyterLab, driven in Debian's chromium by Playwright."""

from __future__ import annotations

import pytest
from labdriver import browser_page, jupyter_server, open_notebook, run_all_cells, write_notebook  # noqa: F401

from helpers import EXAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_panel_live_rerun_and_sweep(jupyter_server, browser_page, tmp_path):  # noqa: F811
    page = browser_page
    write_notebook(
        jupyter_server.root / "panel.ipynb",
        [f"from py3r.behaviour.script import panel\np = panel({str(EXAMPLE)!r})\np"],
    )
    open_notebook(page, jupyter_server, "panel.ipynb")
    run_all_cells(page)

    # The panel renders with one control per parameter and the first run's outputs.
    live = page.locator(".py3r-live-scalars")
    live.wait_for(timeout=120_000)
    assert "0.818642" in live.inner_text()  # fraction_moving at the defaults (threshold=2)

    # Move the threshold slider: type into its editable readout, as a user can.
    slider = page.locator(".widget-hslider", has_text="threshold")
    readout = slider.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.py3r-live-scalars')?.innerText.includes('0.562742')",
        timeout=120_000,
    )
    # The live trace of outputs against the moved parameter is drawn as an image.
    trace = page.locator("img.widget-image").first
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.widget-image')].some(i => i.naturalWidth > 0)",
        timeout=60_000,
    )
    assert trace.is_visible()
    page.screenshot(path=str(tmp_path / "panel-live.png"), full_page=True)

    # A small sweep from the Sweep tab: the progress bar completes and the plot appears.
    page.locator(".lm-TabBar-tab", has_text="Sweep").click()
    row = page.locator(".widget-hbox", has=page.locator("label", has_text="smooth_window")).last
    row.locator("input[type='text']").fill("1, 11")
    row.locator("input[type='text']").press("Tab")
    page.locator("button", has_text="Start").click()
    page.wait_for_selector(".progress-bar-success", timeout=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-inline-hbox')]"
        ".some(e => e.innerText.includes('3 / 3'))",
        timeout=60_000,
    )
    assert page.locator("text=Done: 3 points, 0 failed.").is_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.widget-image')]"
        ".filter(i => i.naturalWidth > 0).length >= 1",
        timeout=60_000,
    )
    page.screenshot(path=str(tmp_path / "panel-sweep.png"), full_page=True)
