"""Results that keep large outputs on disk past ``max_memory``, and load them when looked up."""

from __future__ import annotations

import concurrent.futures
import gc
import os
import stat
import sys

import numpy as np
import pytest

from py3r.behaviour.script import ScriptResults, SpilledOutput, run, sensitivity

MIB = 2**20
#: Each iteration outputs a 2 MiB array and a scalar.
SCRIPT = """\
import numpy as np
from py3r.behaviour.script import Output, Param
i = Param(0, name="i")
Output(np.full(2**18, float(i)), name="a")
Output(float(i) * 2, name="double")
"""
POINTS = [0, 1, 2, 3]


@pytest.fixture
def spill_dir(tmp_path, monkeypatch):
    """Spill files go to a folder of this test's own."""
    folder = tmp_path / "spill"
    folder.mkdir()
    monkeypatch.setenv("PY3R_SCRIPT_SPILL_DIR", str(folder))
    return folder


def sweep(tmp_path, **options) -> ScriptResults:
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    return sensitivity(script, {"i": POINTS[1:]}, progress=False, **options)


def check_values(sr: ScriptResults) -> None:
    for i in POINTS:
        assert np.array_equal(sr[{"i": i}]["a"], np.full(2**18, float(i))), i
        assert sr[{"i": i}]["double"] == 2.0 * i


def kinds(sr: ScriptResults) -> list[str]:
    return sorted(type(it.outputs["a"]).__name__ for it in sr.iterations)


