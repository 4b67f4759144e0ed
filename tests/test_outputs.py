"""Outputs on their way back: large ones through shared memory, with nothing left behind.

An output's large buffers cross in an anonymous shared memory segment (a memfd named
``py3r-output``) that the caller maps. These tests look for that segment in /proc: in the caller
while it holds the output, nowhere once the output is gone, and nowhere after the iteration's
process or the caller itself is killed in the middle of a transfer.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import subprocess
import sys
import threading

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from helpers import leftover_processes, session_processes, wait_for, warm_processes
from py3r.behaviour.script import IterationFailedWarning, run

SEGMENT = "memfd:py3r-output"
GIB = 2**30


def segments(pid: int) -> tuple[int, int]:
    """Descriptors and mappings of output segments held by process ``pid``."""
    fds = maps = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                fds += SEGMENT in os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
        with open(f"/proc/{pid}/maps") as f:
            maps = sum(SEGMENT in line for line in f)
    except OSError:  # it has just exited
        pass
    return fds, maps


def holders() -> dict[int, tuple[int, int]]:
    """Every process of this test session (this one included) that holds an output segment."""
    found = {pid: segments(pid) for pid in [os.getpid(), *session_processes()]}
    return {pid: held for pid, held in found.items() if any(held)}


def write(tmp_path, body: str):
    script = tmp_path / "s.py"
    script.write_text("import numpy as np\nfrom py3r.behaviour.script import Output\n" + body)
    return script


def test_a_large_output_crosses_in_shared_memory_and_leaves_nothing_behind(engine, tmp_path):
    script = write(
        tmp_path,
        "import pandas as pd\n"
        "a = np.arange(4_000_000, dtype=np.float64)\n"
        "df = pd.DataFrame({'x': a[:500_000] * 2, 'label': ['ab', 'c'] * 250_000})\n"
        "Output(a, name='a')\n"
        "Output(df, name='df')\n"
        "Output(float(a.sum()), name='total')\n",
    )
    shm = named_segments()
    sr = run(script, engine=engine)
    out = sr[{}]
    a = out["a"]
    assert np.array_equal(a, np.arange(4_000_000, dtype=np.float64))
    expected = pd.DataFrame({"x": np.arange(500_000, dtype=np.float64) * 2, "label": ["ab", "c"] * 250_000})
    pd.testing.assert_frame_equal(out["df"], expected)
    assert out["total"] == float(np.arange(4_000_000, dtype=np.float64).sum())
    # Mapped from the segment it came in (no copy), and private: changing it is allowed.
    fds, maps = segments(os.getpid())
    assert fds == 0 and maps >= 1
    a[0] = -1.0
    assert sr[{}]["a"][0] == -1.0
    assert list(holders()) == [os.getpid()]  # no worker, spare or child holds one
    del sr, out, a
    gc.collect()
    assert holders() == {}
    assert named_segments() == shm


def named_segments() -> set[str]:
    """Named shared memory (the transport needs none); other programs' semaphores left out."""
    return {n for n in os.listdir("/dev/shm") if not n.startswith("sem.")}


def test_outputs_below_a_mebibyte_travel_inside_the_frame(engine, tmp_path):
    script = write(
        tmp_path,
        "Output(np.arange(30_000, dtype=np.int64), name='a')\n"  # 234 KiB: out of band, in the frame
        "Output(np.arange(1000, dtype=np.int16), name='b')\n",
    )
    sr = run(script, engine=engine)
    assert np.array_equal(sr[{}]["a"], np.arange(30_000))
    assert np.array_equal(sr[{}]["b"], np.arange(1000, dtype=np.int16))
    assert sr[{}]["a"].flags.writeable
    assert holders() == {}


def test_an_output_sent_twice_keeps_the_last_value_and_drops_the_first(tmp_path):
    script = write(tmp_path, "Output(np.zeros(2**18), name='a')\nOutput(np.ones(2**18), name='a')\n")
    sr = run(script)
    assert sr[{}]["a"].sum() == 2**18
    assert segments(os.getpid())[1] == 1


# Killed in the middle of a transfer ----------------------------------------------------------
# One GiB of zero pages: the script's array costs nothing, and filling the segment takes long
# enough (hundreds of milliseconds) to be caught in the act.
KILLED = "Output(np.zeros(GIB // 8), name='big')\n".replace("GIB", str(GIB))


