"""Fixtures shared by the whole suite, and the check that no test leaves a process behind."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from helpers import EXAMPLE, ROOT, SCRIPTS, leftover_processes, session_processes
from py3r.behaviour.script.engine import POOL

ENGINES = ["fork", "subprocess"]


def warm_processes() -> set[int]:
    """The idle warm workers and their pre-forked spares: the only processes allowed to stay."""
    workers = set(POOL.pids())
    spares = set()
    for pid in session_processes():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if comm == "py3r-spare" and ppid in workers:
            spares.add(pid)
    return workers | spares


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
