"""Iteration i writes started-<i>; i == fail_at raises; those with i >= slow_from wait until killed.

A sweep of i = 0, 1, 2, 3 with workers=1, cancelled once started-2 exists: 0 ran, 1 failed, 2 was
cancelled while it ran and 3 never started.
"""

import pathlib
import time

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
marker_dir = pathlib.Path(Param(".", name="marker_dir"))
fail_at = Param(1, name="fail_at")
slow_from = Param(2, name="slow_from")
(marker_dir / f"started-{i}").write_text("x")
if i == fail_at:
    raise ValueError(f"i={i} fails on purpose")
while i >= slow_from:
    time.sleep(0.05)
Output(float(i), name="y")
Output(2.0 * i, name="z")
