"""Starts a grandchild process, writes its pid to the marker file, then hangs (idle, or busy
sending outputs to the owner) or ends."""

import pathlib
import subprocess
import sys
import time

from py3r.behaviour.script import Output, Param

marker = Param("", name="marker")
hang = Param(False, name="hang")
busy = Param(False, name="busy")
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
if marker:
    tmp = pathlib.Path(marker + ".tmp")
    tmp.write_text(str(child.pid))
    tmp.rename(marker)  # appears whole
Output(child.pid, name="grandchild")
while hang:
    if busy:
        Output(child.pid, name="grandchild")  # writing to the owner when it dies: a broken pipe
    else:
        time.sleep(0.05)
