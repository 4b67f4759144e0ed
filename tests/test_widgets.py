"""The panel's Live tab, headless: real widgets, real background runs; set values, click, wait, assert."""

from __future__ import annotations

import html
import statistics
import time
import warnings

import ipywidgets as w
import pytest

from helpers import EXAMPLE, SCRIPTS, wait_for
from py3r.behaviour.script import SweepInterruptedWarning, SweepPanel, panel, read_script, run

SCRIPT = """\
import pathlib, time
from py3r.behaviour.script import Output, Param
n = Param(3, name="n")
scale = Param(0.5, name="scale")
label = Param("a", name="label")
flag = Param(True, name="flag")
req = Param(name="req")
marker_dir = Param("", name="marker_dir")
if marker_dir:
    with open(pathlib.Path(marker_dir) / "log", "a") as log:
        log.write(f"{n}\\n")
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

#: Every kind of declaration a control is built from.
META = """\
import math
from py3r.behaviour.script import Output, Param
window = Param(5, name="window", low=1, high=51, step=2)  # frames in the window
speed = Param(2.0, name="speed", low=0.0, high=20.0)  # cm/s above which it moves
frac = Param(0.5, name="frac", low=0.05, high=0.95, step=0.05, doc="side of the centre zone")
seed = Param(42, name="seed", low=0)  # which session
gain = Param(-1.5, name="gain")
count = Param(3, name="count")
how = Param("mean", name="how", choices=["mean", "median"])
pick = Param(None, name="pick", choices=[None, "a", 2])
flag = Param(True, name="flag")
label = Param("x", name="label")
need = Param(name="need")
size = Param(len("abc"), name="size")
rate = Param(1.0, name="rate", low=0.0, high=math.inf)  # events per second
Output(window * speed * frac + seed + gain + count + rate, name="total")
Output(f"{how}-{pick}-{flag}-{label}-{need}-{size}", name="text")
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "s.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture
def meta(tmp_path):
    path = tmp_path / "meta.py"
    path.write_text(META)
    return path


def live_text(p: SweepPanel) -> str:
    return html.unescape(" ".join(c.value for c in p.live_output.children if isinstance(c, w.HTML)))


def widget_count() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the registry's name, not its use
        return len(w.Widget.widgets)


def on_grid(slider: w.Widget) -> bool:
    """The slider's value and max are whole steps from its min."""
    steps = [(x - slider.min) / slider.step for x in (slider.value, slider.max)]
    return all(abs(k - round(k)) < 1e-9 for k in steps)


# Controls ------------------------------------------------------------------------------------
def test_controls_are_built_from_the_declarations(meta, make_panel):
    p = make_panel(meta, cache=None)
    c = p.controls
    assert isinstance(c["window"], w.IntSlider) and (c["window"].min, c["window"].max, c["window"].step) == (
        1,
        51,
        2,
    )
    # A float range without step=: a round step on which the default lies exactly.
    assert isinstance(c["speed"], w.FloatSlider) and (c["speed"].min, c["speed"].max) == (0.0, 20.0)
    assert c["speed"].step == 0.2 and on_grid(c["speed"]) and not c["speed"].continuous_update
    assert (c["frac"].min, c["frac"].max, c["frac"].step, c["frac"].value) == (0.05, 0.95, 0.05, 0.5)
    # Unbounded, or bounded on one side: a slider around the default, and a box for any value.
    assert (c["seed"].min, c["seed"].max, c["seed"].step) == (0, 84, 1)
    assert (c["gain"].min, c["gain"].max, c["gain"].step) == (-3.0, 0.0, 0.05) and on_grid(c["gain"])
    assert (c["count"].min, c["count"].max) == (-7, 13)
    assert (c["rate"].min, c["rate"].max, c["rate"].step) == (0.0, 2.0, 0.02)  # high=inf: no end
    ctls = p.live_tab.controls
    assert isinstance(ctls["seed"].box, w.IntText) and isinstance(ctls["gain"].box, w.FloatText)
    assert ctls["window"].box is None and ctls["speed"].box is None
    assert isinstance(c["how"], w.Dropdown) and c["how"].value == "mean" and c["how"].label == "mean"
    assert [label for label, _ in c["how"].options] == ["mean", "median"]
    assert isinstance(c["pick"], w.Dropdown) and c["pick"].label == "None"
    assert isinstance(c["flag"], w.Checkbox) and c["flag"].value is True
    assert isinstance(c["label"], w.Text) and c["label"].value == "x"
    assert isinstance(c["need"], w.Text) and "required" in c["need"].placeholder
    assert "the script's own (len('abc'))" in c["size"].placeholder
    # Each control says what it means and what it allows: a tooltip, and a short line beside it.
    tip = "speed (float): cm/s above which it moves. range=[0.0, 20.0]. meta.py, line 4"
    assert c["speed"].tooltip == tip
    tip = "frac (float): side of the centre zone. range=[0.05, 0.95]  step=0.05"
    assert c["frac"].tooltip.startswith(tip)
    lines = {name: html.unescape(ctl.info.value) for name, ctl in ctls.items()}
    assert "cm/s above which it moves · 0.0 to 20.0" in lines["speed"]
    assert "frames in the window · 1 to 51, step 2" in lines["window"]
    assert "which session · ≥ 0; type any value in the box" in lines["seed"]
    assert "any number: type it in the box" in lines["gain"]
    assert "events per second · ≥ 0.0; type any value in the box" in lines["rate"]


