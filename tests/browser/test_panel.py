"""End to end: the sweep panel in JupyterLab, driven in Debian's chromium by Playwright."""

from __future__ import annotations

import re

import pytest
from labdriver import browser_page, jupyter_server, open_notebook, run_all_cells, write_notebook  # noqa: F401
from playwright.sync_api import expect

from helpers import EXAMPLE
from py3r.behaviour.script import run

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

#: Marks the time (performance.now()) at which the live scalars' text first differs from ``before``.
WATCH = """(before) => {
    window.__shownAt = null;
    const box = document.querySelector('.py3r-live-scalars').closest('.widget-html');
    const obs = new MutationObserver(() => {
        const now = box.querySelector('.py3r-live-scalars');
        if (now && now.innerText !== before) { window.__shownAt = performance.now(); obs.disconnect(); }
    });
    obs.observe(box, {childList: true, subtree: true, characterData: true});
    return performance.now();
}"""


def fraction_moving(threshold: float) -> str:
    """The example's fraction_moving at ``threshold``, as the panel writes it (four significant
    digits, no trailing zeros)."""
    value = run(EXAMPLE, {"threshold": threshold})[{"threshold": threshold}]["fraction_moving"]
    return f"{value:.4f}".rstrip("0")


def press_and_time(page, key: str) -> float:
    """Press ``key`` on the focused slider; the milliseconds until the outputs shown change."""
    before = page.locator(".py3r-live-scalars").inner_text()
    start = page.evaluate(WATCH, before)
    page.keyboard.press(key)
    page.wait_for_function("() => window.__shownAt !== null", timeout=60_000)
    return page.evaluate("() => window.__shownAt") - start


def test_panel_live_rerun_and_sweep(jupyter_server, browser_page, tmp_path, capsys):  # noqa: F811
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
    at_default = fraction_moving(2.0)
    page.wait_for_function(
        f"() => document.querySelector('.py3r-live-scalars').innerText.includes('{at_default}')",
        timeout=60_000,
    )
    slider = page.locator(".widget-hslider", has_text="threshold")
    assert "0.0 to 20.0, step 0.5" in slider.locator("xpath=../..").inner_text()  # its range, in words

    # Move the threshold slider with the keyboard, as a user can: one step up, one back down.
    slider.locator(".noUi-handle").focus()
    new_ms = press_and_time(page, "ArrowRight")
    assert slider.locator(".widget-readout").inner_text() == "2.5"
    assert fraction_moving(2.5) in live.inner_text()
    seen_ms = press_and_time(page, "ArrowLeft")  # 2.0 again: on the slider's grid, and in the store
    assert slider.locator(".widget-readout").inner_text() == "2.0"
    assert at_default in live.inner_text()
    page.wait_for_selector("text=/from the store/", timeout=10_000)
    with capsys.disabled():
        print(f"\nbrowser, key press to outputs: new value {new_ms:.0f} ms, seen before {seen_ms:.0f} ms")
    # A new value costs the run (tens of ms) and the round trip to the kernel; a stored one, the trip.
    assert new_ms < 1000 and seen_ms < 250, (new_ms, seen_ms)

    # The live trace of outputs against the moved parameter is drawn as an image.
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.widget-image')].some(i => i.naturalWidth > 0)",
        timeout=60_000,
    )
    page.screenshot(path=str(tmp_path / "panel-live.png"), full_page=True)

    # A sweep from the Sweep tab: ticking smooth_window fills in its declared range.
    page.locator(".lm-TabBar-tab", has_text="Sweep").click()
    row = page.locator(".widget-hbox", has=page.locator("label", has_text="smooth_window")).last
    row.locator("input[type='checkbox']").check()
    expect(row.locator("input[type='text']")).to_have_value("1:49:9", timeout=10_000)
    page.locator("button", has_text="Start").click()
    page.wait_for_selector(".progress-bar-success", timeout=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-inline-hbox')]"
        ".some(e => e.innerText.includes('10 / 10'))",
        timeout=60_000,
    )
    assert page.locator("text=Done: 10 points, 0 failed.").is_visible()
    # The table of every point (drawn after the plot), and the plot.
    expect(page.locator(".py3r-scroll").last.locator("tbody tr")).to_have_count(10, timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.widget-image')]"
        ".filter(i => i.offsetParent !== null && i.complete && i.naturalWidth > 0).length >= 1",
        timeout=60_000,
    )
    page.screenshot(path=str(tmp_path / "panel-sweep.png"), full_page=True)

    # A sampled design from the same tab: Morris, whose indices table and plot end it. Switching
    # the mode turns the filled-in values of smooth_window into its declared range.
    page.locator("button", has_text="morris").click()
    expect(row.locator("input[type='text']")).to_have_value("1:51", timeout=10_000)
    n_label = page.locator("label", has_text=re.compile(r"^n$"))
    n_box = page.locator(".widget-text", has=n_label).locator("input")
    n_box.fill("4")
    n_box.press("Enter")
    runs = re.compile(r"Morris: 4 trajectories \u00d7 \(D \+ 1\) = 8 runs")
    expect(page.locator(".py3r-note", has_text=runs)).to_be_visible(timeout=10_000)
    page.locator("button", has_text="Start").click()
    page.wait_for_selector("th:text-is('mu_star')", timeout=120_000)
    assert page.locator("text=/Morris indices of 8 runs/").is_visible()
    assert page.locator("text=/A morris design of 8 rows, seed \\d+/").is_visible()
    page.screenshot(path=str(tmp_path / "panel-design.png"), full_page=True)
