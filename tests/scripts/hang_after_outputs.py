"""Produces its output, then hangs in a non-daemon thread or an atexit hook."""

import atexit
import threading

from py3r.behaviour.script import Output, Param

how = Param("thread", name="how")
Output(42, name="result")
if how == "thread":
    threading.Thread(target=threading.Event().wait).start()
else:
    atexit.register(threading.Event().wait)
