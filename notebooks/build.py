"""Write the example notebooks of this folder, execute them, and store their outputs.

    python notebooks/build.py                  # rebuild and re-execute every notebook
    python notebooks/build.py 01-quickstart    # only this one (or several; ".ipynb" may be given)

The cells below are the single source of the notebooks: edit them here, never in the .ipynb files,
and run this script to regenerate. Each notebook runs top to bottom in a fresh "python3" kernel with
this folder as the working directory, as ``tests/test_example_notebooks.py`` runs it, and is saved
with its outputs. A notebook whose execution fails is not written.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

#: Per-cell timeout of an execution, in seconds.
TIMEOUT = 120


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"))


# --- 01: the function API ------------------------------------------------------------------------
QUICKSTART = [
    md(
        """
        # Quick start: inspect, run and sweep a pipeline script

        [`examples/open_field/pipeline.py`](../examples/open_field/pipeline.py) is an ordinary Python
        script: it makes a synthetic five-minute open-field session (a mouse tracked in a 40 cm arena),
        smooths the track, computes the speed, calls each frame *moving* or *not moving* and
        summarises. `python pipeline.py` runs it as it always did.

        Its knobs are marked with `Param(default, name=...)` and its results with
        `Output(value, name=...)`. That is all this library needs to read the script, run it with
        other values and sweep its parameters, each run in a fresh process, without editing it.
        """
    ),
    code(
        """
        from py3r.behaviour.script import inspect, run, sensitivity

        SCRIPT = "../examples/open_field/pipeline.py"
        """
    ),
    md(
        """
        ## 1. What can be changed, and what comes out?

        `inspect` reads the script without running it: its parameters with their defaults and
        types, and its outputs. Values you pass later are checked against these types before
        anything runs.
        """
    ),
    code("inspect(SCRIPT)"),
    md(
        """
        ## 2. Run it once with another value

        `run` starts a fresh process, injects the values you give (the others keep the script's
        defaults), runs the script and collects every `Output`. It returns a `ScriptResults`.
        """
    ),
    code(
        """
        sr = run(SCRIPT, {"threshold": 4.0})
        sr
        """
    ),
    md("Index the results with the parameter values to get that run's outputs, by name:"),
    code(
        """
        out = sr[{"threshold": 4.0}]
        out["fraction_moving"], out["distance_cm"]
        """
    ),
    md("Outputs can be anything picklable, here a whole DataFrame of the smoothed track:"),
    code('out["tracking"].head()'),
    md("Whatever the script printed is kept with the iteration (and so is stderr):"),
    code('print(sr.iteration({"threshold": 4.0}).stdout)'),
    md(
        """
        ## 3. A sensitivity sweep

        `sensitivity` runs the script once per parameter combination. In the default *independent*
        mode one parameter varies at a time while the others stay at their nominal value (the
        script's default, added to each list automatically). `workers=2` runs two iterations at
        once; results never depend on it. The progress bar fills as iterations finish.
        """
    ),
    code(
        """
        params = {"smooth_window": [1, 3, 9, 15], "threshold": [1.0, 4.0, 8.0]}
        sweep = sensitivity(SCRIPT, params, workers=2)
        sweep
        """
    ),
    md(
        """
        ## 4. The results as a table

        `to_dataframe()` gives one row per iteration: the swept parameters, then every output that
        is a scalar. Outputs that are not (the `tracking` DataFrame) are reached by indexing, as
        above.
        """
    ),
    code("sweep.to_dataframe()"),
    md(
        """
        ## 5. When an iteration fails

        The script refuses a smoothing window below one frame (it raises `ValueError`). A failed
        iteration never stops a sweep: it is recorded with its cause and the script's traceback,
        the other iterations carry on, and a warning says how many failed.
        """
    ),
    code(
        """
        bad = sensitivity(SCRIPT, {"smooth_window": [0, 3]}, progress=False)
        bad.to_dataframe(include_failed=True)[["smooth_window", "fraction_moving", "status"]]
        """
    ),
    md("`errors` lists each failed iteration's parameters and what went wrong:"),
    code(
        """
        for params, message in bad.errors:
            print(params)
            print(message)
        """
    ),
    md(
        """
        The full record is a `Failure` (kind, exception type and message, exit code or signal, the
        tail of stderr), and asking a failed iteration for an output says why it is missing:
        """
    ),
    code(
        """
        failure = bad.iteration({"smooth_window": 0}).failure
        print(failure.kind, failure.exc_type, failure.exc_message, sep=" | ")
        try:
            bad[{"smooth_window": 0}]["fraction_moving"]
        except KeyError as exc:
            print(exc)
        """
    ),
    md(
        """
        ## 6. Stop as soon as you have what you need

        `outputs=[...]` names the outputs you want, and `stop_after_outputs=True` stops the process
        inside the `Output` call that delivers the last of them: nothing after it runs. Here we only
        want the smoothed track, so the summary (and the script's final `print`) never happen.
        """
    ),
    code(
        """
        early = run(SCRIPT, {"threshold": 4.0}, outputs=["tracking"], stop_after_outputs=True)
        list(early[{"threshold": 4.0}]), early.iteration({"threshold": 4.0}).stdout
        """
    ),
    md(
        """
        ## 7. A grid sweep

        `mode="grid"` runs every combination of the values (here 4 x 4 = 16 iterations).
        """
    ),
    code(
        """
        grid = sensitivity(
            SCRIPT,
            {"smooth_window": [1, 5, 11, 21], "threshold": [1.0, 2.0, 4.0, 8.0]},
            mode="grid",
            workers=2,
            progress=False,
        )
        grid.to_dataframe().head()
        """
    ),
    md(
        """
        ## 8. Plots

        `plot()` draws every numeric scalar output against each swept parameter and returns a
        matplotlib `Figure` (save it with `fig.savefig("sweep.png")`). For an independent sweep,
        each panel shows one output against one parameter with the others at nominal; the nominal
        point is starred.
        """
    ),
    code("sweep.plot()"),
    md(
        """
        Choose outputs by name, and other kinds of plot: a tornado chart ranks the parameters by how
        far they move each output.
        """
    ),
    code('sweep.plot(["fraction_moving", "distance_cm"], kind="tornado")'),
    md("A grid sweep over two parameters is drawn as one heat map per output:"),
    code("grid.plot()"),
    md(
        """
        Parameters that are not numbers (here the smoothing method) are placed at evenly spaced
        positions, and failed iterations are drawn as crosses at the bottom of their panel
        (`"max"` is not a method the script knows):
        """
    ),
    code(
        """
        by_method = sensitivity(SCRIPT, {"smoothing": ["median", "max"]}, progress=False)
        by_method.plot(["fraction_moving"])
        """
    ),
    md(
        """
        ## Next

        - [02-magics](02-magics.ipynb): the same from notebook magics (`%inspect_script`, `%%sweep`).
        - [03-panel](03-panel.ipynb): sliders that rerun the script, and sweeps from a form.
        - [04-store](04-store.ipynb): cached reruns, resumable sweeps, history, saved results.
        - [05-dask](05-dask.ipynb): sweeps on a Dask cluster or any `concurrent.futures` executor.
        - [06-notebook-pipelines](06-notebook-pipelines.ipynb): pipelines kept as notebooks.
        """
    ),
]

# --- 02: magics ----------------------------------------------------------------------------------
MAGICS = [
    md(
        """
        # Magics: `%inspect_script` and `%%sweep`

        Two IPython magics do what `inspect` and `sensitivity` do, with less typing. Load them once
        per session:
        """
    ),
    code("%load_ext py3r.behaviour.script"),
    md(
        """
        ## `%inspect_script PATH`

        Shows the script's parameters and outputs (nothing runs) and returns the description as a
        `ScriptSpec` object, which renders as a table in a notebook.
        """
    ),
    code("%inspect_script ../examples/open_field/pipeline.py"),
    md(
        """
        ## `%%sweep PATH [options]`

        The cell body says what to sweep, one parameter per line, in plain Python:

        - a **list, tuple, range or array** is a set of values to sweep;
        - a **single value** is that parameter's nominal value (what it is held at while others vary).

        The magic shows the results table and the sensitivity plot, and keeps the `ScriptResults` in
        a variable: `_sweep` by default, or the name given with `-o`.
        """
    ),
    code(
        """
        %%sweep ../examples/open_field/pipeline.py -o by_window --workers 2
        smooth_window = [1, 3, 9, 15]
        threshold = 4.0
        """
    ),
    md("`by_window` is an ordinary `ScriptResults`: index it, tabulate it, plot it again."),
    code("by_window.to_dataframe()"),
    md(
        """
        The cell runs against a copy of the notebook's namespace, so it can use your variables and
        libraries (and cannot change them). The options mirror `sensitivity`'s arguments:

        | option | meaning |
        |---|---|
        | `--mode grid` | every combination instead of one parameter at a time |
        | `--outputs a,b` | capture only these outputs |
        | `--workers N` | iterations at once (`-1`: one per core) |
        | `--timeout S` | stop an iteration after S seconds (recorded as a failure) |
        | `-o NAME` | keep the results in `NAME` |
        | `--no-plot` | do not draw the plot |
        | `--cache [DIR]` | reuse and keep results in a run store (see [04-store](04-store.ipynb)) |
        | `--scheduler ADDRESS` | run the iterations on a Dask scheduler (see [05-dask](05-dask.ipynb)) |
        """
    ),
    code(
        """
        import numpy as np

        thresholds = np.arange(1.0, 9.0, 3.0)  # 1, 4, 7 (and the default 2 is added)
        """
    ),
    code(
        """
        %%sweep ../examples/open_field/pipeline.py --mode grid --outputs fraction_moving -o grid --no-plot
        smooth_window = range(1, 16, 7)
        threshold = thresholds
        seed = 7
        """
    ),
    md("With `--no-plot`, draw it later, in the form you want:"),
    code('grid.plot(kind="heatmap")'),
    md(
        """
        Type `%%sweep?` in a cell for the full usage. A value that does not fit a parameter's type, or a
        line that is not one of the script's parameters, is reported before anything runs.
        """
    ),
]

# --- 03: the panel -------------------------------------------------------------------------------
PANEL = [
    md(
        """
        # The sweep panel

        `panel(script)` builds a widget from the script's parameters, with two tabs:

        - **Live**: one control per parameter (sliders for numbers, a checkbox for booleans, text
          boxes for the rest). Each change reruns the script in the background and shows its
          outputs, with a small plot of each scalar output against the parameter you moved.
        - **Sweep**: tick parameters, type their values, press **Start**; the table, the plot and a
          progress bar fill in as points arrive. **Cancel** stops the sweep and keeps finished points.

        Everything the mouse does has a method or an attribute, so below we drive the panel from
        code and show what it produced as ordinary outputs (these are visible even where widgets
        are not drawn, as on GitHub).
        """
    ),
    code(
        """
        import shutil

        from IPython.display import Image

        from py3r.behaviour.script import panel

        SCRIPT = "../examples/open_field/pipeline.py"
        STORE = "panel-runs"  # this demo's run store: removed first, so every run starts the same
        shutil.rmtree(STORE, ignore_errors=True)
        """
    ),
    md(
        """
        By default the panel keeps every result in a run store (`.py3r-runs/`): moving a slider back
        to a value seen before shows its result at once. Here it uses its own store directory.
        """
    ),
    code(
        """
        p = panel(SCRIPT, cache=STORE)
        p
        """
    ),
    md(
        """
        The panel ran the script with its defaults as soon as it was built. All work happens in
        background threads, so the notebook stays responsive; `wait()` blocks until it is done.
        `last_run` holds the results of the latest live run:
        """
    ),
    code(
        """
        p.wait()
        p.last_run.to_dataframe().T  # one run: its parameter values and scalar outputs
        """
    ),
    md(
        """
        ## Moving a slider

        With the mouse you would drag the `threshold` slider. Setting the slider's value from code
        does exactly the same: the panel waits a quarter of a second for the control to rest, then
        reruns.
        """
    ),
    code(
        """
        p.controls["threshold"].value = 4.0
        p.wait()
        latest = p.last_run.iterations[0]
        latest.params["threshold"], latest.outputs["fraction_moving"]
        """
    ),
    md(
        """
        Each rerun adds a point to the Live tab's trace: every scalar output against the parameter
        just moved (the current value starred). A slider's range is chosen from the parameter's
        default (0 to 6 for `threshold`); the `min` and `max` boxes beside it change it (from code:
        the slider's `min` and `max`). The trace is an image widget; here it is shown as a plain
        image:
        """
    ),
    code(
        """
        p.controls["threshold"].max = 10.0  # typing 10 into the "max" box
        for value in (1.0, 6.0, 8.0):
            p.controls["threshold"].value = value
            p.wait()
        Image(p.trace_image.value)
        """
    ),
    md("Back to a value seen before: the result comes from the store, without running the script."),
    code(
        """
        p.controls["threshold"].value = 4.0
        p.wait()
        p.last_run.iterations[0].cached
        """
    ),
    md(
        """
        ## A sweep from the Sweep tab

        On the Sweep tab you would type values next to a parameter (which ticks its box): a list
        like `1, 5, 11, 21`, or a range `start:stop:steps`. Parameters you do not sweep stay at the
        values set on the Live tab. Then choose the mode and the number of workers, and press
        **Start**, which is `start_sweep()`.
        """
    ),
    code(
        """
        p.sweep_rows["smooth_window"][1].value = "1, 5, 11, 21"
        p.sweep_rows["threshold"][1].value = "1:8:3"  # 1, 4.5 and 8
        p.mode.value = "grid"
        p.workers.value = 2
        p.start_sweep()
        p.wait()
        p.sweep_status.value, p.progress.description
        """
    ),
    md("The sweep's results are in `p.results`, an ordinary `ScriptResults`:"),
    code("p.results.to_dataframe()"),
    md("and this is the plot the Sweep tab shows (a heat map per output, for a grid over two parameters):"),
    code("Image(p.sweep_plot.value)"),
    md(
        """
        The **Cancel** button is `p.cancel_sweep()`. When you are done, `close()` cancels anything
        still running and closes the widgets.
        """
    ),
    code(
        """
        p.close()
        shutil.rmtree(STORE, ignore_errors=True)
        """
    ),
]

# --- 04: the run store ---------------------------------------------------------------------------
STORE = [
    md(
        """
        # The run store: cached reruns, resumable sweeps, saved results

        Pass `cache=` to `run` or `sensitivity` and every iteration is kept in a *run store* the
        moment it finishes. A later call with the same script, values and outputs gets the stored
        result back without running anything. `cache=True` uses `.py3r-runs/` in the working
        directory; here we give a directory of our own, and empty it first so this notebook always
        starts the same way. (Loading a store unpickles objects: use only stores you wrote yourself.
        The details are in [docs/store.md](../docs/store.md).)
        """
    ),
    code(
        """
        import os
        import shutil

        import pandas as pd

        from py3r.behaviour.script import ScriptResults, history, run, sensitivity

        SCRIPT = "../examples/open_field/pipeline.py"
        STORE = "demo-runs"
        shutil.rmtree(STORE, ignore_errors=True)
        """
    ),
    md("## Run once, get it back for free"),
    code(
        """
        first = run(SCRIPT, {"threshold": 4.0}, cache=STORE)
        first.iteration({"threshold": 4.0}).cached
        """
    ),
    code(
        """
        again = run(SCRIPT, {"threshold": 4.0}, cache=STORE)
        it = again.iteration({"threshold": 4.0})
        it.cached, it.outputs["fraction_moving"] == first[{"threshold": 4.0}]["fraction_moving"]
        """
    ),
    md(
        """
        Editing the script (or a local module it imports) makes its stored results a miss, so you
        never get a result of an older version. Data files the script reads are not watched: give
        the script a parameter for them.

        ## Resuming a sweep

        Because every iteration is stored as soon as it finishes, a sweep that was interrupted
        (Ctrl-C, the panel's Cancel, a `CancelToken`, a kernel that died) is resumed by running the
        same call again: only the iterations without a stored result run, and the progress bar
        starts at the number already done. The same happens when a sweep grows. Here we sweep two
        smoothing windows, then four:
        """
    ),
    code(
        """
        part = sensitivity(SCRIPT, {"smooth_window": [1, 3]}, cache=STORE, progress=False)
        full = sensitivity(SCRIPT, {"smooth_window": [1, 3, 9, 15]}, cache=STORE)
        pd.DataFrame([{**it.params, "cached": it.cached} for it in full.iterations])
        """
    ),
    md(
        """
        ## Failures are stored too

        A script that raises for some values raises for them every time, so a stored failure is
        returned as it is. `retry_failed=True` runs stored failures again (after you fixed what
        they depend on outside the script, say).
        """
    ),
    code(
        """
        failing = sensitivity(SCRIPT, {"smooth_window": [0]}, cache=STORE, progress=False)
        [(it.params, it.status, it.cached) for it in failing.iterations]
        """
    ),
    code(
        """
        stored = sensitivity(SCRIPT, {"smooth_window": [0]}, cache=STORE, progress=False)
        retried = sensitivity(SCRIPT, {"smooth_window": [0]}, cache=STORE, progress=False, retry_failed=True)
        stored.iteration({"smooth_window": 0}).cached, retried.iteration({"smooth_window": 0}).cached
        """
    ),
    md(
        """
        ## What is in the store: `history`

        One row per stored iteration of the script: the values injected, the scalar outputs,
        `status`, `when` it ran, how many `seconds` it took, and whether it is `current` (it matches
        the script as it is now). A parameter that was not given to a call (the script's default
        applied) is left empty. We leave out the time columns and sort by the parameters, so the
        table reads the same on every run.
        """
    ),
    code(
        """
        table = history(SCRIPT, store=STORE)
        table.drop(columns=["when", "seconds"]).sort_values(["smooth_window", "threshold"], ignore_index=True)
        """
    ),
    md(
        """
        ## Saving a results object

        `save` writes a whole `ScriptResults` (outputs, logs, failures) to one file and
        `ScriptResults.load` reads it back. It is a pickle, for yourself: to share results, write a
        table (`sr.to_dataframe().to_csv(...)`).
        """
    ),
    code(
        """
        full.save("demo-results.pkl")
        loaded = ScriptResults.load("demo-results.pkl")
        loaded.to_dataframe().equals(full.to_dataframe()), loaded[{"smooth_window": 9}]["tracking"].shape
        """
    ),
    md("Tidy up (delete a store directory, and everything in it is forgotten):"),
    code(
        """
        os.remove("demo-results.pkl")
        shutil.rmtree(STORE)
        """
    ),
]

# --- 05: Dask and executors ----------------------------------------------------------------------
DASK = [
    md(
        """
        # Sweeps on a Dask cluster, or any executor

        `sensitivity(..., executor=client)` sends each iteration to a Dask cluster as one task. On the
        worker the iteration runs exactly as it does locally (in a fresh process, with the same
        output capture and failure records), and results stream back as tasks finish. The task
        carries the script's source, so the workers need no copy of the script; data files it reads
        must be reachable from the workers under the same paths.

        Here the "cluster" is a `LocalCluster` of two worker processes on this machine; with a real
        cluster you would connect with `Client("tcp://scheduler:8786")` instead.
        """
    ),
    code(
        """
        import concurrent.futures
        import logging

        from dask.distributed import Client, LocalCluster

        from py3r.behaviour.script import sensitivity

        SCRIPT = "../examples/open_field/pipeline.py"
        PARAMS = {"smooth_window": [1, 9], "threshold": [1.0, 4.0]}
        """
    ),
    code(
        """
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
        """
    ),
    md("The same sweep on the cluster and on this machine's own engine gives the same results:"),
    code(
        """
        on_cluster = sensitivity(SCRIPT, PARAMS, executor=client, progress=False)
        local = sensitivity(SCRIPT, PARAMS, workers=2, progress=False)
        on_cluster.to_dataframe().equals(local.to_dataframe())
        """
    ),
    code("on_cluster.to_dataframe()"),
    md("Each iteration records the Dask worker that ran it:"),
    code(
        """
        workers = set(client.nthreads())  # their addresses
        all(it.info["worker"] in workers for it in on_cluster.iterations)
        """
    ),
    md(
        """
        The library never closes your client or cluster (you may want them for the next sweep), so
        close them yourself when you are done:
        """
    ),
    code(
        """
        client.close()
        cluster.close()
        """
    ),
    md(
        """
        ## Any `concurrent.futures` executor

        A `ThreadPoolExecutor` or `ProcessPoolExecutor` works too: each task still runs its
        iteration in a fresh process, and the pool only decides how many run at once.
        """
    ),
    code(
        """
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            threaded = sensitivity(SCRIPT, PARAMS, executor=pool, progress=False)
        threaded.to_dataframe().equals(local.to_dataframe())
        """
    ),
]

# --- 06: notebooks as pipelines ------------------------------------------------------------------
NOTEBOOK_PIPELINES = [
    md(
        """
        # Pipelines kept as notebooks

        A pipeline does not have to be a `.py` file.
        [`examples/open_field/pipeline.ipynb`](../examples/open_field/pipeline.ipynb) is the same
        pipeline as `pipeline.py`, written as a notebook: its code cells carry the `Param` and
        `Output` calls. `inspect`, `run`, `sensitivity`, the magics, the panel and the command line
        all accept the `.ipynb` path. Markdown cells are ignored, and IPython syntax (`%time`, `!ls`)
        works in the code cells.
        """
    ),
    code(
        """
        from py3r.behaviour.script import inspect, read_script, run, sensitivity

        NOTEBOOK = "../examples/open_field/pipeline.ipynb"
        """
    ),
    md("`inspect` says which cell declares each parameter and output:"),
    code("inspect(NOTEBOOK)"),
    md(
        """
        `read_script` gives the same as an object; `where` turns a line of the pipeline into a place
        in the notebook:
        """
    ),
    code(
        """
        spec = read_script(NOTEBOOK)
        spec.where(spec.params["threshold"].line)
        """
    ),
    md(
        """
        ## Running and sweeping

        The code cells run one after another in a fresh process, as if you had pressed *Run All*.
        The notebook file itself is never modified, and its stored outputs are ignored.
        """
    ),
    code(
        """
        sr = run(NOTEBOOK, {"threshold": 4.0})
        sr[{"threshold": 4.0}]["fraction_moving"]
        """
    ),
    md("What the cells printed (the last cell times a step with `%time`):"),
    code('print(sr.iteration({"threshold": 4.0}).stdout)'),
    md("A sweep of the notebook gives exactly what a sweep of the script gives:"),
    code(
        """
        params = {"smooth_window": [1, 9], "threshold": [1.0, 4.0]}
        swept = sensitivity(NOTEBOOK, params, workers=2, progress=False)
        from_script = sensitivity("../examples/open_field/pipeline.py", params, workers=2, progress=False)
        swept.to_dataframe().equals(from_script.to_dataframe())
        """
    ),
    code("swept.plot()"),
    md(
        """
        ## Errors name the cell

        When a cell raises, the failure's traceback points at the cell (its number and id) and the
        line within it, so you can go straight there:
        """
    ),
    code(
        """
        failed = run(NOTEBOOK, {"smooth_window": 0})
        print(failed.iteration({"smooth_window": 0}).failure)
        """
    ),
    md(
        """
        Outputs produced by cells that ran before the failing one are still kept, so you can see how
        far the pipeline got. The magics work on notebooks as well:
        """
    ),
    code(
        """
        %load_ext py3r.behaviour.script
        %inspect_script ../examples/open_field/pipeline.ipynb
        """
    ),
]

NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {
    "01-quickstart": QUICKSTART,
    "02-magics": MAGICS,
    "03-panel": PANEL,
    "04-store": STORE,
    "05-dask": DASK,
    "06-notebook-pipelines": NOTEBOOK_PIPELINES,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` with fresh cells (stable ids), not yet executed."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    cells = [nbformat.from_dict(cell) for cell in NOTEBOOKS[name]]  # copies: a build never edits NOTEBOOKS
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh kernel, in this folder; raise on the first error."""
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,  # no execution timestamps in the saved notebooks
    )
    return client.execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"notebooks to build (default: all of {', '.join(NOTEBOOKS)})"
    )
    args = parser.parse_args(argv)
    names = [n.removesuffix(".ipynb") for n in args.names] or list(NOTEBOOKS)
    unknown = [n for n in names if n not in NOTEBOOKS]
    if unknown:
        parser.error(f"unknown notebook(s): {', '.join(unknown)}; known: {', '.join(NOTEBOOKS)}")
    for name in names:
        t0 = time.monotonic()
        nb = execute(build(name))
        nbformat.write(nb, HERE / f"{name}.ipynb")
        print(f"{name}.ipynb: {len(nb.cells)} cells, executed in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
