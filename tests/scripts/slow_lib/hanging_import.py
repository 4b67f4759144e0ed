"""A library whose import hangs (a network mount, a licence server): imported by hanging_import_user.py.

Not beside the script, so the warm worker preloads it. When PY3R_TEST_IMPORT_MARKER names a file,
the import starts a helper process, writes "<importing pid> <helper pid>" there, and hangs: until
the file PY3R_TEST_IMPORT_RELEASE names exists, if that is set, else for 300 s.
"""

import os
import subprocess
import sys
import time

_marker = os.environ.get("PY3R_TEST_IMPORT_MARKER")
if _marker:
    _helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    with open(_marker + ".tmp", "w") as _f:
        _f.write(f"{os.getpid()} {_helper.pid}\n")
    os.replace(_marker + ".tmp", _marker)
    _release = os.environ.get("PY3R_TEST_IMPORT_RELEASE")
    _deadline = time.monotonic() + 300
    while time.monotonic() < _deadline and not (_release and os.path.exists(_release)):
        time.sleep(0.01)
    _helper.kill()
    _helper.wait()
