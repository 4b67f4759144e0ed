"""The plain engine: a new Python interpreter per iteration (``engine="subprocess"``).

Slow (every iteration re-imports everything) but it needs nothing but ``subprocess``, so it is the
fallback where ``fork()`` is unavailable or unsafe.
"""

from __future__ import annotations

import subprocess
import sys
from typing import IO

from .._worker.protocol import Task
from .base import Engine, Job
from .lifeline import life_read_fd


class SubprocessJob(Job):
    def __init__(self, proc: subprocess.Popen[bytes], result_fd: int, out: IO[bytes], err: IO[bytes]) -> None:
        super().__init__(result_fd, out, err)
        self.proc = proc
        self.pid = proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def close(self) -> None:
        if self.proc.poll() is None:  # killed by the caller: collect it, never leave a zombie
            self.killpg()
            self.proc.wait(timeout=10)
        super().close()


class SubprocessEngine(Engine):
    """Start ``python -P -m py3r.behaviour.script._worker.child`` for every iteration."""

    name = "subprocess"

    def start(self, task: Task) -> Job:
        life = life_read_fd()
        with self.handoff(task) as h:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-P",  # safe path: never the caller's directory on sys.path (the child adds the script's)
                    "-m",
                    "py3r.behaviour.script._worker.child",
                    str(h.task_file.fileno()),
                    str(h.write_fd),
                    str(life),
                ],
                stdin=subprocess.DEVNULL,
                stdout=h.out,
                stderr=h.err,
                pass_fds=(h.task_file.fileno(), h.write_fd, life),
                start_new_session=True,
                cwd=task.cwd,
            )
        return SubprocessJob(proc, h.read_fd, h.out, h.err)
