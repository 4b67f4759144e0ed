"""Reports the process context the script sees."""

import os
import sys

from py3r.behaviour.script import Output

Output(os.getcwd(), name="cwd")
Output(__name__, name="name")
Output(__file__, name="file")
Output(sys.argv[0], name="argv0")
Output(sys.path[0], name="path0")
