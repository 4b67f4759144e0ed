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
# # Magics: `%inspect_script` and `%%sweep`
#
# Two IPython magics do what `inspect` and `sensitivity` do, with less typing. Load them once
# per session:

# %%
# %load_ext py3r.behaviour.script

# %% [markdown]
# ## `%inspect_script PATH`
#
# Shows the script's parameters and outputs (nothing runs) and returns the description as a
# `ScriptSpec` object, which renders as a table in a notebook: each parameter's default, type and
# line, then what the script declares about it (its range or choices, step and description).

# %%
# %inspect_script ../examples/open_field/pipeline.py

# %% [markdown]
# ## `%%sweep PATH [options]`
#
# The cell body says what to sweep, one parameter per line, in plain Python:
#
# - a **list, tuple, range or array** is a set of values to sweep;
# - a **single value** is that parameter's nominal value (what it is held at while others vary).
#
# The magic shows the results table and the sensitivity plot, and keeps the `ScriptResults` in
# a variable: `_sweep` by default, or the name given with `-o`.

# %%
# %%sweep ../examples/open_field/pipeline.py -o by_window --workers 2
smooth_window = [1, 3, 9, 15]
threshold = 4.0

# %% [markdown]
# `by_window` is an ordinary `ScriptResults`: index it, tabulate the scalar outputs you name,
# plot it again.

# %%
SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]
by_window.to_dataframe(outputs=SCALARS)  # noqa: F821 (by_window is set by %%sweep -o above)

# %% [markdown]
# The cell runs against a copy of the notebook's namespace, so it can use your variables and
# libraries (and cannot change them). The options mirror `sensitivity`'s arguments:
#
# | option | meaning |
# |---|---|
# | `--mode grid` | every combination instead of one parameter at a time |
# | `--outputs a,b` | capture only these outputs |
# | `--workers N` | iterations at once (`-1`: one per core) |
# | `--timeout S` | stop an iteration after S seconds (recorded as a failure) |
# | `-o NAME` | keep the results in `NAME` |
# | `--no-plot` | do not draw the plot |
# | `--cache [DIR]` | reuse and keep results in a run store (see [04-store](04-store.ipynb)) |
# | `--scheduler ADDRESS` | run the iterations on a Dask scheduler (see [05-dask](05-dask.ipynb)) |

# %%
import numpy as np

thresholds = np.arange(1.0, 9.0, 3.0)  # 1, 4, 7 (and the default 2 is added)

# %%
# %%sweep ../examples/open_field/pipeline.py --mode grid --outputs fraction_moving -o grid --no-plot
smooth_window = range(1, 16, 6)
threshold = thresholds
seed = 7

# %% [markdown]
# With `--no-plot`, draw it later, in the form you want:

# %%
grid.plot(kind="heatmap")  # noqa: F821 (grid is set by %%sweep -o above)

# %% [markdown]
# Type `%%sweep?` in a cell for the full usage. A value that does not fit a parameter's type or
# lies outside its declared range, or a line that is not one of the script's parameters, is
# reported before anything runs.
