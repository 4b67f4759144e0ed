"""Sweeps on a real dask.distributed LocalCluster (loopback) and on concurrent.futures pools."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import threading
from pathlib import Path

import dask
import pytest

from helpers import (
    EXAMPLE,
    EXAMPLE_SCALARS,
    SCRIPTS,
    allow_command,
    allow_process_tree,
    disallow_command,
    disallow_process_tree,
    running_iterations,
    session_processes,
    wait_for,
)
from py3r.behaviour.script import CancelToken, IterationFailedWarning, SweepInterruptedWarning, sensitivity

distributed = pytest.importorskip("distributed")

pytestmark = [
    pytest.mark.timeout(300),
    # The cluster's own chatter when a worker is killed on purpose, or at shutdown.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*Port.*is already in use.*:UserWarning"),
]


@pytest.fixture(scope="module")
def client():
    before = set(session_processes())
    # No retries: a killed worker turns into that iteration's recorded failure at once.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=50
        )
    roots = set(session_processes()) - before
    for pid in roots:
        allow_process_tree(pid)
    allow_command("--multiprocessing-fork")  # workers the nannies restart after a kill
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
    for pid in roots:
        disallow_process_tree(pid)
    disallow_command("--multiprocessing-fork")


def test_same_results_as_locally(client):
    params = {"threshold": [1.0, 4.0], "smooth_window": [3, 9]}
    here = sensitivity(EXAMPLE, params, progress=False, workers=2)
    there = sensitivity(EXAMPLE, params, progress=False, executor=client)
    assert there.to_dataframe(outputs=EXAMPLE_SCALARS).equals(here.to_dataframe(outputs=EXAMPLE_SCALARS))
    assert {it.info["worker"] for it in there.iterations} <= set(client.scheduler_info()["workers"])
    assert there[{"threshold": 1.0, "smooth_window": 5}]["tracking"].equals(
        here[{"threshold": 1.0, "smooth_window": 5}]["tracking"]
    )


def test_failure_causes_are_recorded_the_same_way(client, tmp_path):
    script = tmp_path / "f.py"
    script.write_text(
        "import os, sys, ctypes\nfrom py3r.behaviour.script import Output, Param\n"
        "how = Param('ok', name='how')\n"
        "if how == 'raise':\n    raise ValueError('boom')\n"
        "if how == 'exit':\n    sys.exit(3)\n"
        "if how == 'segv':\n    ctypes.string_at(0)\n"
        "if how == 'loop':\n    while True:\n        pass\n"
        "Output(how, name='y')\n"
    )
    with pytest.warns(IterationFailedWarning, match="4 of 5 iterations"):
        sr = sensitivity(
            script, {"how": ["raise", "exit", "segv", "loop"]}, executor=client, timeout=2, progress=False
        )
    causes = {it.params["how"]: it.failure.kind if it.failure else "ok" for it in sr.iterations}
    assert causes == {"raise": "exception", "exit": "exit", "segv": "signal", "loop": "timeout", "ok": "ok"}
    raised = sr.iteration({"how": "raise"}).failure
    assert raised.message == "The script raised ValueError: boom" and "f.py" in raised.traceback
    assert sr.iteration({"how": "segv"}).failure.signal == "SIGSEGV"


def test_classes_defined_in_the_script_travel_back(client, tmp_path):
    script = tmp_path / "c.py"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\n"
        "class Point:\n    def __init__(self, x):\n        self.x = x\n"
        "x = Param(1, name='x')\nOutput(Point(x), name='point')\n"
    )
    sr = sensitivity(script, {"x": [2, 3]}, executor=client, progress=False)
    points = [sr[{"x": x}]["point"] for x in (1, 2, 3)]
    assert [type(p).__name__ for p in points] == ["Point"] * 3 and [p.x for p in points] == [1, 2, 3]


def test_worker_killed_mid_task_is_recorded(client, tmp_path):
    script = tmp_path / "k.py"
    script.write_text(
        "import os, pathlib, time\nfrom py3r.behaviour.script import Output, Param\n"
        "i = Param(0, name='i')\nd = pathlib.Path(Param('', name='d'))\n"
        "if i == 1:\n    (d / 'pid').write_text(str(os.getpid()))\n"
        "    while True:\n        time.sleep(0.05)\n"
        "Output(i, name='y')\n"
    )
    found = {}

    def kill_the_worker():
        wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text(), timeout=120)
        pid = int((tmp_path / "pid").read_text())
        chain = [pid]
        for _ in range(2):  # iteration -> warm worker -> Dask worker
            chain.append(int(Path(f"/proc/{chain[-1]}/stat").read_text().rsplit(")", 1)[1].split()[1]))
        found["worker"] = chain[-1]
        os.kill(chain[-1], signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    with pytest.warns(IterationFailedWarning):
        sr = sensitivity(
            script, {"i": [1, 2, 3]}, nominal={"d": str(tmp_path)}, executor=client, progress=False
        )
    killer.join()
    try:
        failure = sr.iteration({"i": 1}).failure
        assert failure.kind == "worker" and "died" in failure.message
        # Tasks queued on the dead worker may share its fate (no retries here); none hangs.
        assert all(it.ok or it.failure.kind == "worker" for it in sr.iterations)
        assert any(it.ok for it in sr.iterations)
        wait_for(lambda: not running_iterations(), timeout=30, what="the killed worker's iteration to go")
    finally:
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, timeout=60, what="the nanny's restart")


def test_cancel_stops_running_tasks_and_keeps_finished(client, tmp_path):
    # Through the streaming hook the panel uses, so the test knows when points 0 and 1 have arrived.
    from py3r.behaviour.script import execute_plan, plan_sweep, read_script

    token = CancelToken()
    arrived: list[int] = []
    plan = plan_sweep(
        read_script(SCRIPTS / "slow_steps.py"),
        {"i": [1, 3]},
        nominal={"marker_dir": str(tmp_path), "slow_from": 3},
    )

    def cancel_when_only_the_slow_point_runs():
        wait_for(
            lambda: (tmp_path / "started-3").exists() and len(arrived) == 2,
            timeout=120,
            what="points 0 and 1 back and point 3 started",
        )
        token.cancel()

    t = threading.Thread(target=cancel_when_only_the_slow_point_runs)
    t.start()
    with pytest.warns(SweepInterruptedWarning):
        sr = execute_plan(
            plan,
            executor=client,
            cancel=token,
            progress=False,
            on_iteration=lambda it, res: arrived.append(it.params["i"]),
        )
    t.join()
    statuses = {it.params["i"]: it.status for it in sr.iterations}
    assert statuses == {0: "ok", 1: "ok", 3: "cancelled"} and sr.interrupted
    wait_for(lambda: not running_iterations(), timeout=30, what="the cancelled iteration's process to go")


@pytest.mark.parametrize("pool", [cf.ThreadPoolExecutor, cf.ProcessPoolExecutor])
def test_any_concurrent_futures_executor(pool):
    with pool(max_workers=2) as executor:
        sr = sensitivity(
            EXAMPLE, {"threshold": [1.0, 4.0]}, executor=executor, progress=False, outputs=EXAMPLE_SCALARS
        )
    here = sensitivity(EXAMPLE, {"threshold": [1.0, 4.0]}, progress=False, outputs=EXAMPLE_SCALARS)
    assert sr.to_dataframe().equals(here.to_dataframe())  # only scalars captured: a table as it is


def test_cli_scheduler_option(client, tmp_path):
    import subprocess
    import sys

    address = client.scheduler.address
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "py3r.behaviour.script",
            "sweep",
            str(EXAMPLE),
            "-p",
            "threshold=1,4",
            "--scheduler",
            address,
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split()[:2] == ["threshold", "fraction_moving"]
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "py3r.behaviour.script",
            "sweep",
            str(EXAMPLE),
            "-p",
            "threshold=1",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert bad.returncode == 2 and "Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in bad.stderr


def test_magic_and_panel_on_the_cluster(client):
    from IPython.core.interactiveshell import InteractiveShell

    from py3r.behaviour.script import panel

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "py3r.behaviour.script")
    ip.run_cell_magic(
        "sweep", f"{EXAMPLE} --no-plot --scheduler {client.scheduler.address} -o remote", "threshold = [4.0]"
    )
    remote = ip.user_ns["remote"]
    assert all(it.info["worker"].startswith("tcp://") for it in remote.iterations)
    p = panel(EXAMPLE, executor=client, cache=None)
    try:
        assert p.wait(60)
        p.sweep_rows["threshold"][1].value = "1, 4"
        p.start_button.click()
        assert p.wait(120)
        assert all(it.info["worker"].startswith("tcp://") for it in p.results.iterations)
    finally:
        p.close()


def test_notebook_pipeline_on_the_cluster(client):
    notebook = EXAMPLE.with_suffix(".ipynb")
    sr = sensitivity(notebook, {"threshold": [4.0]}, executor=client, progress=False)
    assert sr[{"threshold": 4.0}]["fraction_moving"] == pytest.approx(0.5627416988931857)
    assert "Wall time" in sr.iteration({"threshold": 4.0}).stdout  # its %time cell ran there


def test_closing_the_cluster_right_after_a_sweep_is_quiet(tmp_path):
    # The task's cancel watcher must not die noisily when the scheduler goes away under it.
    import subprocess
    import sys

    script = tmp_path / "close_at_once.py"
    script.write_text(
        "from dask.distributed import Client, LocalCluster\n"
        "from py3r.behaviour.script import sensitivity\n"
        "if __name__ == '__main__':\n"
        "    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)"
        " as cluster, Client(cluster) as client:\n"
        f"        sr = sensitivity({str(EXAMPLE)!r}, {{'threshold': [1.0, 4.0]}},"
        " executor=client, progress=False)\n"
        "    print(len(sr), len(sr.errors))\n"
    )
    out = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and out.stdout.split() == ["3", "0"], out.stderr
    assert "Exception in thread" not in out.stderr and "CommClosedError" not in out.stderr, out.stderr


def test_a_sampled_design_on_the_cluster_gives_the_local_indices(client):
    linear = SCRIPTS / "linear.py"
    here = sensitivity(linear, ["a", "b", "c"], mode="morris", n=4, seed=6, progress=False)
    there = sensitivity(linear, ["a", "b", "c"], mode="morris", n=4, seed=6, progress=False, executor=client)
    assert {it.info["worker"] for it in there.iterations} <= set(client.scheduler_info()["workers"])
    assert there.design.to_record() == here.design.to_record()
    assert there.indices().equals(here.indices())
    assert there.indices()["mu_star"].tolist() == pytest.approx([10.0, 1.0, 0.0])
