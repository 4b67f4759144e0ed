"""'first', then code that writes the marker (even from an except clause), then 'second'.

With outputs=["first"] and stop_after_outputs=True, the marker must never be written.
"""

import pathlib

from py3r.behaviour.script import Output, Param

marker = pathlib.Path(Param("marker.txt", name="marker"))
try:
    Output("first-value", name="first")
except BaseException:
    marker.write_text("caught")
    raise
marker.write_text("ran_downstream")
Output("second-value", name="second")
