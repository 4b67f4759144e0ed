"""Reports an environment variable and the matplotlib backend (if matplotlib is installed)."""

import os

from py3r.behaviour.script import Output

try:
    import matplotlib

    backend = matplotlib.get_backend().lower()
except ImportError:
    backend = None
Output(os.environ.get("PY3R_TEST_VAR"), name="var")
Output(backend, name="backend")
