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
# `panel(script)` builds a widget from the script's parameters, with two tabs:
#
# - **Live**: one control per parameter (sliders for numbers, a checkbox for booleans, text
#   boxes for the rest). Each change reruns the script in the background and shows its
#   outputs, with a small plot of each scalar output against the parameter you moved.
# - **Sweep**: tick parameters, type their values, press **Start**; the table, the plot and a
#   progress bar fill in as points arrive. **Cancel** stops the sweep and keeps finished points.
#
# Everything the mouse does has a method or an attribute, so below we drive the panel from
# code and show what it produced as ordinary outputs (these are visible even where widgets
# are not drawn, as on GitHub).

# %%
import shutil

from IPython.display import Image

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
# ## Moving a slider
#
# With the mouse you would drag the `threshold` slider. Setting the slider's value from code
# does exactly the same: the panel waits a quarter of a second for the control to rest, then
# reruns.

# %%
p.controls["threshold"].value = 4.0
p.wait()
latest = p.last_run.iterations[0]
latest.params["threshold"], latest.outputs["fraction_moving"]

# %% [markdown]
# Each rerun adds a point to the Live tab's trace: every scalar output against the parameter
# just moved (the current value starred). A slider's range is chosen from the parameter's
# default (0 to 6 for `threshold`); the `min` and `max` boxes beside it change it (from code:
# the slider's `min` and `max`). The trace is an image widget; here it is shown as a plain
# image:

# %%
p.controls["threshold"].max = 10.0  # typing 10 into the "max" box
for value in (1.0, 6.0, 8.0):
    p.controls["threshold"].value = value
    p.wait()
Image(p.trace_image.value)

# %% [markdown]
# Back to a value seen before: the result comes from the store, without running the script.

# %%
p.controls["threshold"].value = 4.0
p.wait()
p.last_run.iterations[0].cached

# %% [markdown]
# ## A sweep from the Sweep tab
#
# On the Sweep tab you would type values next to a parameter (which ticks its box): a list
# like `1, 5, 11, 21`, or a range `start:stop:steps`. Parameters you do not sweep stay at the
# values set on the Live tab. Then choose the mode and the number of workers, and press
# **Start**, which is `start_sweep()`.

# %%
p.sweep_rows["smooth_window"][1].value = "1, 5, 11, 21"
p.sweep_rows["threshold"][1].value = "1:8:3"  # 1, 4.5 and 8
p.mode.value = "grid"
p.workers.value = 2
p.start_sweep()
p.wait()
p.sweep_status.value, p.progress.description

# %% [markdown]
# The sweep's results are in `p.results`, an ordinary `ScriptResults`:

# %%
p.results.to_dataframe(outputs=SCALARS)

# %% [markdown]
# and this is the plot the Sweep tab shows (a heat map per output, for a grid over two parameters):

# %%
Image(p.sweep_plot.value)

# %% [markdown]
# The **Cancel** button is `p.cancel_sweep()`. When you are done, `close()` cancels anything
# still running and closes the widgets.

# %%
p.close()
shutil.rmtree(STORE, ignore_errors=True)
