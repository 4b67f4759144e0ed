"""End to end: the panel as a Voila app (the `panel` extra), driven in Debian's chromium."""

from __future__ import annotations

import pytest
from labdriver import chromium_page, start_voila, stop_server, write_notebook
from playwright.sync_api import expect

from helpers import EXAMPLE, allow_process_tree, disallow_process_tree

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_the_panel_as_a_voila_app(tmp_path):
    app = write_notebook(
        tmp_path / "app.ipynb",
        [f"from py3r.behaviour.script import panel\npanel({str(EXAMPLE)!r}, cache=None)"],
    )
    server = start_voila(tmp_path, app)
    allow_process_tree(server.proc.pid)  # its kernel ends with it, below
    try:
        with chromium_page() as page:
            page.goto(f"{server.url}?token={server.token}")
            live = page.locator(".py3r-live-scalars")
            live.wait_for(timeout=120_000)
            assert "fraction_moving" in live.inner_text()
            assert page.locator(".jp-InputArea, .CodeMirror, .cm-editor").count() == 0  # no code shown
            slider = page.locator(".widget-hslider", has_text="smooth_window")
            before = live.inner_text()
            slider.locator(".noUi-handle").focus()
            page.keyboard.press("ArrowRight")  # 5 -> 7: a step of 2, as the script declares
            expect(slider.locator(".widget-readout")).to_have_text("7", timeout=10_000)
            page.wait_for_function(
                "(before) => document.querySelector('.py3r-live-scalars').innerText !== before",
                arg=before,
                timeout=60_000,
            )
            page.screenshot(path=str(tmp_path / "voila.png"), full_page=True)
    finally:
        stop_server(server)
        disallow_process_tree(server.proc.pid)