def test_the_sweep_tab_says_no_range_for_an_infinite_bound(meta, make_panel):
    """``high=inf`` declares no range: the Sweep tab's note says so as the Live tab's does."""
    from py3r.behaviour.script import read_script

    params = read_script(meta).params
    assert params["speed"].has_range and not params["rate"].has_range and not params["seed"].has_range
    p = make_panel(meta, cache=None)
    notes = {
        name: html.unescape(row.children[2].value)
        for name, row in zip(p.spec.params, p.sweep_tab.box.children[1:], strict=False)
    }
    assert "events per second · ≥ 0.0; type any value in the box" in notes["rate"]
    assert "inf" not in notes["rate"]
    assert "cm/s above which it moves · 0.0 to 20.0" in notes["speed"]


def test_controls_give_the_declared_values(meta, make_panel):
    p = make_panel(meta, cache=None)
    assert p.wait(60)
    assert "Parameter 'need' is required" in live_text(p)
    p.controls["need"].value = "yes"
    p.controls["pick"].value = 2
    assert p.wait(60)
    values = p.last_run.iterations[0].values
    assert values["pick"] == 2 and values["need"] == "yes" and "size" not in values  # the script's own
    p.controls["pick"].label = "None"
    assert p.wait(60)
    assert p.last_run.iterations[0].values["pick"] is None
    assert p.last_run.iterations[0].outputs["text"] == "mean-None-True-x-yes-3"


def test_a_float_slider_steps_back_onto_its_default(make_panel):
    # The example's threshold: 0 to 20 by 0.5, default 2.0. Two steps up and two down is 2.0 again.
    p = make_panel(EXAMPLE, cache=None)
    s = p.controls["threshold"]
    for _ in range(2):
        s.value = round(s.value + s.step, 10)
    for _ in range(2):
        s.value = s.value - s.step
    assert s.value == 2.0
    for name in ("threshold", "centre_fraction", "smooth_window", "seed"):
        assert on_grid(p.controls[name]), name
    assert p.controls["smooth_window"].min == 1  # the script refuses 0: the slider never offers it
    assert p.controls["centre_fraction"].max == 0.95  # the script refuses 1.0 and above


def test_the_box_of_an_unbounded_slider_takes_any_allowed_value(meta, make_panel):
    p = make_panel(meta, cache=None)
    p.controls["need"].value = "x"
    assert p.wait(60)
    box = p.live_tab.controls["seed"].box
    box.value = 500  # past the slider's end: the slider's range follows, nothing is clipped
    assert p.wait(60)
    assert p.controls["seed"].value == 500 and p.controls["seed"].max >= 500
    assert p.last_run.iterations[0].values["seed"] == 500
    box.value = -3  # below low=0: refused in place, and nothing changes
    assert p.wait(60)
    assert "Parameter 'seed' of" in live_text(p) and "must be at least 0" in live_text(p)
    assert p.controls["seed"].value == 500 and p.controls["seed"].min == 0
    p.controls["seed"].value = 40  # the slider writes the box
    assert box.value == 40


def test_reset_brings_every_control_back_to_the_default(meta, make_panel):
    p = make_panel(meta, cache=None)
    p.controls["need"].value = "x"
    assert p.wait(60)
    p.controls["window"].value = 9
    p.controls["how"].value = "median"
    p.controls["flag"].value = False
    p.live_tab.controls["seed"].box.value = 300
    assert p.wait(60)
    p.reset_button.click()
    assert p.wait(60)
    c = p.controls
    assert (c["window"].value, c["how"].value, c["flag"].value, c["seed"].value) == (5, "mean", True, 42)
    assert c["seed"].max == 84 and c["need"].value == ""  # the slider's first range; required is empty again
    assert "Parameter 'need' is required" in live_text(p)


