"""The command line, through its entry point and as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from helpers import EXAMPLE, ROOT, SCRIPTS, wait_for
from py3r.behaviour.script import UsageError, plan_design, read_script
from py3r.behaviour.script.frontends.cli import main
from py3r.behaviour.script.values import parse_value


def cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "py3r.behaviour.script", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_inspect_prints_the_reference_layout():
    out = cli("inspect", "tests/scripts/reference_pipeline.py")
    assert out.returncode == 0
    assert out.stdout.splitlines()[:6] == [
        "Script: tests/scripts/reference_pipeline.py",
        "",
        "Parameters:",
        "  data_path            default='/my/data'  type=str",
        "  smooth_window        default=5           type=int",
        "  threshold            required",
    ]


@pytest.mark.parametrize(
    ("script", "name", "text", "value"),
    [
        (EXAMPLE, "interpolate_gaps", "false", False),
        (EXAMPLE, "interpolate_gaps", "Yes", True),
        (EXAMPLE, "threshold", "3", 3.0),
        (EXAMPLE, "smoothing", "median", "median"),
        (SCRIPTS / "scalars.py", "b", "nan", float("nan")),  # no range: NaN is a float like any
        (SCRIPTS / "scalars.py", "a", "-3", -3),
    ],
)
def test_values_are_parsed_by_declared_type(script, name, text, value):
    got = parse_value(read_script(script), name, text)
    assert got == value or (got != got and value != value)
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("name", "text", "pattern"),
    [
        (
            "smooth_window",
            "2.5",
            r"Parameter 'smooth_window' of .*pipeline\.py, line \d+ is an int; '2\.5' is not a whole number",
        ),
        ("interpolate_gaps", "maybe", r"is a bool; 'maybe' is not true or false"),
        ("threshold", "high", r"is a float; 'high' is not a number"),
        (
            "smooth_window",
            "-3",
            r"Parameter 'smooth_window' of .*pipeline\.py, line 22 must be within \[1, 51\]; got the int -3",
        ),
        ("threshold", "nan", r"'threshold' of .* must be within \[0\.0, 20\.0\]; got the float nan"),
        ("smoothing", "max", r"'smoothing' of .* must be one of \['mean', 'median'\]; got the string 'max'"),
        (
            "thresold",
            "1",
            r"'thresold' not found in script .*Did you mean 'threshold'\? Its parameters are: seed, ",
        ),
    ],
)
def test_bad_values_are_usage_errors(name, text, pattern):
    with pytest.raises(UsageError, match=pattern):
        parse_value(read_script(EXAMPLE), name, text)


def test_untyped_parameters_guess_scalars():
    spec = read_script(SCRIPTS / "scalars.py")
    assert [parse_value(spec, "opt", t) for t in ("none", "3", "2.5", "true", "text")] == [
        None,
        3,
        2.5,
        True,
        "text",
    ]


def test_bad_value_exits_2_naming_the_parameter():
    out = cli("run", EXAMPLE, "-p", "smooth_window=abc")
    assert out.returncode == 2
    assert "smooth_window" in out.stderr and "'abc' is not a whole number" in out.stderr
    out = cli("sweep", EXAMPLE, "-p", "nope=1,2")
    assert out.returncode == 2 and "'nope' not found in script" in out.stderr
    out = cli("run", EXAMPLE, "-p", "novalue")
    assert out.returncode == 2 and "-p takes name=value" in out.stderr
    out = cli("inspect", "missing.py")
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_run_prints_outputs():
    out = cli("run", EXAMPLE, "-p", "threshold=4", "-p", "interpolate_gaps=false")
    assert out.returncode == 0, out.stderr
    assert "fraction_moving = 0." in out.stdout and "tracking = DataFrame" in out.stdout


def test_run_failure_exits_1_with_the_cause():
    out = cli("run", SCRIPTS / "raises.py")
    assert out.returncode == 1
    assert "The script raised ValueError: boom 42" in out.stderr and "Traceback" in out.stderr


def test_sweep_prints_table_writes_csv_and_plot(tmp_path):
    csv, png = tmp_path / "out.csv", tmp_path / "out.png"
    out = cli(
        "sweep",
        EXAMPLE,
        "-p",
        "threshold=1,4",
        "-p",
        "smooth_window=3,9",
        "--workers",
        "2",
        "--csv",
        csv,
        "--plot",
        png,
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header == ["threshold", "smooth_window", "fraction_moving", "time_in_centre_s", "distance_cm"]
    assert "Not shown (not scalars): tracking" in out.stdout
    table = pd.read_csv(csv)
    assert len(table) == 5 and set(table["status"]) == {"ok"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_grid_with_nominal_and_outputs():
    code = main(
        [
            "sweep",
            str(EXAMPLE),
            "-p",
            "smooth_window=3,9",
            "--mode",
            "grid",
            "--nominal",
            "threshold=4",
            "--outputs",
            "fraction_moving",
            "--no-progress",
        ]
    )
    assert code == 0


def test_sweep_with_failures_exits_1_and_summarises(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Param, Output\nn = Param(0, name='n')\n"
        "assert n != 2, 'two is bad'\nOutput(n, name='y')\n"
    )
    out = cli("sweep", script, "-p", "n=1,2,3", "--timeout", "60", "--no-progress")
    assert out.returncode == 1
    assert "1 of 4 iterations failed:" in out.stderr
    assert "{'n': 2}: The script raised AssertionError: two is bad" in out.stderr


def test_sweep_needs_values():
    assert cli("sweep", EXAMPLE).returncode == 2


def test_entry_point_is_installed():
    exe = ROOT / ".venv" / "bin" / "py3r-script"
    exe = exe if exe.exists() else "py3r-script"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "inspect" in out.stdout and "sweep" in out.stdout


def test_cache_and_history(tmp_path):
    store = tmp_path / "store"
    first = cli("sweep", EXAMPLE, "-p", "threshold=1,4", "--cache", store, "--no-progress")
    assert first.returncode == 0, first.stderr
    again = cli("run", EXAMPLE, "-p", "threshold=4", "--cache", store)
    assert again.returncode == 0 and "fraction_moving = 0.5627" in again.stdout
    out = cli("history", EXAMPLE, "--store", store)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["threshold", "fraction_moving"] and "status" in lines[0]
    assert len(lines) == 1 + 3  # threshold 1, 2 (the default) and 4
    empty = cli("history", SCRIPTS / "scalars.py", "--store", store)
    assert empty.returncode == 0 and "No stored iterations" in empty.stdout


def test_bare_cache_before_the_script_leaves_the_script_alone(tmp_path):
    # --cache takes an optional DIR; a script path after it is the script, and the store the default.
    env_store = tmp_path / "default-store"
    run = subprocess.run(
        [sys.executable, "-m", "py3r.behaviour.script", "run", "--cache", str(EXAMPLE), "-p", "threshold=4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "PY3R_SCRIPT_STORE": str(env_store)},
    )
    assert run.returncode == 0, run.stderr
    assert "fraction_moving = 0.5627" in run.stdout and env_store.is_dir()
    missing = cli("run", "--cache", tmp_path / "store")
    assert missing.returncode == 2 and "the following arguments are required: script" in missing.stderr


def test_bad_store_is_a_message_not_a_traceback(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    out = cli("run", EXAMPLE, "--cache", not_a_dir)
    assert out.returncode == 2 and out.stderr.startswith("py3r-script: error:")
    assert "Traceback" not in out.stderr


def test_interrupted_run_exits_130_and_leaves_nothing_running(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "py3r.behaviour.script",
            "run",
            SCRIPTS / "slow_steps.py",
            "-p",
            "i=3",
            "-p",
            "slow_from=3",
            "-p",
            f"marker_dir={tmp_path}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: (tmp_path / "started-3").exists(), timeout=60, what="the run to start")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "The run was stopped before it finished: The iteration was cancelled" in err
    assert "The run failed" not in err  # a cancelled run is no failure


def test_a_library_bug_is_reported_as_a_bug_not_as_bad_input(monkeypatch, capsys):
    import py3r.behaviour.script.frontends.cli as cli_module

    def broken(*args, **kwargs):  # a fault injected where no input of the user's can reach
        raise KeyError("internal state")

    monkeypatch.setattr(cli_module, "execute_plan", broken)
    status = main(["run", str(SCRIPTS / "scalars.py")])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback (most recent call last)" in err and "KeyError: 'internal state'" in err
    assert "this is a bug in py3r-behaviour-script" in err and "Please report it" in err


def test_bad_input_is_still_one_line_and_status_2(capsys):
    assert main(["run", str(SCRIPTS / "scalars.py"), "-p", "a=2.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("py3r-script: error: Parameter 'a'") and "Traceback" not in err


def test_sampled_design_prints_the_indices_and_writes_the_plot(tmp_path):
    png, csv = tmp_path / "gsa.png", tmp_path / "all.csv"
    args = ["sweep", SCRIPTS / "linear.py", "--mode", "morris", "-n", "6", "--seed", "3", "--no-progress"]
    out = cli(*args, "--plot", png, "--csv", csv)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # No -p: every declared range. Trajectories cross: a point met twice runs once.
    distinct = len(plan_design(read_script(SCRIPTS / "linear.py"), None, mode="morris", n=6, seed=3).points)
    assert lines[0] == f"Morris indices of 24 runs ({distinct} distinct points):" and distinct < 24
    assert lines[1].split() == ["output", "param", "mu_star", "mu_star_conf", "sigma", "mu"]
    assert [line.split()[:3] for line in lines[2:5]] == [["y", "a", "10"], ["y", "b", "1"], ["y", "c", "0"]]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(pd.read_csv(csv)) == distinct


def test_sampled_design_takes_ranges_choices_and_declared_names(capsys):
    design = ["--mode", "lhs", "-n", "20", "--seed", "1", "--no-progress"]
    code = main(
        ["sweep", str(SCRIPTS / "knobs.py"), *design, "-p", "x=0.2:0.4", "-p", "method=a,c", "-p", "k"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].startswith("RBD-FAST indices of 20 runs")
    assert [line.split()[1] for line in out.splitlines()[2:5]] == ["x", "method", "k"]


def test_the_front_ends_offer_the_modes_the_library_takes():
    from py3r.behaviour.script.design import SAMPLED_MODES
    from py3r.behaviour.script.frontends import options

    assert options.SAMPLED_MODES == SAMPLED_MODES and options.SWEEP_MODES == ("independent", "grid")


def test_a_declared_choice_with_a_comma_is_one_value(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "from py3r.behaviour.script import Param, Output\n"
        "word = Param('a', name='word', choices=['a', 'b, c'])\nx = Param(0.5, name='x', low=0, high=1)\n"
        "Output(len(word) + x, name='n')\n"
    )
    csv = tmp_path / "out.csv"
    code = main(["sweep", str(script), "-p", "word=a, b, c", "--no-progress", "--csv", str(csv)])
    assert code == 0 and pd.read_csv(csv)["word"].tolist() == ["a", "b, c"]
    design = ["--mode", "lhs", "-n", "20", "--seed", "1", "--no-progress", "--csv", str(csv)]
    assert main(["sweep", str(script), *design, "-p", "word=b,c,a", "-p", "x"]) == 0
    assert set(pd.read_csv(csv)["word"]) == {"a", "b, c"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "sobol"], "--mode sobol needs -n N, the size of the design."),
        (["--mode", "sobol", "-n", "100"], "needs n to be a power of 2"),
        (
            ["--mode", "grid", "-n", "4", "-p", "a=0.1,0.2"],
            "-n, --seed, --second-order and --levels are options",
        ),
        (["--mode", "lhs", "-n", "4", "-p", "nope"], "Parameter 'nope' not found"),
        (["--mode", "lhs", "-n", "4", "-p", "a=0:x"], "'x' is not a number"),
    ],
)
def test_sampled_design_usage_errors_exit_2(extra, message, capsys):
    assert main(["sweep", str(SCRIPTS / "linear.py"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_sampled_design_with_failed_points_exits_1_naming_them(capsys):
    design = ["--mode", "lhs", "-n", "10", "--seed", "1", "--no-progress"]
    code = main(["sweep", str(SCRIPTS / "knobs.py"), *design, "-p", "x", "--nominal", "fail_above=0.5"])
    captured = capsys.readouterr()
    assert code == 1
    assert "(no indices: 5 of the 10 points of the lhs design failed" in captured.out
    assert "5 of 10 iterations failed:" in captured.err


def _stopped_sweep(tmp_path, *signals, repeat=None):
    """A sweep of slow_steps.py (i=0, 1 finish; i=2 hangs; i=3 waits) stopped by ``signals``, then
    sent ``repeat`` over and over until it exits."""
    markers = tmp_path / "markers"
    markers.mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "py3r.behaviour.script",
            "sweep",
            SCRIPTS / "slow_steps.py",
            "-p",
            "i=1,2,3",
            "--nominal",
            "slow_from=2",
            "--nominal",
            f"marker_dir={markers}",
            "--workers",
            "1",
            "--no-progress",
            "--csv",
            tmp_path / "out.csv",
            "--cache",
            tmp_path / "store",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: (markers / "started-2").exists(), timeout=60, what="the hanging iteration to start")
        for sig in signals:
            proc.send_signal(sig)
        if repeat is not None:  # keep pressing Ctrl-C while it stops and reports, until it exits

            def pressed_until_exit():
                if proc.poll() is None:
                    proc.send_signal(repeat)
                return proc.poll() is not None

            wait_for(pressed_until_exit, timeout=60, interval=0.01, what="the command to exit")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, out, err


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_a_sweep_like_ctrl_c(tmp_path, sig, status):
    """A cluster's time limit (SIGTERM) or a closed terminal (SIGHUP): finished points are printed,
    written to --csv and kept in the store, and the exit status says which signal it was."""
    code, out, err = _stopped_sweep(tmp_path, sig)
    assert code == status, err
    table = [line.split() for line in out.splitlines()[:3]]
    assert table == [["i", "i_out"], ["0", "0"], ["1", "1"]], out
    assert f"Stopped by {sig.name}" in err and "Traceback" not in err
    csv = pd.read_csv(tmp_path / "out.csv")
    assert csv["status"].tolist() == ["ok", "ok", "cancelled", "cancelled"]
    stored = cli("history", SCRIPTS / "slow_steps.py", "--store", tmp_path / "store")
    # Kept in the store: which points, not in which order they were stored (a point whose worker
    # could not start in time is run again after the next one).
    assert sorted(line.split()[0] for line in stored.stdout.splitlines()[1:]) == ["0", "1"]


def test_more_ctrl_c_while_stopping_still_print_what_is_done(tmp_path):
    code, out, err = _stopped_sweep(tmp_path, signal.SIGINT, repeat=signal.SIGINT)
    assert code == 130, err
    assert [line.split() for line in out.splitlines()[:3]] == [["i", "i_out"], ["0", "0"], ["1", "1"]]
    assert (tmp_path / "out.csv").exists()


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "py3r.behaviour.script", "run", SCRIPTS / "slow_steps.py"),
            *("-p", "i=3", "-p", "slow_from=3", "-p", f"marker_dir={tmp_path}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: (tmp_path / "started-3").exists(), timeout=60, what="the run to start")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 143, err
    assert "cancelled" in err and "Traceback" not in err
