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
# # The run store: cached reruns, resumable sweeps, saved results
#
# Pass `cache=` to `run` or `sensitivity` and every iteration is kept in a *run store* the
# moment it finishes. A later call with the same script, values and outputs gets the stored
# result back without running anything. `cache=True` uses `.py3r-runs/` in the working
# directory; here we give a directory of our own, and empty it first so this notebook always
# starts the same way. (Loading a store unpickles objects: use only stores you wrote yourself.
# The details are in [docs/store.md](../docs/store.md).)

# %%
import os
import shutil

import pandas as pd

from py3r.behaviour.script import ScriptResults, history, run, sensitivity

SCRIPT = "../examples/open_field/pipeline.py"
SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]  # the pipeline's scalar outputs
STORE = "demo-runs"
shutil.rmtree(STORE, ignore_errors=True)

# %% [markdown]
# ## Run once, get it back for free

# %%
first = run(SCRIPT, {"threshold": 4.0}, cache=STORE)
first.iteration({"threshold": 4.0}).cached

# %%
again = run(SCRIPT, {"threshold": 4.0}, cache=STORE)
it = again.iteration({"threshold": 4.0})
it.cached, it.outputs["fraction_moving"] == first[{"threshold": 4.0}]["fraction_moving"]

# %% [markdown]
# Editing the script (or a local module it imports) makes its stored results a miss, so you
# never get a result of an older version. Data files the script reads are not watched: give
# the script a parameter for them.
#
# ## Resuming a sweep
#
# Because every iteration is stored as soon as it finishes, a sweep that was interrupted
# (Ctrl-C, the panel's Cancel, a `CancelToken`, a kernel that died) is resumed by running the
# same call again: only the iterations without a stored result run, and the progress bar
# starts at the number already done. The same happens when a sweep grows. Here we sweep two
# smoothing windows, then four:

# %%
part = sensitivity(SCRIPT, {"smooth_window": [1, 3]}, cache=STORE, progress=False)
full = sensitivity(SCRIPT, {"smooth_window": [1, 3, 9, 15]}, cache=STORE)
pd.DataFrame([{**it.params, "cached": it.cached} for it in full.iterations])

# %% [markdown]
# ## Failures are stored too
#
# A script that raises for some values (the example refuses an even smoothing window) raises
# for them every time, so a stored failure is returned as it is. `retry_failed=True` runs stored
# failures again (after you fixed what they depend on outside the script, say).

# %%
failing = sensitivity(SCRIPT, {"smooth_window": [4]}, cache=STORE, progress=False)
[(it.params, it.status, it.cached) for it in failing.iterations]

# %%
stored = sensitivity(SCRIPT, {"smooth_window": [4]}, cache=STORE, progress=False)
retried = sensitivity(SCRIPT, {"smooth_window": [4]}, cache=STORE, progress=False, retry_failed=True)
stored.iteration({"smooth_window": 4}).cached, retried.iteration({"smooth_window": 4}).cached

# %% [markdown]
# ## What is in the store: `history`
#
# One row per stored iteration of the script: the values injected, the scalar outputs,
# `status`, `when` it ran, how many `seconds` it took, and whether it is `current` (it matches
# the script as it is now). A parameter that was not given to a call (the script's default
# applied) is left empty. We leave out the time columns and sort by the parameters, so the
# table reads the same on every run.

# %%
table = history(SCRIPT, store=STORE)
table.drop(columns=["when", "seconds"]).sort_values(["smooth_window", "threshold"], ignore_index=True)

# %% [markdown]
# ## Saving a results object
#
# `save` writes a whole `ScriptResults` (outputs, logs, failures) to one file and
# `ScriptResults.load` reads it back. It is a pickle, for yourself: to share results, write a
# table of the scalar outputs you name (`sr.to_dataframe(outputs=[...]).to_csv(...)`).

# %%
full.save("demo-results.pkl")
loaded = ScriptResults.load("demo-results.pkl")
same_table = loaded.to_dataframe(outputs=SCALARS).equals(full.to_dataframe(outputs=SCALARS))
same_table, loaded[{"smooth_window": 9}]["tracking"].shape

# %% [markdown]
# Tidy up (delete a store directory, and everything in it is forgotten):

# %%
os.remove("demo-results.pkl")
shutil.rmtree(STORE)
