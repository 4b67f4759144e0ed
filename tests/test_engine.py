"""The engines: warm-worker reuse and isolation, edits picked up, no orphan when the owner dies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from helpers import SCRIPTS, leftover_processes, session_processes, wait_for, warm_processes
from py3r.behaviour.script import run, sensitivity
from py3r.behaviour.script._engine import get_engine
from py3r.behaviour.script._engine.fork import POOL, ForkEngine
from py3r.behaviour.script._engine.subprocess import SubprocessEngine


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_get_engine(monkeypatch):
    assert isinstance(get_engine("fork"), ForkEngine)
    assert isinstance(get_engine("subprocess"), SubprocessEngine)
    monkeypatch.setenv("PY3R_SCRIPT_ENGINE", "subprocess")
    assert isinstance(get_engine(), SubprocessEngine)
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'fork', 'subprocess'"):
        get_engine("threads")  # type: ignore[arg-type]
    monkeypatch.setenv("PY3R_SCRIPT_ENGINE", "fast")
    with pytest.raises(ValueError, match=r"PY3R_SCRIPT_ENGINE must be .* got 'fast'\. Set one of those"):
        get_engine()


def test_no_state_leaks_between_iterations(engine, tmp_path):
    write(tmp_path / "counter_mod.py", "count = 0\n")
    script = write(
        tmp_path / "s.py",
        """\
        import json
        import counter_mod
        from py3r.behaviour.script import Param, Output
        i = Param(0, name="i")
        counter_mod.count += 1
        json.SEEN = getattr(json, "SEEN", 0) + 1  # json is preloaded by the warm worker
        Output((counter_mod.count, json.SEEN), name="counts")
        """,
    )
    sr = sensitivity(script, {"i": [0, 1, 2, 3]}, progress=False, engine=engine)
    assert [sr[k]["counts"] for k in sr.keys()] == [(1, 1)] * 4


def test_edits_to_script_and_local_module_are_picked_up(engine, tmp_path):
    mod = write(tmp_path / "helper_mod.py", "VALUE = 1\n")
    script = write(
        tmp_path / "s.py",
        """\
        import helper_mod
        from py3r.behaviour.script import Output
        Output(helper_mod.VALUE, name="v")
        Output("first", name="which")
        """,
    )
    assert run(script, engine=engine)[{}]["v"] == 1
    write(mod, "VALUE = 2\n")
    assert run(script, engine=engine)[{}]["v"] == 2
    script.write_text(script.read_text().replace('"first"', '"second"'))
    assert run(script, engine=engine)[{}]["which"] == "second"


def test_warm_worker_is_reused_and_replaced_when_it_dies(tmp_path):
    script = write(
        tmp_path / "s.py",
        "import os\nfrom py3r.behaviour.script import Output\nOutput(os.getpid(), name='pid')\n",
    )
    first = run(script, engine="fork")[{}]["pid"]
    workers = set(POOL.pids())
    second = run(script, engine="fork")[{}]["pid"]
    assert first != second  # a fresh process each time ...
    assert set(POOL.pids()) == workers  # ... forked from the same warm worker
    for pid in workers - {os.getpid()}:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not (set(POOL.pids()) & workers), timeout=10, what="the worker to die")
    assert isinstance(run(script, engine="fork")[{}]["pid"], int)


def test_idle_worker_exits_and_is_restarted(tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_WORKER_IDLE", "0.3")
    (tmp_path / "idle").mkdir()
    script = write(
        tmp_path / "idle" / "s.py", "from py3r.behaviour.script import Output\nOutput(1, name='x')\n"
    )
    before = set(POOL.pids())
    assert run(script, engine="fork")[{}]["x"] == 1
    new = set(POOL.pids()) - before
    assert len(new) == 1
    wait_for(lambda: not (set(POOL.pids()) & new), timeout=10, what="the idle worker to exit")
    assert run(script, engine="fork")[{}]["x"] == 1


def test_module_starting_threads_is_not_preloaded(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    write(
        lib / "threaded_lib.py",
        """\
        import threading
        _stop = threading.Event()
        threading.Thread(target=_stop.wait, daemon=True).start()
        VALUE = 7
        """,
    )
    monkeypatch.setenv("PYTHONPATH", str(lib))
    (tmp_path / "app").mkdir()
    script = write(
        tmp_path / "app" / "s.py",
        "import threaded_lib\nfrom py3r.behaviour.script import Output\n"
        "Output(threaded_lib.VALUE, name='v')\n",
    )
    assert run(script, engine="fork")[{}]["v"] == 7
    assert "threaded_lib" in POOL.threaded


OWNER = """\
import sys
from py3r.behaviour.script import sensitivity
sensitivity(
    sys.argv[1], {{"hang": [True]}}, nominal={{"marker": sys.argv[2], "busy": {busy!r}}}, engine={engine!r},
    progress=False,
)
"""


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "sending"])
def test_killing_the_owner_leaves_nothing_behind(engine, busy, tmp_path):
    marker = tmp_path / "grandchild.pid"
    before = set(session_processes())
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            OWNER.format(engine=engine, busy=busy),
            str(SCRIPTS / "sleeper_with_grandchild.py"),
            str(marker),
        ],
        stdin=subprocess.DEVNULL,
    )
    try:

        def grandchild_started():
            assert owner.poll() is None, "the owner process ended early"
            return marker.exists() and marker.read_text().strip()

        wait_for(grandchild_started, timeout=60, what="the grandchild")
        grandchild = int(marker.read_text())
        ours = set(session_processes()) - before
        assert grandchild in ours and owner.pid in ours and len(ours) >= 3
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        wait_for(
            lambda: not (set(session_processes()) & ours),
            timeout=15,
            what="every process of the killed owner to exit",
        )
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    assert not leftover_processes(set(), warm_processes())


def test_falls_back_to_a_new_interpreter_when_the_worker_cannot_start(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    # A library that cannot be imported inside a warm worker (it kills the worker process).
    write(
        lib / "worker_killer.py",
        "import os, sys\nif sys.argv[0].endswith('zygote.py'):\n    os._exit(3)\n",
    )
    monkeypatch.setenv("PYTHONPATH", str(lib))
    (tmp_path / "app").mkdir()
    script = write(
        tmp_path / "app" / "s.py",
        "import worker_killer\nfrom py3r.behaviour.script import Output\nOutput(5, name='v')\n",
    )
    with pytest.warns(RuntimeWarning, match=r"The warm worker exited while starting\..*engine='subprocess'"):
        sr = run(script, engine="fork")
    assert sr[{}]["v"] == 5 and sr.iterations[0].info["engine"] == "subprocess"


def test_the_callers_directory_shadows_nothing(engine, tmp_path, monkeypatch):
    """A pickle.py, signal.py or selectors.py in the caller's working directory is never imported by
    the warm worker or an iteration's process: imports resolve as under ``python script.py``."""
    shutil.copytree(SCRIPTS / "hostile_cwd", tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    POOL.close()  # a worker started from another directory would hide the problem
    sr = sensitivity(SCRIPTS / "stdlib_imports.py", {"i": [1, 2]}, engine=engine, progress=False)
    assert not sr.errors, sr.errors
    for key in sr.keys():
        out = sr[key]
        assert out["first_on_path"] == str(SCRIPTS)
        assert out["cwd_on_path"] is False
        assert not any(f.startswith(str(tmp_path)) for f in out["module_files"])
    assert sorted(p.name for p in (tmp_path / "cwd").iterdir()) == ["pickle.py", "selectors.py", "signal.py"]