def spill_files(folder) -> list[int]:
    """Descriptors of this process open on a file in ``folder`` (spill files have no name there)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder) + "/"):
                found.append(int(fd))
        except OSError:
            continue
    return found


def test_outputs_past_max_memory_are_kept_on_disk_and_load_on_access(engine, tmp_path, spill_dir):
    sr = sweep(tmp_path, engine=engine, max_memory=5 * MIB)
    assert kinds(sr) == ["SpilledOutput", "SpilledOutput", "ndarray", "ndarray"]
    usage = sr.memory_usage()
    assert 4 * MIB < usage["memory"] <= 5 * MIB and 4 * MIB < usage["disk"] < 5 * MIB
    spilled = next(it.outputs["a"] for it in sr.iterations if isinstance(it.outputs["a"], SpilledOutput))
    assert spilled.type_name == "ndarray" and spilled.nbytes > 2 * MIB
    assert spilled.where == f"a spill file in {spill_dir}"
    assert "SpilledOutput 'a': a ndarray of 2.0 MiB kept on disk" in repr(spilled)
    check_values(sr)
    assert sr.to_dataframe(outputs=["double"])["double"].tolist() == [2.0 * i for i in POINTS]


def test_an_output_loaded_from_disk_is_a_private_copy(tmp_path, spill_dir):
    sr = sweep(tmp_path, max_memory=0)
    outputs = sr[{"i": 2}]
    a = outputs["a"]
    a[:] = -1.0  # the loaded array is writable; the copy on disk is not changed
    assert outputs["a"] is a  # looked up once, kept by this view
    assert np.array_equal(sr[{"i": 2}]["a"], np.full(2**18, 2.0))


def test_the_outputs_view_loads_on_lookup_and_names_load_nothing(tmp_path, spill_dir):
    sr = sweep(tmp_path, max_memory=0)
    outputs = sr[{"i": 3}]
    assert list(outputs) == ["a", "double"] and "a" in outputs
    assert isinstance(dict.__getitem__(outputs, "a"), SpilledOutput)  # nothing loaded yet
    assert isinstance(outputs.get("a"), np.ndarray)
    assert isinstance(dict(sr[{"i": 3}])["a"], np.ndarray)
    assert [type(v).__name__ for v in sr[{"i": 3}].values()] == ["ndarray", "float"]
    assert sr[{"i": 3}].get("missing", 7) == 7


def test_tables_plots_and_reprs_never_read_what_is_on_disk(tmp_path):
    store = tmp_path / "store"
    sr = sweep(tmp_path, cache=store, max_memory=0)
    assert kinds(sr) == ["SpilledOutput"] * 4
    for blob in (store / "blobs").iterdir():
        blob.unlink()  # whatever is on disk is gone: only what never reads it still works
    assert sr.scalar_outputs() == ["double"]
    assert sr.to_dataframe(outputs=["double"])["double"].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert "4 iterations" in sr._repr_html_()
    sr.plot()
    assert sr[{"i": 2}]["double"] == 4.0
    with pytest.raises(TypeError, match=r"Output 'a' \(a ndarray\) is not scalar"):
        sr.to_dataframe()
    with pytest.raises(
        FileNotFoundError, match=r"Output 'a' was kept in the run store .* removed or replaced"
    ):
        sr[{"i": 2}]["a"]


def test_spilled_outputs_survive_save_and_load(tmp_path, spill_dir):
    sr = sweep(tmp_path, max_memory=0)
    path = tmp_path / "sr.pkl"
    sr.save(path)
    back = ScriptResults.load(path, max_memory=0)
    assert kinds(back) == ["SpilledOutput"] * 4
    assert back.iterations[0].outputs["a"].where == f"the saved file {path}"
    path.unlink()  # the loaded results hold the file open: its outputs are still there
    check_values(back)
    again = tmp_path / "again.pkl"
    back.save(again)  # copied from the (deleted) saved file, without loading
    check_values(ScriptResults.load(again, max_memory=0))
    in_memory = ScriptResults.load(again)
    assert kinds(in_memory) == ["ndarray"] * 4
    assert in_memory.memory_usage()["disk"] == 0
    check_values(in_memory)


def test_results_saved_by_the_previous_version_still_load(tmp_path):
    import cloudpickle

    sr = sweep(tmp_path)
    state = {
        "format": 2,
        "param_names": sr.param_names,
        "output_names": sr.output_names,
        "script": sr.script,
        "mode": sr.mode,
        "nominal": sr.nominal,
        "interrupted": False,
        "spec": None,
        "iterations": [it.to_record() for it in sr.iterations],
    }
    (tmp_path / "old.pkl").write_bytes(cloudpickle.dumps(state))
    check_values(ScriptResults.load(tmp_path / "old.pkl"))


def test_the_spill_file_is_private_and_goes_with_the_results(tmp_path, spill_dir):
    assert spill_files(spill_dir) == []
    sr = sweep(tmp_path, max_memory=0)
    (fd,) = spill_files(spill_dir)
    assert list(spill_dir.iterdir()) == []  # it never has a name: nothing to find, nothing to leave
    assert stat.S_IMODE(os.stat(f"/proc/self/fd/{fd}").st_mode) == 0o600
    kept = sr.iterations[1].outputs["a"]
    del sr
    gc.collect()
    assert spill_files(spill_dir) == [fd]  # an output taken from the results still reads from it
    assert kept.load().shape == (2**18,)
    del kept
    gc.collect()
    assert spill_files(spill_dir) == []


def test_a_folder_that_cannot_be_written_keeps_outputs_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_SPILL_DIR", str(tmp_path / "missing"))
    with pytest.warns(ResourceWarning, match=r"could not be written to disk in .*missing.*kept in memory"):
        sr = sweep(tmp_path, max_memory=0)
    assert kinds(sr) == ["ndarray"] * 4
    check_values(sr)


def test_max_memory_none_keeps_everything_and_warns_once_past_1_gib(tmp_path):
    script = tmp_path / "big.py"
    script.write_text(
        "import numpy as np\nfrom py3r.behaviour.script import Output, Param\n"
        "i = Param(0, name='i')\nOutput(np.zeros(400 * 2**20, dtype=np.uint8), name='a')\n"
    )
    with pytest.warns(ResourceWarning) as record:
        sr = sensitivity(script, {"i": [1, 2]}, progress=False, max_memory=None)
    line = sys._getframe().f_lineno - 1
    warned = [w for w in record if w.category is ResourceWarning]
    assert len(warned) == 1
    assert "is holding approximately 1.3 GB of outputs in memory" in str(warned[0].message)
    assert (warned[0].filename, warned[0].lineno) == (__file__, line)
    assert [type(it.outputs["a"]).__name__ for it in sr.iterations] == ["ndarray"] * 3
    assert sr.max_memory is None


@pytest.mark.parametrize("bad", [-1, "lots", True, 1.5])
def test_max_memory_is_checked(bad, tmp_path):
    with pytest.raises(ValueError, match="max_memory must be a number of bytes"):
        sweep(tmp_path, max_memory=bad)


def test_the_default_budget_comes_from_the_environment(tmp_path, spill_dir, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_MAX_MEMORY", "0")
    assert kinds(sweep(tmp_path)) == ["SpilledOutput"] * 4
    monkeypatch.setenv("PY3R_SCRIPT_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="The environment variable PY3R_SCRIPT_MAX_MEMORY must be a whole"):
        sweep(tmp_path)
    monkeypatch.delenv("PY3R_SCRIPT_MAX_MEMORY")
    sr = run(tmp_path / "s.py", {"i": 5})
    assert sr.max_memory == 2**30 and isinstance(sr.iterations[0].outputs["a"], np.ndarray)


@pytest.mark.parametrize(("text", "budget"), [("2G", 2 * 2**30), ("512MiB", 512 * 2**20), ("1000", 1000)])
def test_the_environment_budget_takes_sizes_as_the_command_line_does(monkeypatch, text, budget):
    monkeypatch.setenv("PY3R_SCRIPT_MAX_MEMORY", text)
    assert ScriptResults([], []).max_memory == budget


def test_with_a_store_outputs_over_the_budget_refer_to_its_copy(tmp_path, spill_dir):
    store = tmp_path / "store"
    sr = sweep(tmp_path, cache=store, max_memory=0)
    assert {it.outputs["a"].where for it in sr.iterations} == {f"the run store {store}"}
    assert spill_files(spill_dir) == []  # no second copy
    check_values(sr)
    hits = sweep(tmp_path, cache=store, max_memory=5 * MIB)
    assert all(it.cached for it in hits.iterations)
    assert kinds(hits) == ["SpilledOutput", "SpilledOutput", "ndarray", "ndarray"]
    check_values(hits)
    path = tmp_path / "sr.pkl"
    hits.save(path)
    check_values(ScriptResults.load(path))


def test_a_damaged_output_in_the_store_is_refused(tmp_path):
    store = tmp_path / "store"
    sr = sweep(tmp_path, cache=store, max_memory=0)
    for blob in (store / "blobs").iterdir():
        data = bytearray(blob.read_bytes())
        data[20] ^= 0xFF  # inside the first output's pickle, which follows the 8 magic bytes
        blob.write_bytes(bytes(data))
    with pytest.raises(
        ValueError, match=r"Output 'a', kept in the run store .* does not match its signature"
    ):
        sr[{"i": 1}]["a"]


def test_outputs_from_an_executor_are_kept_within_the_budget_too(tmp_path, spill_dir):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        sr = sweep(tmp_path, executor=pool, max_memory=0)
    assert kinds(sr) == ["SpilledOutput"] * 4
    check_values(sr)


def test_progress_counts_the_bytes_of_large_outputs(tmp_path, capsys):
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    sensitivity(script, {"i": [1]}, progress=True)
    err = capsys.readouterr().err
    assert "received=4.0 MiB" in err


def test_the_html_repr_shows_memory_and_disk(tmp_path, spill_dir):
    html = sweep(tmp_path, max_memory=5 * MIB)._repr_html_()
    assert "Outputs: 4.0 MiB in memory, 4.0 MiB on disk (max_memory 5.0 MiB;" in html


def test_entries_stored_by_the_previous_version_still_load(tmp_path, spill_dir):
    import hashlib
    import hmac
    import json
    import pickle
    import sqlite3
    from pathlib import Path

    import cloudpickle

    store = tmp_path / "store"
    first = sweep(tmp_path, cache=store)
    secret = Path(os.environ["PY3R_SCRIPT_KEY_FILE"]).read_bytes()
    with sqlite3.connect(store / "index.sqlite") as db:
        for key, digest, params in db.execute("SELECT key, digest, params FROM entries").fetchall():
            it = first.iteration({"i": json.loads(params)["i"]})
            # The layout of the previous version: one signed cloudpickle of the whole record.
            record = {**it.to_record(), "outputs": dict(first[it.params]), "created": 0.0}
            data = cloudpickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
            new = hmac.new(secret, key.encode() + b"\0" + data, hashlib.sha256).hexdigest()
            (store / "blobs" / f"{key}.{digest[:16]}.pkl").unlink()
            (store / "blobs" / f"{key}.{new[:16]}.pkl").write_bytes(data)
            db.execute("UPDATE entries SET digest = ?, size = ? WHERE key = ?", (new, len(data), key))
    again = sweep(tmp_path, cache=store, max_memory=0)
    assert all(it.cached for it in again.iterations)
    assert kinds(again) == ["SpilledOutput"] * 4  # kept in the spill file: the old file has no parts
    check_values(again)


def test_a_saved_file_overwritten_in_place_cannot_crash_the_results(tmp_path, spill_dir):
    path = tmp_path / "sr.pkl"
    sweep(tmp_path, max_memory=0).save(path)
    back = ScriptResults.load(path, max_memory=0)
    before = back[{"i": 1}]["a"]  # read from the file, not mapped: it is a copy of its own
    with open(path, "r+b") as f:  # another program rewrites the file in place
        f.truncate(100)
    assert np.array_equal(before, np.full(2**18, 1.0))
    with pytest.raises(EOFError, match=r"the file ends \d+ bytes early"):
        back[{"i": 2}]["a"]
