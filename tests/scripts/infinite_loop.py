"""Writes its marker file, then loops forever (for timeouts)."""

import pathlib

from py3r.behaviour.script import Output, Param

marker = Param("", name="marker")
if marker:
    pathlib.Path(marker).write_text("started")
while True:
    pass
Output(1, name="never")
