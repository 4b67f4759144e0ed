"""Fixtures shared by the whole suite, and the check that no test leaves a process behind."""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from helpers import EXAMPLE, ROOT, SCRIPTS, leftover_processes, warm_processes

ENGINES = ["fork", "subprocess"]


@pytest.fixture(autouse=True)
def _no_leftover_processes():
    """After every test, nothing the test started may still run: only idle warm workers may stay."""
    yield
    deadline = time.monotonic() + 5.0  # SIGKILLed processes vanish asynchronously
    while True:
        left = leftover_processes(set(), warm_processes())
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if left:
        for pid in left:  # do not let one test's leak fail the next ones
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
    assert not left, (
        "Processes left alive after the test (pid: (ppid, command)): "
        f"{left}. If a long-lived fixture owns one, register it with helpers.allow_process_tree(pid)."
    )


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    """Run a test once per engine."""
    return request.param


@pytest.fixture
def scripts():
    return SCRIPTS


@pytest.fixture
def example():
    return EXAMPLE


@pytest.fixture
def root():
    return ROOT


@pytest.fixture
def in_root(monkeypatch):
    """Run from the repository root (the reference examples use paths relative to it)."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture(autouse=True, scope="session")
def _store_key(tmp_path_factory):
    """Run stores sign with a key of this test session, never the user's own."""
    key = tmp_path_factory.mktemp("key") / "store.key"
    old = os.environ.get("PY3R_SCRIPT_KEY_FILE")
    os.environ["PY3R_SCRIPT_KEY_FILE"] = str(key)
    yield key
    if old is None:
        del os.environ["PY3R_SCRIPT_KEY_FILE"]
    else:
        os.environ["PY3R_SCRIPT_KEY_FILE"] = old


@pytest.fixture(autouse=True, scope="session")
def _default_store(tmp_path_factory):
    """cache=True (the panel's default) writes to a store of this test session, not the repository."""
    store = tmp_path_factory.mktemp("default-store")
    old = os.environ.get("PY3R_SCRIPT_STORE")
    os.environ["PY3R_SCRIPT_STORE"] = str(store)
    yield store
    if old is None:
        del os.environ["PY3R_SCRIPT_STORE"]
    else:
        os.environ["PY3R_SCRIPT_STORE"] = old


@pytest.fixture
def make_panel():
    """``make_panel(script, **kw)``: a panel of the script, closed after the test."""
    from py3r.behaviour.script import panel

    made = []

    def make(script, **kw):
        p = panel(script, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
