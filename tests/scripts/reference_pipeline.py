"""Mirrors the reference documentation's pipeline: the layout `inspect` prints is checked verbatim."""

import pandas as pd

from py3r.behaviour.script import Output, Param

data_path = Param("/my/data", name="data_path")
smooth_window = Param(5, name="smooth_window")
threshold = Param(name="threshold")

tracking = Output(
    pd.DataFrame({"frame": range(10), "x": [float(i * smooth_window) for i in range(10)]}), name="tracking"
)
summary = Output(
    {
        "data_path": data_path,
        "smooth_window": smooth_window,
        "threshold": threshold,
        "moving": 0.1 * smooth_window,
    },
    name="summary",
)
