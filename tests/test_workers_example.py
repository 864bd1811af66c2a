"""examples/workers.py: run_workers from a script, two processes on one port, a clean stop."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers need os.fork")


def test_two_workers_answer_and_stop_cleanly_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "workers.py"), "--workers", "2", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed by on_ready, once both workers serve
        match = re.match(r"serving on (http://127\.0\.0\.1:\d+/)$", line.strip())
        assert match, line
        seen: set[int] = set()
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            # A new connection each time: the kernel spreads connections, not requests.
            seen.add(httpx.get(match.group(1), timeout=5).json()["pid"])
        assert len(seen) == 2, seen
        assert process.pid not in seen  # the parent only supervises
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        for pid in seen:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
