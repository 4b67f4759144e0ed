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
# # Sweeps on a Dask cluster, or any executor
#
# `sensitivity(..., executor=client)` sends each iteration to a Dask cluster as one task. On the
# worker the iteration runs exactly as it does locally (in a fresh process, with the same
# output capture and failure records), and results stream back as tasks finish. The task
# carries the script's source, so the workers need no copy of the script; data files it reads
# must be reachable from the workers under the same paths.
#
# Here the "cluster" is a `LocalCluster` of two worker processes on this machine; with a real
# cluster you would connect with `Client("tcp://scheduler:8786")` instead.

# %%
import concurrent.futures
import logging

from dask.distributed import Client, LocalCluster

from py3r.behaviour.script import sensitivity

SCRIPT = "../examples/open_field/pipeline.py"
SCALARS = ["fraction_moving", "time_in_centre_s", "distance_cm"]  # the pipeline's scalar outputs
PARAMS = {"smooth_window": [1, 9], "threshold": [1.0, 4.0]}

# %%
cluster = LocalCluster(
    n_workers=2,
    threads_per_worker=1,
    processes=True,
    dashboard_address=None,  # no dashboard for this demo (leave this out to get one)
    silence_logs=logging.ERROR,  # the cluster's log: errors only
)
client = Client(cluster)
client.wait_for_workers(2)
len(client.nthreads())  # how many workers are up

# %% [markdown]
# The same sweep on the cluster and on this machine's own engine gives the same results:

# %%
on_cluster = sensitivity(SCRIPT, PARAMS, executor=client, progress=False)
local = sensitivity(SCRIPT, PARAMS, workers=2, progress=False)
on_cluster.to_dataframe(outputs=SCALARS).equals(local.to_dataframe(outputs=SCALARS))

# %%
on_cluster.to_dataframe(outputs=SCALARS)

# %% [markdown]
# Each iteration records the Dask worker that ran it:

# %%
workers = set(client.nthreads())  # their addresses
all(it.info["worker"] in workers for it in on_cluster.iterations)

# %% [markdown]
# The library never closes your client or cluster (you may want them for the next sweep), so
# close them yourself when you are done:

# %%
client.close()
cluster.close()

# %% [markdown]
# ## Any `concurrent.futures` executor
#
# A `ThreadPoolExecutor` or `ProcessPoolExecutor` works too: each task still runs its
# iteration in a fresh process, and the pool only decides how many run at once.

# %%
with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    threaded = sensitivity(SCRIPT, PARAMS, executor=pool, progress=False)
threaded.to_dataframe(outputs=SCALARS).equals(local.to_dataframe(outputs=SCALARS))
