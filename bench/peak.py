"""Run a command and measure its own wall time, CPU seconds and peak memory.

Linux keeps a process's peak RSS across ``exec``, and Python starts children with
``vfork``, so a child's ``ru_maxrss`` includes the peak of the process that
started it: a benchmark that built a big data set in memory would charge it to
the command it measures. So a small Python process goes in between: it starts the
command and reports the command's own ``ru_maxrss`` (at most that small process's
few MB too high).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_RELAY = (
    "import json, os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    json.dump([os.waitstatus_to_exitcode(status), usage.ru_maxrss,\n"
    "               usage.ru_utime + usage.ru_stime], out)\n"
)


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    cpu_seconds: float
    returncode: int
    stderr: str


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` (stdout discarded) and measure it."""
    with tempfile.TemporaryDirectory(prefix="calltui-peak-") as tmp:
        report = Path(tmp) / "usage.json"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _RELAY, str(report), *argv], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - started
        code, maxrss_kib, cpu = json.loads(report.read_text())
    return Measured(seconds, maxrss_kib / 1024, cpu, code or done.returncode,
                    done.stderr.decode(errors="replace"))


def own_peak_mb() -> float:
    """This process's peak RSS since it started (``VmHWM``: unlike ``ru_maxrss``, not
    carried over from the process that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
