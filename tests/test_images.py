"""docs/images/make_images.py makes the README's pictures (one of them in JupyterLab in chromium)."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SCRIPT = ROOT / "docs" / "images" / "make_images.py"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its signature and IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR", "no IHDR chunk first"
    assert data[-12:][4:8] == b"IEND", "truncated PNG"
    return struct.unpack(">II", data[16:24])


def test_make_images(tmp_path):
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--out", tmp_path],
        cwd=tmp_path,  # the script finds the repository by its own location
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name, min_height in [("sensitivity.png", 400), ("panel.png", 600)]:
        data = (tmp_path / name).read_bytes()
        width, height = png_size(data)
        assert 600 <= width <= 1400, (name, width)
        assert min_height <= height <= 2400, (name, height)
        assert 10_000 < len(data) < 300_000, (name, len(data))
