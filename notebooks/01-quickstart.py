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
# # Quick start: inspect, run and sweep a pipeline script
#
# [`examples/open_field/pipeline.py`](../examples/open_field/pipeline.py) is an ordinary Python
# script: it makes a synthetic five-minute open-field session (a mouse tracked in a 40 cm arena),
# smooths the track, computes the speed, calls each frame *moving* or *not moving* and
# summarises. `python pipeline.py` runs it as it always did.
#
# Its knobs are marked with `Param(default, name=...)` and its results with
# `Output(value, name=...)`. That is all this library needs to read the script, run it with
# other values and sweep its parameters, each run in a fresh process, without editing it.

# %%
from py3r.behaviour.script import inspect, run, sensitivity

SCRIPT = "../examples/open_field/pipeline.py"

# %% [markdown]
# ## 1. What can be changed, and what comes out?
#
# `inspect` reads the script without running it: its parameters with their defaults and
# types, then what the script declares about each (the range or choices it allows, a step, and
# what it means: here from the comments beside the `Param` calls), and its outputs. Values you
# pass later are checked against these types and ranges before anything runs.

# %%
inspect(SCRIPT)

# %% [markdown]
# ## 2. Run it once with another value
#
# `run` starts a fresh process, injects the values you give (the others keep the script's
# defaults), runs the script and collects every `Output`. It returns a `ScriptResults`.

# %%
sr = run(SCRIPT, {"threshold": 4.0})
sr

# %% [markdown]
# Index the results with the parameter values to get that run's outputs, by name:

# %%
out = sr[{"threshold": 4.0}]
out["fraction_moving"], out["distance_cm"]

# %% [markdown]
# Outputs can be anything picklable, here a whole DataFrame of the smoothed track:

# %%
out["tracking"].head()

# %% [markdown]
# Whatever the script printed is kept with the iteration (and so is stderr):

# %%
print(sr.iteration({"threshold": 4.0}).stdout)

# %% [markdown]
# ## 3. A sensitivity sweep
#
# `sensitivity` runs the script once per parameter combination. In the default *independent*
# mode one parameter varies at a time while the others stay at their nominal value (the
# script's default, added to each list automatically). `workers=2` runs two iterations at
# once; results never depend on it. The progress bar fills as iterations finish.

# %%
params = {"smooth_window": [1, 3, 9, 15], "threshold": [1.0, 4.0, 8.0]}
sweep = sensitivity(SCRIPT, params, workers=2)
sweep

# %% [markdown]
# ## 4. The results as a table
#
# `to_dataframe(outputs=[...])` gives one row per iteration: the swept parameters, then the
# scalar outputs you name, one column each. An output that is not a scalar (the `tracking`
# DataFrame) cannot be a column: reach it by indexing, as above.

# %%
SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]
sweep.to_dataframe(outputs=SCALARS)

# %% [markdown]
# ## 5. When an iteration fails
#
# A value outside the range a parameter declares never reaches the script: the smoothing window
# is declared with `low=1, high=51`, so a window of 0 is refused before anything runs.

# %%
try:
    sensitivity(SCRIPT, {"smooth_window": [0, 3]}, progress=False)
except ValueError as exc:
    print(exc)

# %% [markdown]
# What a range cannot say, the script checks itself: a centred window needs an odd number of
# frames, so the script raises `ValueError` for an even one. A failed iteration never stops a
# sweep: it is recorded with its cause and the script's traceback, the other iterations carry
# on, and a warning says how many failed.

# %%
bad = sensitivity(SCRIPT, {"smooth_window": [4, 3]}, progress=False)
bad.to_dataframe(outputs=SCALARS, include_failed=True)[["smooth_window", "fraction_moving", "status"]]

# %% [markdown]
# `errors` lists each failed iteration's parameters and what went wrong:

# %%
for params, message in bad.errors:
    print(params)
    print(message)

# %% [markdown]
# The full record is a `Failure` (kind, exception type and message, exit code or signal, the
# tail of stderr), and asking a failed iteration for an output says why it is missing:

# %%
failure = bad.iteration({"smooth_window": 4}).failure
print(failure.kind, failure.exc_type, failure.exc_message, sep=" | ")
try:
    bad[{"smooth_window": 4}]["fraction_moving"]
except KeyError as exc:
    print(exc)

# %% [markdown]
# ## 6. Stop as soon as you have what you need
#
# `outputs=[...]` names the outputs you want, and `stop_after_outputs=True` stops the process
# inside the `Output` call that delivers the last of them: nothing after it runs. Here we only
# want the smoothed track, so the summary (and the script's final `print`) never happen.

# %%
early = run(SCRIPT, {"threshold": 4.0}, outputs=["tracking"], stop_after_outputs=True)
list(early[{"threshold": 4.0}]), early.iteration({"threshold": 4.0}).stdout

# %% [markdown]
# ## 7. A grid sweep
#
# `mode="grid"` runs every combination of the values (here 4 x 4 = 16 iterations).

# %%
grid = sensitivity(
    SCRIPT,
    {"smooth_window": [1, 5, 11, 21], "threshold": [1.0, 2.0, 4.0, 8.0]},
    mode="grid",
    workers=2,
    progress=False,
)
grid.to_dataframe(outputs=SCALARS).head()

# %% [markdown]
# ## 8. Plots
#
# `plot()` draws every numeric scalar output against each swept parameter and returns a
# matplotlib `Figure` (save it with `fig.savefig("sweep.png")`). For an independent sweep,
# each panel shows one output against one parameter with the others at nominal; the nominal
# point is starred.

# %%
sweep.plot()

# %% [markdown]
# Choose outputs by name, and other kinds of plot: a tornado chart ranks the parameters by how
# far they move each output.

# %%
sweep.plot(["fraction_moving", "distance_cm"], kind="tornado")

# %% [markdown]
# A grid sweep over two parameters is drawn as one heat map per output:

# %%
grid.plot()

# %% [markdown]
# Parameters that are not numbers (here the smoothing method) are placed at evenly spaced
# positions, and failed iterations are drawn as crosses at the bottom of their panel (the even
# window of 4 frames):

# %%
by_method = sensitivity(SCRIPT, {"smoothing": ["median"], "smooth_window": [4, 9]}, progress=False)
by_method.plot(["fraction_moving"])

# %% [markdown]
# ## Next
#
# - [02-magics](02-magics.ipynb): the same from notebook magics (`%inspect_script`, `%%sweep`).
# - [03-panel](03-panel.ipynb): sliders that rerun the script, and sweeps from a form.
# - [04-store](04-store.ipynb): cached reruns, resumable sweeps, history, saved results.
# - [05-dask](05-dask.ipynb): sweeps on a Dask cluster or any `concurrent.futures` executor.
# - [06-notebook-pipelines](06-notebook-pipelines.ipynb): pipelines kept as notebooks.
