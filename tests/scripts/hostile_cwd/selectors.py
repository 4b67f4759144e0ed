"""A 'selectors.py' in the caller's working directory: it must never be imported by the library's processes.

Tests copy this folder to a temporary directory and run from there. If imported, it leaves a marker
beside itself and fails, as a user's stray file of that name would.
"""

import os

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "imported-selectors"), "a") as _f:
    _f.write(f"{os.getpid()}\n")
raise RuntimeError("the caller's selectors.py was imported instead of the standard library's")