# Reruns ----------------------------------------------------------------------------------------
def test_changes_rerun_and_show_outputs(script, make_panel):
    p = make_panel(script)
    assert p.trace_image.layout.display == "none"  # no image yet: nothing shown, no broken icon
    p.controls["req"].value = "x"
    assert p.wait(60)
    assert p.last_run[{"req": "x"}]["value"] == 1.5
    p.controls["n"].value = 4
    assert p.wait(60)
    run_ = p.last_run
    assert run_.iterations[0].values["n"] == 4 and run_.iterations[0].outputs["value"] == 2.0
    text = live_text(p)
    assert "py3r-table" in text and "<code>value</code></td><td class='num'>2.0</td>" in text  # not "2"
    assert "a-True-x" in text and "{'n': 4}" in text  # a non-scalar output shown by its repr
    assert p.trace_image.value[:4] == b"\x89PNG" and p.trace_image.layout.display == ""
    assert "ran in" in p.status.value and "ms after the change" in p.status.value


def test_failure_shows_in_place_and_on_the_trace(script, make_panel):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    p.controls["label"].value = "b"
    assert p.wait(60)
    p.controls["n"].value = 5
    assert p.wait(60)
    p.controls["n"].value = 7
    assert p.wait(60)
    text = live_text(p)
    assert "The run failed" in text and "ValueError: seven is not allowed" in text
    assert p.last_run.iterations[0].status == "failed" and "failed after" in p.status.value
    # The trace was redrawn for this run: the failure crossed at n=7, and no star at an old value.
    ax = p.live_tab.figure.axes[0]
    marks = {c.get_label(): c.get_offsets()[:, 0].tolist() for c in ax.collections}
    assert marks["this run failed"] == [7] and ax.get_xlim()[1] > 7
    assert all(c.get_label() != "_child" or 7 not in c.get_offsets()[:, 0] for c in ax.collections)


def test_changes_while_a_run_goes_cancel_it_and_rerun_with_the_latest(script, make_panel, tmp_path):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    p.controls["marker_dir"].value = str(tmp_path)
    assert p.wait(60)
    p.controls["n"].value = 9  # this run hangs until cancelled
    wait_for(lambda: (tmp_path / "slow-started").exists(), timeout=60, what="the slow run to start")
    for n in (4, 5, 6):
        p.controls["n"].value = n
    assert p.wait(60)
    assert p.last_run.iterations[0].values["n"] == 6 and p.last_run.iterations[0].outputs["value"] == 3.0
    started = (tmp_path / "log").read_text().split()
    assert started[-1] == "6" and started.index("9") < len(started) - 1
    assert len(started) <= 2 + 3  # never more runs than changes; usually 9 then 6 alone


