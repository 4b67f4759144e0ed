"""Drive a real JupyterLab in a real browser: a server fixture, a page fixture and helpers.

Playwright drives Debian's chromium (never a downloaded browser). Test modules import the
fixtures from this module; scripts (docs/images/make_images.py) use the plain functions
:func:`start_server`, :func:`stop_server` and :func:`chromium_page`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import nbformat
import pytest

from helpers import allow_process_tree, disallow_process_tree

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


@dataclass
class Server:
    url: str
    token: str
    root: Path
    proc: subprocess.Popen
    log: IO[bytes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _private_env(base: Path, env: dict[str, str] | None) -> dict[str, str]:
    """The environment of a server with config, data and runtime dirs of its own under ``base``."""
    env = dict(os.environ if env is None else env)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (base / sub).mkdir()
        env[var] = str(base / sub)
    env.pop("MPLBACKEND", None)
    return env


def start_server(base: Path, env: dict[str, str] | None = None) -> Server:
    """Start JupyterLab on loopback, with config, data and runtime dirs of its own under ``base``.

    Notebooks live in ``base / "notebooks"`` (the server's root). Stop it with :func:`stop_server`.
    """
    root = base / "notebooks"
    root.mkdir()
    env = _private_env(base, env)
    # No news, update checks or announcements: this machine has no network beyond loopback.
    (base / "config" / "jupyter_server_config.json").write_text(
        json.dumps(
            {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
        )
    )
    token, port = secrets.token_hex(16), _free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 (open as long as the server runs)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            "--allow-root",
            "--LabApp.extension_manager=readonly",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}/", token, root, proc, log)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"JupyterLab did not start: {(base / 'server.log').read_text()[-3000:]}")
        time.sleep(0.2)


def start_voila(base: Path, notebook: Path, env: dict[str, str] | None = None) -> Server:
    """Serve ``notebook`` with Voila on loopback (its page is ``server.url``); stop it with
    :func:`stop_server`. Voila runs the notebook in a new kernel for each page opened."""
    env = _private_env(base, env)
    token, port = secrets.token_hex(16), _free_port()
    log_path = base / "voila.log"
    log = open(log_path, "wb")  # noqa: SIM115 (open as long as the server runs)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            str(notebook),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            f"--token={token}",
        ],
        cwd=notebook.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}/", token, notebook.parent, proc, log)
    deadline = time.monotonic() + 120
    while b"is running at" not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"Voila did not start: {log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return server


def stop_server(server: Server) -> None:
    """SIGTERM lets the server shut its kernels down; SIGKILL if it does not end in time."""
    proc = server.proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    server.log.close()


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 1000, **context: Any) -> Iterator[Any]:
    """A page of Debian's chromium, driven by Playwright (never a downloaded browser).

    ``context`` goes to ``browser.new_page`` (e.g. ``device_scale_factor``).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height}, **context)
        finally:
            browser.close()


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """JupyterLab on loopback for the whole session (see :func:`start_server`)."""
    server = start_server(tmp_path_factory.mktemp("jupyter"))
    allow_process_tree(server.proc.pid)
    try:
        yield server
    finally:
        stop_server(server)
        disallow_process_tree(server.proc.pid)


@pytest.fixture
def browser_page():
    """A page of Debian's chromium, driven by Playwright (never a downloaded browser)."""
    with chromium_page() as page:
        yield page
