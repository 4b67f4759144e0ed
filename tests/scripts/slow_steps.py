"""Iteration i writes started-<i>; those with i >= slow_from then wait until they are killed."""

import pathlib
import time

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
marker_dir = pathlib.Path(Param(".", name="marker_dir"))
slow_from = Param(2, name="slow_from")
(marker_dir / f"started-{i}").write_text("x")
while i >= slow_from:
    time.sleep(0.05)
Output(i, name="i_out")
