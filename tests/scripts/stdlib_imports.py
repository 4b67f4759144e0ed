"""Imports standard modules that a file in the caller's working directory could shadow."""

import os
import pickle
import selectors
import signal
import sys

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
Output(sys.path[0], name="first_on_path")
Output(os.getcwd() in sys.path or "" in sys.path, name="cwd_on_path")
Output([m.__file__ for m in (pickle, selectors, signal)], name="module_files")
