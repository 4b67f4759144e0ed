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
# # Pipelines kept as notebooks
#
# A pipeline does not have to be a `.py` file.
# [`examples/open_field/pipeline.ipynb`](../examples/open_field/pipeline.ipynb) is the same
# pipeline as `pipeline.py`, written as a notebook: its code cells carry the `Param` and
# `Output` calls. `inspect`, `run`, `sensitivity`, the magics, the panel and the command line
# all accept the `.ipynb` path. Markdown cells are ignored, and IPython syntax (`%time`, `!ls`)
# works in the code cells.

# %%
from py3r.behaviour.script import inspect, read_script, run, sensitivity

NOTEBOOK = "../examples/open_field/pipeline.ipynb"
SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]  # the pipeline's scalar outputs

# %% [markdown]
# `inspect` says which cell declares each parameter and output:

# %%
inspect(NOTEBOOK)

# %% [markdown]
# `read_script` gives the same as an object; `where` turns a line of the pipeline into a place
# in the notebook:

# %%
spec = read_script(NOTEBOOK)
spec.where(spec.params["threshold"].line)

# %% [markdown]
# ## Running and sweeping
#
# The code cells run one after another in a fresh process, as if you had pressed *Run All*.
# The notebook file itself is never modified, and its stored outputs are ignored.

# %%
sr = run(NOTEBOOK, {"threshold": 4.0})
sr[{"threshold": 4.0}]["fraction_moving"]

# %% [markdown]
# What the cells printed (the last cell times a step with `%time`):

# %%
print(sr.iteration({"threshold": 4.0}).stdout)

# %% [markdown]
# A sweep of the notebook gives exactly what a sweep of the script gives:

# %%
params = {"smooth_window": [1, 9], "threshold": [1.0, 4.0]}
swept = sensitivity(NOTEBOOK, params, workers=2, progress=False)
from_script = sensitivity("../examples/open_field/pipeline.py", params, workers=2, progress=False)
swept.to_dataframe(outputs=SCALARS).equals(from_script.to_dataframe(outputs=SCALARS))

# %%
swept.plot()

# %% [markdown]
# ## Errors name the cell
#
# When a cell raises, the failure's traceback points at the cell (its number and id) and the
# line within it, so you can go straight there:

# %%
failed = run(NOTEBOOK, {"smooth_window": 4})
print(failed.iteration({"smooth_window": 4}).failure)

# %% [markdown]
# Outputs produced by cells that ran before the failing one are still kept, so you can see how
# far the pipeline got. The magics work on notebooks as well:

# %%
# %load_ext py3r.behaviour.script
# %inspect_script ../examples/open_field/pipeline.ipynb
