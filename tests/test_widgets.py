"""The sweep panel, headless: real widgets, real background runs; set values, click, wait, assert."""

from __future__ import annotations

import html

import ipywidgets as w
import pytest

from helpers import EXAMPLE, wait_for
from py3r.behaviour.script import SweepPanel, panel

SCRIPT = """\
import pathlib, time
from py3r.behaviour.script import Output, Param
n = Param(3, name="n")
scale = Param(0.5, name="scale")
label = Param("a", name="label")
flag = Param(True, name="flag")
req = Param(name="req")
marker_dir = Param("", name="marker_dir")
if n == 7:
    raise ValueError("seven is not allowed")
if n == 9 and marker_dir:
    (pathlib.Path(marker_dir) / "slow-started").write_text("x")
    while True:
        time.sleep(0.05)
Output(n * scale, name="value")
Output(f"{label}-{flag}-{req}", name="text")
Output({"n": n}, name="info")
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "s.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture
def make_panel():
    made = []

    def make(script):
        p = panel(script)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def live_text(p: SweepPanel) -> str:
    return html.unescape(" ".join(c.value for c in p.live_output.children if isinstance(c, w.HTML)))


def test_controls_are_built_from_the_spec(script, make_panel):
    p = make_panel(script)
    c = p.controls
    assert isinstance(c["n"], w.IntSlider) and c["n"].value == 3 and not c["n"].continuous_update
    assert isinstance(c["scale"], w.FloatSlider) and c["scale"].value == 0.5
    assert isinstance(c["label"], w.Text) and c["label"].value == "a"
    assert isinstance(c["flag"], w.Checkbox) and c["flag"].value is True
    assert isinstance(c["req"], w.Text) and c["req"].value == "" and "required" in c["req"].placeholder
    assert c["n"].tooltip.endswith("line 3")
    assert p.tabs.titles == ("Live", "Sweep")


def test_required_value_is_asked_for_in_place(script, make_panel):
    p = make_panel(script)
    assert p.wait(60)
    assert "Parameter 'req' is required" in live_text(p) and p.last_run is None


def test_changes_rerun_and_show_outputs(script, make_panel):
    p = make_panel(script)
    p.controls["req"].value = "x"
    assert p.wait(60)
    assert p.last_run[{"req": "x"}]["value"] == 1.5
    p.controls["n"].value = 5
    assert p.wait(60)
    run = p.last_run
    assert run.iterations[0].values["n"] == 5 and run.iterations[0].outputs["value"] == 2.5
    text = live_text(p)
    assert "<code>value</code>" in text and "2.5" in text and "a-True-x" in text
    assert "{'n': 5}" in text  # a non-scalar output shown by its repr
    assert p.trace_image.value[:4] == b"\x89PNG"  # the trace of outputs against n


def test_bad_value_and_failure_shown_in_place(script, make_panel):
    p = make_panel(script)
    p.controls["req"].value = "x"
    p.controls["label"].value = "b"
    p.controls["n"].value = 7
    assert p.wait(60)
    text = live_text(p)
    assert "The run failed" in text and "ValueError: seven is not allowed" in text
    assert p.last_run.iterations[0].status == "failed"


def test_newer_change_cancels_an_older_run(script, make_panel, tmp_path):
    p = make_panel(script)
    p.controls["req"].value = "x"
    p.controls["marker_dir"].value = str(tmp_path)
    assert p.wait(60)
    p.controls["n"].value = 9  # this run hangs until cancelled
    wait_for(lambda: (tmp_path / "slow-started").exists(), timeout=60, what="the slow run to start")
    p.controls["n"].value = 4
    assert p.wait(60)
    assert p.last_run.iterations[0].values["n"] == 4 and p.last_run.iterations[0].outputs["value"] == 2.0


def test_sweep_runs_with_progress_table_and_plot(script, make_panel):
    p = make_panel(script)
    p.controls["req"].value = "x"
    assert p.wait(60)
    check, text = p.sweep_rows["scale"]
    text.value = "0:1:3"
    assert check.value  # typing values ticks the parameter
    p.sweep_rows["n"][1].value = "1, 2"
    p.mode.value = "grid"
    p.start_button.click()
    assert p.wait(60)
    assert p.progress.value == p.progress.max == 3 * 3 and p.progress.bar_style == "success"
    assert len(p.results) == 9 and p.results.mode == "grid"
    assert p.results[{"n": 2, "scale": 1.0}]["value"] == 2.0
    assert "<table" in p.sweep_table.value and p.sweep_plot.value[:4] == b"\x89PNG"
    assert "None" not in p.sweep_table.value  # the error column is blank where a point ran
    assert "Done: 9 points, 0 failed." in p.sweep_status.value


def test_sweep_bad_input_shown_in_place(script, make_panel):
    p = make_panel(script)
    p.start_button.click()
    assert "Tick at least one parameter" in p.sweep_status.value
    p.sweep_rows["n"][1].value = "1, two"
    p.start_button.click()
    assert "'two' is not a whole number" in html.unescape(p.sweep_status.value)


def test_cancel_keeps_finished_points(script, make_panel, tmp_path):
    p = make_panel(script)
    p.controls["req"].value = "x"
    p.controls["marker_dir"].value = str(tmp_path)
    assert p.wait(60)
    p.sweep_rows["n"][1].value = "1, 2, 9, 4"
    p.start_button.click()
    wait_for(lambda: (tmp_path / "slow-started").exists(), timeout=60, what="the slow point to start")
    p.cancel_button.click()
    assert p.wait(60)
    statuses = {it.params["n"]: it.status for it in p.results.iterations}
    assert statuses[1] == statuses[2] == "ok" and statuses[9] == "cancelled"
    assert p.results.interrupted and "Cancelled" in p.sweep_status.value


def test_example_pipeline_panel(make_panel):
    p = make_panel(EXAMPLE)
    assert p.wait(60)
    assert "fraction_moving" in live_text(p) and "tracking" in live_text(p)


def test_live_tab_serves_earlier_values_from_the_store(tmp_path):
    script = tmp_path / "c.py"
    log = tmp_path / "log"
    script.write_text(
        "from py3r.behaviour.script import Output, Param\nn = Param(3, name='n')\n"
        f"open({str(log)!r}, 'a').write(f'{{n}}\\n')\nOutput(n * 2, name='y')\n"
    )
    p = panel(script, cache=tmp_path / "store")
    try:
        assert p.wait(60)
        p.controls["n"].value = 4
        assert p.wait(60)
        p.controls["n"].value = 3  # back to a value seen before
        assert p.wait(60)
        assert p.last_run.iterations[0].cached and p.last_run.iterations[0].outputs["y"] == 6
        assert log.read_text().split() == ["3", "4"]
    finally:
        p.close()
