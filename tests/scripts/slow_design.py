"""Writes started-<x>; an iteration with x above slow_above then waits until it is killed."""

import pathlib
import time

from py3r.behaviour.script import Output, Param

x = Param(0.5, name="x", low=0.0, high=1.0)
marker_dir = pathlib.Path(Param(".", name="marker_dir"))
slow_above = Param(0.5, name="slow_above")
(marker_dir / f"started-{x!r}").write_text("x")
while x > slow_above:
    time.sleep(0.05)
Output(x, name="y")
