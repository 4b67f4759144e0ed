# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The sweep panel
#
# `panel(script)` builds a widget from what the script declares about its parameters, with two
# tabs:
#
# - **Live**: one control per parameter: a slider over each declared range, a drop-down for
#   declared choices, a checkbox for booleans, text boxes for the rest, each with the parameter's
#   meaning and range beside it. A change reruns the script at once and shows its outputs, with a
#   small plot of each scalar output against the parameter you moved. **Reset**, **Compare** and
#   **Export** sit beside **Run**.
# - **Sweep**: tick parameters (ticking fills in their declared range), press **Start**; the
#   table, the plot and a progress bar fill in as points arrive. **Cancel** stops the sweep and
#   keeps finished points. Sampled designs (random, Latin hypercube, Sobol', Morris) end with
#   their sensitivity indices.
#
# Everything the mouse does has a method or an attribute, so below we drive the panel from
# code and show what it produced as ordinary outputs (these are visible even where widgets
# are not drawn, as on GitHub). Served with Voilà (`voila notebooks/03-panel.ipynb`, the `panel`
# extra), this notebook is a web page with the panel on it and no code.

# %%
import shutil
from pathlib import Path

from IPython.display import HTML, Image

from py3r.behaviour.script import panel

SCRIPT = "../examples/open_field/pipeline.py"
SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]  # the pipeline's scalar outputs
STORE = "panel-runs"  # this demo's run store: removed first, so every run starts the same
shutil.rmtree(STORE, ignore_errors=True)

# %% [markdown]
# By default the panel keeps every result in a run store (`.py3r-runs/`): moving a slider back
# to a value seen before shows its result at once. Here it uses its own store directory.

# %%
p = panel(SCRIPT, cache=STORE)
p

# %% [markdown]
# The panel ran the script with its defaults as soon as it was built. All work happens in
# background threads, so the notebook stays responsive; `wait()` blocks until it is done.
# `last_run` holds the results of the latest live run:

# %%
p.wait()
p.last_run.to_dataframe(outputs=SCALARS).T  # one run: its parameter values and scalar outputs

# %% [markdown]
# ## Controls from the script's declarations
#
# The example declares `threshold = Param(2.0, name="threshold", low=0.0, high=20.0, step=0.5)`
# with the comment *cm/s above which the animal counts as moving*. Its slider spans exactly that
# range by that step (the default lies on the slider's grid, so the keyboard steps away from it
# and back); `smooth_window` steps by 2 from 1, so it never offers the even windows the script
# rejects; `smoothing` has two choices, so it is a drop-down. `seed` declares only `low=0`: its
# slider spans the default's neighbourhood, and a box beside it takes any other value.

# %%
{name: (type(c).__name__, getattr(c, "min", None), getattr(c, "max", None), getattr(c, "step", None))
 for name, c in p.controls.items()}

# %% [markdown]
# ## Moving a slider
#
# With the mouse you would drag the `threshold` slider (or focus it and press the arrow keys).
# Setting the slider's value from code does exactly the same: the panel reruns at once, and shows
# the outputs as soon as they arrive.

# %%
p.controls["threshold"].value = 4.0
p.wait()
latest = p.last_run.iterations[0]
latest.params["threshold"], latest.outputs["fraction_moving"]

# %% [markdown]
# Each rerun adds a point to the Live tab's trace: every scalar output against the parameter
# just moved (the current value starred). The trace is an image widget; here it is shown as a
# plain image:

# %%
for value in (1.0, 6.0, 8.0):
    p.controls["threshold"].value = value
    p.wait()
Image(p.trace_image.value)

# %% [markdown]
# Back to a value seen before: the result comes from the store, without running the script, and
# the status line beside the buttons says so.

# %%
p.controls["threshold"].value = 4.0
p.wait()
p.last_run.iterations[0].cached, "from the store" in p.status.value

# %% [markdown]
# ## Compare and Reset
#
# **Compare** pins the run shown; the next runs show their scalar outputs beside the pinned ones,
# with the change. (The Live tab's outputs are HTML; here they are shown as plain HTML.)

# %%
p.compare_button.value = True  # pins threshold=4.0
p.controls["smooth_window"].value = 11
p.wait()
HTML(p.live_output.children[0].value.split("<p class='py3r-note'><code>tracking")[0])

# %% [markdown]
# **Reset** puts every control back to the script's default and reruns once.

# %%
p.compare_button.value = False
p.reset()
p.wait()
{name: c.value for name, c in p.controls.items()}

# %% [markdown]
# ## A sweep from the Sweep tab
#
# On the Sweep tab you would tick parameters (which fills in their declared range) or type values
# next to them: a list like `1, 5, 11, 21`, or a range `start:stop:count`. Parameters you do not
# sweep stay at the values set on the Live tab. Then choose the mode and the number of workers,
# and press **Start**. `sweep()` does all of it from code:

# %%
p.sweep({"smooth_window": [1, 5, 11, 21], "threshold": "1:8:3"}, mode="grid", workers=2)  # 1, 4.5, 8
p.wait()
p.progress.description, p.sweep_status.value.split(" Took")[0]

# %% [markdown]
# The sweep's results are in `p.results`, an ordinary `ScriptResults`:

# %%
p.results.to_dataframe(outputs=SCALARS)

# %% [markdown]
# and this is the plot the Sweep tab shows (a heat map per output, for a grid over two parameters):

# %%
Image(p.sweep_plot.value)

# %% [markdown]
# **Export** writes the table as CSV and the plot as PNG and SVG next to the notebook, and shows
# their paths (here they are removed again):

# %%
written = p.sweep_tab.export()
print([path.suffix for path in written])
for path in written:
    Path(path).unlink()

# %% [markdown]
# ## Which knobs matter? A sampled design from the Sweep tab
#
# Besides independent and grid sweeps, the mode selector offers sampled designs: **random**,
# **lhs** (Latin hypercube), **sobol** and **morris**. Every ticked parameter then varies at once
# over a range `low:high` (ticking fills in the range the script declares) or a list of choices,
# and the design picks the values; `n` sets its size (a line beside it says how many runs that
# makes) and a seed makes it repeatable. Here a Morris screening of three knobs, 10 trajectories:

# %%
p.sweep(["threshold", "smooth_window", "smoothing"], mode="morris", n=10, seed=1, workers=2)
p.wait()
p.sweep_rows["threshold"][1].value, p.sweep_status.value.split(" Took")[0]

# %% [markdown]
# When the design has run, the tab shows its indices (`p.indices`, the table of
# `p.results.indices()`): `mu_star` says how far each knob moves each output across its range,
# `sigma` how much that depends on where the other knobs are.

# %%
p.indices.round(3)

# %% [markdown]
# and the design's plot (for Morris, each knob in the mu*-sigma plane; for Sobol', bars of S1 and
# ST; for random and LHS designs, each output against each knob):

# %%
Image(p.sweep_plot.value)

# %% [markdown]
# The **Cancel** button is `p.cancel_sweep()`: running points are stopped, finished ones kept,
# and the points that never ran are left out of the counts, the table and the plot (they are no
# failures). A cancelled design says in place why it has no indices.
#
# The panel above stays live: move its sliders. When you are done, `p.close()` cancels anything
# still running and closes its widgets.
