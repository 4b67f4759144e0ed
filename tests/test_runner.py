"""run / sensitivity / inspect against real processes, once per engine.

Every failure cause of SPEC.md is driven by a misbehaving script in tests/scripts/; the autouse
fixture in conftest.py then checks that no process is left alive.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from helpers import EXAMPLE, SCRIPTS, wait_for
from py3r.behaviour.script import (
    CancelToken,
    IterationFailedWarning,
    SweepInterruptedWarning,
    run,
    sensitivity,
)


def only(sr):
    assert len(sr) == 1
    return sr.iterations[0]


def failed_run(script, params=None, **kw):
    with pytest.warns(IterationFailedWarning):
        sr = run(SCRIPTS / script, params or {}, **kw)
    it = only(sr)
    assert it.status == "failed" and it.failure is not None
    assert len(sr.errors) == 1
    return it


# The reference examples ----------------------------------------------------------------------
def test_reference_run_examples(engine, in_root):
    script = "tests/scripts/reference_pipeline.py"
    sr = run(script, {"data_path": "/data/session1", "threshold": 0.8}, engine=engine)
    summary = sr[{"data_path": "/data/session1", "threshold": 0.8}]["summary"]
    assert summary["threshold"] == 0.8 and summary["data_path"] == "/data/session1"
    sr = run(script, {"threshold": 0.8}, outputs=["tracking"], stop_after_outputs=True, engine=engine)
    assert list(sr[{"threshold": 0.8}]) == ["tracking"]


def test_reference_sensitivity_examples(engine, in_root):
    script = "tests/scripts/reference_pipeline.py"
    kw = {"engine": engine, "progress": False}
    sr = sensitivity(
        script, {"smooth_window": [3, 5, 7], "threshold": [0.5, 0.8]}, nominal={"threshold": 0.8}, **kw
    )
    with pytest.raises(TypeError, match="not scalar"):  # as the reference says: both outputs are not
        sr.to_dataframe()
    assert list(sr.to_dataframe(outputs=[]).columns) == ["smooth_window", "threshold"]
    sr = sensitivity(script, {"smooth_window": [3, 5, 7], "threshold": [0.5, 0.8]}, mode="grid", **kw)
    assert len(sr) == 6 and not sr.errors
    sr = sensitivity(script, {"smooth_window": [3, 5, 7]}, nominal={"threshold": 0.8}, **kw)
    assert [k["smooth_window"] for k in sr.keys()] == [3, 5, 7]
    sr = sensitivity(
        script,
        {"smooth_window": [3, 5, 7]},
        nominal={"threshold": 0.8},
        outputs=["tracking"],
        stop_after_outputs=True,
        **kw,
    )
    assert all(list(sr[k]) == ["tracking"] for k in sr.keys())


# Values reach the script ----------------------------------------------------------------------
def test_values_arrive_with_their_types(engine):
    sr = run(
        SCRIPTS / "scalars.py", {"a": 3, "b": 2, "label": "p q", "flag": True, "opt": None}, engine=engine
    )
    echo = sr[{"a": 3, "b": 2.0, "label": "p q", "flag": True, "opt": None}]["echo"]
    assert echo == {
        "a": (3, "int"),
        "b": (2.0, "float"),
        "label": ("p q", "str"),
        "flag": (True, "bool"),
        "opt": (None, "NoneType"),
    }


def test_defaults_are_used_when_not_given(engine):
    sr = run(SCRIPTS / "scalars.py", engine=engine)
    assert sr[{}]["total"] == 1.5


def test_bad_values_are_rejected_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Param\nimport pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\nn = Param(1, name='n')\n"
    )
    with pytest.raises(TypeError, match=r"Parameter 'n' of .*s\.py, line 4 is an int; got the string '3'"):
        run(script, {"n": "3"})
    with pytest.raises(TypeError, match=r"got the float 2\.7"):
        sensitivity(script, {"n": [1, 2.7]}, progress=False)
    assert not marker.exists()


def test_process_context(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PY3R_TEST_VAR", "seen")
    sr = run(SCRIPTS / "cwd_and_argv.py", engine=engine)
    out = sr[{}]
    script = str(SCRIPTS / "cwd_and_argv.py")
    assert out["cwd"] == str(tmp_path)
    assert out["name"] == "__main__"
    assert out["file"] == script and out["argv0"] == script
    assert out["path0"] == str(SCRIPTS)
    env = run(SCRIPTS / "env_and_backend.py", engine=engine)[{}]
    assert env["var"] == "seen"
    assert env["backend"] in (None, "agg")


def test_paths_with_spaces_and_non_ascii(engine):
    script = SCRIPTS / "dir with spaces é" / "pipeline ü.py"
    sr = run(script, {"x": 21}, engine=engine)
    assert sr[{"x": 21}]["y"] == 42


def test_classes_from_the_script_and_a_local_module_arrive(engine):
    out = run(SCRIPTS / "local_class.py", engine=engine)[{}]
    assert type(out["point"]).__name__ == "Point" and out["point"].x == 1
    assert type(out["helper"]).__name__ == "Helper"


# Failure causes -----------------------------------------------------------------------------
def test_exception_is_recorded_with_traceback(engine):
    it = failed_run("raises.py", engine=engine)
    f = it.failure
    assert f.kind == "exception" and f.exc_type == "ValueError" and f.exc_message == "boom 42"
    assert f.message == "The script raised ValueError: boom 42"
    assert "raises.py" in f.traceback and "_child.py" not in f.traceback
    assert "ValueError: boom 42" in str(f)


def test_warning_names_the_script_and_cause(engine):
    with pytest.warns(
        IterationFailedWarning, match=r"raises\.py failed: The script raised ValueError: boom 42"
    ):
        run(SCRIPTS / "raises.py", engine=engine)


def test_nonzero_exit(engine):
    f = failed_run("exit_three.py", engine=engine).failure
    assert f.kind == "exit" and f.exit_code == 3 and "exited with code 3" in f.message


def test_exit_with_message(engine):
    f = failed_run("exit_message.py", engine=engine).failure
    assert f.exit_code == 1 and "fatal: bad input" in str(f)


def test_os_exit(engine):
    f = failed_run("os_exit.py", engine=engine).failure
    assert f.exit_code == 7


def test_exit_zero_before_requested_outputs(engine):
    sr = run(SCRIPTS / "exit_zero_early.py", engine=engine)
    assert only(sr).ok and list(sr[{}]) == ["early"]  # a clean early end, nothing was required
    with pytest.warns(IterationFailedWarning):
        sr = run(SCRIPTS / "exit_zero_early.py", outputs=["early", "late"], engine=engine)
    f = only(sr).failure
    assert f.kind == "missing_outputs" and "'late'" in f.message
    assert sr[{}]["early"] == "early-value" or "early" in sr[{}]


@pytest.mark.parametrize(("script", "name"), [("segfault.py", "SIGSEGV"), ("abort.py", "SIGABRT")])
def test_killed_by_signal(engine, script, name):
    f = failed_run(script, engine=engine).failure
    assert f.kind == "signal" and f.signal == name and name in f.message


def test_segfault_shows_the_script_stack(engine):
    f = failed_run("segfault.py", engine=engine).failure
    assert "segfault.py" in f.stderr_tail  # faulthandler's dump


def test_timeout_kills_the_process_group(engine, tmp_path):
    marker = tmp_path / "started"
    f = failed_run("infinite_loop.py", {"marker": str(marker)}, timeout=1.0, engine=engine).failure
    assert marker.exists()
    assert f.kind == "timeout" and "timed out after 1 s" in f.message


def test_grandchildren_do_not_survive_a_timeout(engine, tmp_path):
    marker = tmp_path / "pid"
    failed_run(
        "sleeper_with_grandchild.py", {"marker": str(marker), "hang": True}, timeout=2.0, engine=engine
    )
    pid = int(marker.read_text())
    wait_for(lambda: not _alive(pid), timeout=5, what=f"grandchild {pid} to die")


def test_grandchildren_do_not_survive_a_clean_end(engine, tmp_path):
    marker = tmp_path / "pid"
    sr = run(SCRIPTS / "sleeper_with_grandchild.py", {"marker": str(marker), "hang": False}, engine=engine)
    assert only(sr).ok
    pid = int(marker.read_text())
    wait_for(lambda: not _alive(pid), timeout=5, what=f"grandchild {pid} to die")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_unpicklable_output(engine):
    it = failed_run("unpicklable_output.py", engine=engine)
    f = it.failure
    assert f.kind == "unpicklable" and "'gen'" in f.message and "generator" in f.message
    assert it.outputs["ok"] == 1  # what arrived before is kept


def test_stdin_is_empty(engine):
    out = run(SCRIPTS / "stdin_read.py", engine=engine)[{}]
    assert out["length"] == 0


def test_megabytes_of_output_do_not_deadlock(engine):
    sr = run(SCRIPTS / "big_stdout.py", engine=engine, timeout=60)
    it = only(sr)
    assert it.ok and sr[{}]["done"] is True
    assert it.stdout.startswith("[... ") and len(it.stdout) <= 300_000
    assert it.stderr.startswith("[... ")


@pytest.mark.parametrize("how", ["thread", "atexit"])
def test_hang_after_outputs_is_ended(engine, how):
    sr = run(SCRIPTS / "hang_after_outputs.py", {"how": how}, engine=engine, timeout=30)
    assert only(sr).ok and "result" in sr[{}]


def test_stop_after_outputs_stops_inside_the_output_call(engine, tmp_path):
    marker = tmp_path / "marker"
    sr = run(
        SCRIPTS / "stop_after.py",
        {"marker": str(marker)},
        outputs=["first"],
        stop_after_outputs=True,
        engine=engine,
    )
    assert only(sr).ok and list(sr[{"marker": str(marker)}]) == ["first"]
    assert not marker.exists()  # neither downstream code nor an except clause ran
    sr = run(SCRIPTS / "stop_after.py", {"marker": str(marker)}, engine=engine)
    assert marker.read_text() == "ran_downstream" and set(sr[{"marker": str(marker)}]) == {"first", "second"}


def test_failures_do_not_affect_other_iterations(engine, tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Param, Output\nimport os\n"
        "n = Param(0, name='n')\n"
        "if n == 2:\n    raise RuntimeError('two')\n"
        "if n == 3:\n    os._exit(5)\n"
        "Output(n * 10, name='y')\n"
    )
    with pytest.warns(IterationFailedWarning, match="2 of 5 iterations"):
        sr = sensitivity(script, {"n": [0, 1, 2, 3, 4]}, progress=False, engine=engine)
    assert sr.to_dataframe()["y"].tolist() == [0, 10, 40]
    assert [(p, m.splitlines()[0]) for p, m in sr.errors] == [
        ({"n": 2}, "The script raised RuntimeError: two"),
        ({"n": 3}, "The script exited with code 5."),
    ]
    with pytest.raises(KeyError, match="the iteration failed"):
        sr[{"n": 2}]["y"]


def test_workers_give_the_same_results_in_plan_order(engine):
    values = list(range(6))
    one = sensitivity(SCRIPTS / "scalars.py", {"a": values}, progress=False, engine=engine)
    two = sensitivity(SCRIPTS / "scalars.py", {"a": values}, progress=False, workers=2, engine=engine)
    scalars = ["total", "text", "flag_out"]  # "echo" is a dict
    pd.testing.assert_frame_equal(one.to_dataframe(outputs=scalars), two.to_dataframe(outputs=scalars))
    assert [k["a"] for k in two.keys()] == values


def test_workers_run_at_once(engine, tmp_path):
    # Each iteration waits for the other one's marker: they can only finish if both run together.
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Param, Output\nimport pathlib, time\n"
        "i = Param(0, name='i')\nd = pathlib.Path(Param('', name='d'))\n"
        "(d / f'{i}').write_text('x')\n"
        "deadline = time.monotonic() + 20\n"
        "while not (d / f'{1 - i}').exists():\n"
        "    assert time.monotonic() < deadline, 'the other iteration never started'\n"
        "    time.sleep(0.01)\n"
        "Output(i, name='i_out')\n"
    )
    sr = sensitivity(
        script, {"i": [0, 1]}, nominal={"d": str(tmp_path)}, workers=2, progress=False, engine=engine
    )
    assert not sr.errors and sr.to_dataframe()["i_out"].tolist() == [0, 1]


def test_logs_and_wall_time_are_kept(engine, tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import sys, time\nfrom py3r.behaviour.script import Output\n"
        "print('to stdout')\nprint('to stderr', file=sys.stderr)\ntime.sleep(0.2)\nOutput(1, name='x')\n"
    )
    it = only(run(script, engine=engine))
    assert it.stdout == "to stdout\n" and it.stderr == "to stderr\n"
    assert 0.2 <= it.wall_time < 10


def test_cancel_token_keeps_finished_iterations(engine, tmp_path):
    token = CancelToken()
    marker_dir = tmp_path

    def cancel_when_slow_one_started():
        wait_for(lambda: (marker_dir / "started-2").exists(), timeout=60, what="iteration 2 to start")
        token.cancel()

    t = threading.Thread(target=cancel_when_slow_one_started)
    t.start()
    with pytest.warns(SweepInterruptedWarning, match="2 of 5 iterations"):
        sr = sensitivity(
            SCRIPTS / "slow_steps.py",
            {"i": [0, 1, 2, 3, 4]},
            nominal={"marker_dir": str(marker_dir), "slow_from": 2},
            progress=False,
            engine=engine,
            cancel=token,
        )
    t.join()
    assert sr.interrupted
    assert [it.status for it in sr.iterations] == ["ok", "ok", "cancelled", "cancelled", "cancelled"]
    assert not (marker_dir / "started-3").exists()


def test_keyboard_interrupt_keeps_finished_iterations(engine, tmp_path):
    main = threading.main_thread()
    assert threading.current_thread() is main

    def interrupt_when_slow_one_started():
        wait_for(lambda: (tmp_path / "started-1").exists(), timeout=60, what="iteration 1 to start")
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt_when_slow_one_started)
    t.start()
    with pytest.warns(SweepInterruptedWarning):
        sr = sensitivity(
            SCRIPTS / "slow_steps.py",
            {"i": [0, 1, 2]},
            nominal={"marker_dir": str(tmp_path), "slow_from": 1},
            progress=False,
            engine=engine,
        )
    t.join()
    assert [it.status for it in sr.iterations] == ["ok", "cancelled", "cancelled"]
    assert sr[{"i": 0}]["i_out"] == 0


def test_progress_bar_counts(engine, capsys):
    sensitivity(SCRIPTS / "scalars.py", {"a": [1, 2, 3]}, engine=engine, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err


def test_example_pipeline_sweep(engine):
    sr = sensitivity(EXAMPLE, {"threshold": [1.0, 4.0, 8.0]}, progress=False, engine=engine)
    df = sr.to_dataframe(outputs=sr.scalar_outputs())
    assert list(df.columns) == ["threshold", "fraction_moving", "time_in_centre_s", "distance_cm"]
    assert df["fraction_moving"].is_monotonic_decreasing
    assert isinstance(sr[{"threshold": 1.0}]["tracking"], pd.DataFrame)


def test_output_above_the_size_limit_fails_clearly(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_MAX_OUTPUT_BYTES", str(2**20))
    script = tmp_path / "s.py"
    script.write_text("from py3r.behaviour.script import Output\nOutput(b'x' * 3 * 2**20, name='blob')\n")
    with pytest.warns(IterationFailedWarning):
        sr = run(script, engine=engine)
    f = only(sr).failure
    assert f.kind == "too_large"
    assert "Output 'blob' is 3,145,737 bytes (3.0 MiB) when pickled, above the limit of 1,048,576 bytes" in (
        f.message
    )


def test_large_outputs_arrive_intact(engine, tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Output\nOutput(bytes(range(256)) * 200_000, name='blob')\n"
    )
    assert run(script, engine=engine)[{}]["blob"] == bytes(range(256)) * 200_000


def test_blas_threads_are_capped_when_running_several(engine, tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    script = tmp_path / "s.py"
    script.write_text(
        "import os\nfrom py3r.behaviour.script import Output, Param\ni = Param(0, name='i')\n"
        "Output(os.environ.get('OMP_NUM_THREADS'), name='omp')\n"
    )
    several = sensitivity(script, {"i": [1, 2]}, workers=2, progress=False, engine=engine)
    expected = str(max(1, (os.cpu_count() or 1) // 2))
    assert set(several.to_dataframe()["omp"]) == {expected}
    alone = sensitivity(script, {"i": [1, 2]}, workers=1, progress=False, engine=engine)
    assert alone.to_dataframe()["omp"].isna().all()


def test_working_directory_is_recorded(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    it = only(run(SCRIPTS / "scalars.py", engine=engine))
    assert it.info["cwd"] == str(tmp_path) and it.info["engine"] == engine


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="workers must be a positive int or -1"):
        sensitivity(SCRIPTS / "scalars.py", {"a": [1]}, workers=0)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        run(SCRIPTS / "scalars.py", timeout=-1)


def test_failure_warnings_point_at_the_callers_line(recwarn):
    sr = run(SCRIPTS / "raises.py")
    line = sys._getframe().f_lineno - 1  # the line of the call
    (w,) = [w for w in recwarn if w.category is IterationFailedWarning]
    assert (w.filename, w.lineno) == (__file__, line) and sr.errors


def test_interruption_warnings_point_at_the_callers_line(recwarn):
    token = CancelToken()
    token.cancel()
    sensitivity(SCRIPTS / "scalars.py", {"a": [1, 2]}, cancel=token, progress=False)
    line = sys._getframe().f_lineno - 1  # the line of the call
    (w,) = [w for w in recwarn if w.category is SweepInterruptedWarning]
    assert (w.filename, w.lineno) == (__file__, line)