def _filling(but: int) -> int | None:
    """A process of this session (not ``but``) holding an output segment it has not sent yet: the
    iteration's own (a warm worker and its spare never hold one)."""
    for pid in session_processes():
        if pid != but and segments(pid)[0]:
            return pid
    return None


@pytest.mark.filterwarnings("ignore::py3r.behaviour.script.IterationFailedWarning")  # the kill, checked below
def test_an_iteration_killed_mid_transfer_leaves_no_segment(engine, tmp_path):
    script = write(tmp_path, KILLED)
    done = []
    caller = threading.Thread(target=lambda: done.append(run(script, engine=engine)))
    caller.start()
    try:
        pid = wait_for(
            lambda: _filling(os.getpid()), timeout=60, interval=0.001, what="a segment being filled"
        )
        os.kill(pid, signal.SIGKILL)
    finally:
        caller.join(60)
    (sr,) = done
    done.clear()
    it = sr.iterations[0]
    if "big" in it.outputs:  # sent just before the kill: then it arrived whole
        assert sr[{}]["big"].shape == (GIB // 8,)
    else:
        assert it.failure is not None and it.failure.kind == "signal" and it.failure.signal == "SIGKILL"
    del sr, it
    gc.collect()
    wait_for(lambda: not holders(), timeout=30, what="every segment to be gone")


def test_a_caller_killed_mid_transfer_leaves_no_segment(engine, tmp_path):
    script = write(tmp_path, KILLED)
    env = {**os.environ, "PY3R_SCRIPT_ENGINE": engine}
    code = f"from py3r.behaviour.script import run\nrun({str(script)!r})\n"
    caller = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        wait_for(
            lambda: _filling(caller.pid),
            timeout=60,
            interval=0.001,
            what="a segment being filled",
        )
    finally:
        caller.kill()
        caller.wait(timeout=30)
    wait_for(lambda: not holders(), timeout=30, what="every segment to be gone")
    # ... and every process of that caller: only this test process's own idle workers stay.
    wait_for(
        lambda: not leftover_processes(set(), warm_processes()),
        timeout=30,
        what="the caller's processes to exit",
    )


# No size limit but the machine's -------------------------------------------------------------
def test_the_size_limit_reads_right_at_its_edge(tmp_path, monkeypatch):
    value = b"x" * 2**20
    size = len(cloudpickle.dumps(value, protocol=5))
    script = write(tmp_path, "Output(b'x' * 2**20, name='blob')\n")
    monkeypatch.setenv("PY3R_SCRIPT_MAX_OUTPUT_BYTES", str(size))
    assert run(script)[{}]["blob"] == value  # exactly at the limit: allowed
    monkeypatch.setenv("PY3R_SCRIPT_MAX_OUTPUT_BYTES", str(size - 1))
    with pytest.warns(IterationFailedWarning):
        sr = run(script)
    failure = sr.iterations[0].failure
    assert failure is not None and failure.kind == "too_large"
    assert f"Output 'blob' is {size:,} bytes" in failure.message
    assert f"above the limit of {size - 1:,} bytes" in failure.message


def _meminfo(field: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


HUGE = 2**32 + 2**20
#: The segment (4 GiB) and a copy's worth of headroom for whatever else runs on a shared machine.
NEEDS = 2 * HUGE + 2 * GIB


@pytest.mark.skipif(
    _meminfo("MemAvailable") < NEEDS,
    reason=f"an output over 4 GiB needs {NEEDS / GIB:.1f} GiB of available memory",
)
def test_an_output_over_four_gib_arrives(tmp_path):
    script = write(
        tmp_path,
        f"a = np.zeros({HUGE}, dtype=np.uint8)  # zero pages: only the segment is really filled\n"
        "a[0], a[2**32], a[-1] = 1, 2, 3\n"
        "Output(a, name='big')\n",
    )
    sr = run(script, max_memory=2 * HUGE)
    big = sr[{}]["big"]
    assert big.shape == (HUGE,) and big.dtype == np.uint8
    assert (big[0], big[2**32], big[-1]) == (1, 2, 3)
    assert int(big[:: 2**20].sum()) == 3  # one byte per MiB read: the rest is still zero
    assert sr.memory_usage()["memory"] > HUGE


def test_pickling_an_iteration_pickles_its_outputs(tmp_path):
    script = write(tmp_path, "Output(np.arange(2**18), name='a')\n")
    it = run(script, max_memory=0).iterations[0]
    back = pickle.loads(cloudpickle.dumps(it))
    assert np.array_equal(back.outputs["a"], np.arange(2**18))