def test_a_cancelled_rerun_warns_nobody(script, make_panel, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()  # Python's own filters, as in a notebook
        warnings.simplefilter("default")
        p = make_panel(script, cache=None)
        p.controls["req"].value = "x"
        p.controls["marker_dir"].value = str(tmp_path)
        assert p.wait(60)
        p.controls["n"].value = 9
        wait_for(lambda: (tmp_path / "slow-started").exists(), timeout=60, what="the slow run to start")
        p.controls["n"].value = 4
        assert p.wait(60)
    assert not [x for x in caught if issubclass(x.category, SweepInterruptedWarning)]


def test_compare_shows_the_pinned_run_beside_the_next(script, make_panel):
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    assert p.wait(60)
    p.compare_button.value = True
    assert p.live_tab.pinned is not None and p.live_tab.pinned.values["n"] == 3
    p.controls["n"].value = 5
    assert p.wait(60)
    text = live_text(p)
    assert "Compared with the pinned run (n: 3 pinned, 5 now)" in text and "<th>pinned</th>" in text
    assert "+1.0 (+66.7%)" in text  # value: 2.5 now, 1.5 pinned
    p.compare_button.value = False
    assert "pinned" not in live_text(p)


def test_export_writes_the_runs_and_the_trace(script, make_panel, tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)  # a notebook's kernel runs in the notebook's folder
    p = make_panel(script, cache=None)
    p.controls["req"].value = "x"
    assert p.wait(60)
    for n in (4, 7):
        p.controls["n"].value = n
        assert p.wait(60)
    p.live_tab.export_button.click()
    csv, png, svg = sorted(tmp_path.glob("s-live-*"))
    assert png.read_bytes()[:4] == b"\x89PNG" and b"<svg" in svg.read_bytes()[:400]
    table = pd.read_csv(csv)
    assert table["n"].tolist() == [3, 4, 7] and table["status"].tolist() == ["ok", "ok", "failed"]
    assert table["value"].tolist()[:2] == [1.5, 2.0] and "seven is not allowed" in table["error"].iloc[2]
    assert csv.name in html.unescape(p.live_tab.export_status.value)


def test_a_bad_script_shows_one_clean_line(make_panel):
    p = make_panel(SCRIPTS / "bad_syntax.py")
    with pytest.raises(SyntaxError) as raised:
        read_script(SCRIPTS / "bad_syntax.py")
    shown = html.unescape(p.children[0].value)
    assert str(raised.value) in shown and "Traceback" not in shown and "does not parse" in shown
    assert isinstance(p.error, SyntaxError) and p.controls == {} and p.last_run is None and p.wait(1)
    with pytest.raises(ValueError, match=r"This panel has no controls: Script .* does not parse"):
        p.sweep(["x"])


def test_example_pipeline_panel(make_panel):
    p = make_panel(EXAMPLE)
    assert p.wait(60)
    text = live_text(p)
    assert "fraction_moving" in text and "tracking" in text and "7500 rows; the first 50" in text


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
        assert "from the store" in p.status.value
        assert log.read_text().split() == ["3", "4"]
    finally:
        p.close()


# Widgets and time ------------------------------------------------------------------------------
def test_no_widget_leaks(script, tmp_path):
    before = widget_count()
    p = panel(script, cache=tmp_path / "store")
    p.controls["req"].value = "x"
    assert p.wait(60)
    made = widget_count()
    p.compare_button.value = True
    for i in range(20):  # new values, values seen before, failures, a refused value
        p.controls["n"].value = [4, 5, 7, 4, 8][i % 5]
        if i == 10:
            p.controls["req"].value = ""
        if i == 11:
            p.controls["req"].value = "y"
        assert p.wait(60)
    p.sweep({"n": [1, 2]}, workers=1)
    assert p.wait(60)
    assert widget_count() == made, "a rerun or a sweep made widgets it did not reuse"
    p.close()
    assert widget_count() == before, "close() left widgets open"


def test_live_latency(tmp_path):
    """A new value's outputs show within 50 ms beyond run() itself; a value seen before in 20 ms."""
    p = panel(EXAMPLE, cache=tmp_path / "store")
    try:
        assert p.wait(60)
        shown: list[float] = []
        p.live_output.children[0].observe(lambda ch: shown.append(time.perf_counter()), "value")

        def move(value: float) -> float:
            shown.clear()
            start = time.perf_counter()
            p.controls["threshold"].value = value
            assert p.wait(60)
            return shown[0] - start

        new, seen, code = [], [], []
        for k, value in enumerate([2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5]):
            start = time.perf_counter()
            run(EXAMPLE, {"threshold": value + 10})  # the same work, from code
            code.append(time.perf_counter() - start)
            new.append(move(value))
            assert not p.last_run.iterations[0].cached, k
        for value in [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5]:
            seen.append(move(value))
            assert p.last_run.iterations[0].cached and "from the store" in p.status.value
        extra = statistics.median(new) - statistics.median(code)
        print(
            f"run() {statistics.median(code) * 1e3:.1f} ms; panel new value +{extra * 1e3:.1f} ms; "
            f"seen before {statistics.median(seen) * 1e3:.1f} ms"
        )
        assert extra <= 0.050, (new, code)
        assert statistics.median(seen) <= 0.020, seen
    finally:
        p.close()


def test_a_store_that_cannot_be_opened_is_said_in_place(tmp_path, make_panel):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    p = make_panel(EXAMPLE, cache=not_a_dir)
    assert p.wait(60)
    text = live_text(p)
    assert "The run could not start" in text and "NotADirectoryError" in text and p.last_run is None
    p.sweep(["threshold"], workers=1)
    assert p.wait(60)
    assert "The sweep stopped" in p.sweep_status.value and not p.start_button.disabled


def test_an_output_kept_on_disk_is_shown_without_loading_it(tmp_path, make_panel, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_MAX_MEMORY", "0")  # every large output goes to disk
    path = tmp_path / "big.py"
    path.write_text(
        "import numpy as np\nfrom py3r.behaviour.script import Output, Param\n"
        "n = Param(1, name='n')\nOutput(np.full(2**18, float(n)), name='big')\nOutput(n, name='small')\n"
    )
    p = make_panel(path, cache=None)
    assert p.wait(60)
    text = live_text(p)
    assert "<code>big</code>: a ndarray of 2.0 MiB, kept on disk (beyond max_memory)" in text
    assert "array(" not in text  # its repr would have needed it loaded
    assert p.last_run[{}]["big"][0] == 1.0  # indexing loads it
