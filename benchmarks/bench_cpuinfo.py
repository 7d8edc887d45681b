"""How fast is the host report, next to the tools people use today?

Measures, in one run and on this machine, each in fresh processes (median, with the spread):
- kernel: the first ``report()`` in a fresh IPython shell after ``%load_ext jupyter_pyvariant``
  (in-process, including the lazy imports of the host wing), and a later, cached ``report()``;
- ``%load_ext jupyter_pyvariant`` in a fresh IPython shell;
- terminal: ``import jupyter_pyvariant.host as h; h.report()`` in a fresh ``python -c`` (in-process
  from before the import, and the process's wall time);
- the peers: ``import numpy; numpy.show_runtime()`` measured the same two ways, ``lscpu`` (wall).

Usage: python benchmarks/bench_cpuinfo.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

KERNEL = """
import time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_pyvariant")
load_ext = time.perf_counter() - t
t = time.perf_counter()
from jupyter_pyvariant.host import report
report()
cold = time.perf_counter() - t
warm = []
for _ in range(200):
    t = time.perf_counter(); report(); warm.append(time.perf_counter() - t)
warm.sort()
print(load_ext * 1000, cold * 1000, warm[len(warm) // 2] * 1000)
"""

TERMINAL = """
import time
t = time.perf_counter()
import jupyter_pyvariant.host as h
h.report()
print((time.perf_counter() - t) * 1000)
"""

NUMPY = """
import contextlib, io, time
t = time.perf_counter()
import numpy
with contextlib.redirect_stdout(io.StringIO()):
    numpy.show_runtime()
print((time.perf_counter() - t) * 1000)
"""


def _wall(argv: Sequence[str]) -> tuple[str, float]:
    """What the process printed, and its wall time in milliseconds."""
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return out, (time.perf_counter() - start) * 1000


def _timed(code: str) -> tuple[list[float], float]:
    """The in-process milliseconds a fresh ``python -c code`` printed, and its wall time."""
    out, wall = _wall([sys.executable, "-c", code])
    return [float(x) for x in out.split()], wall


def _compile_package() -> None:
    """Write the package's bytecode first, as an installer does, so imports are measured, not compiles."""
    import compileall

    import jupyter_pyvariant

    compileall.compile_dir(Path(jupyter_pyvariant.__file__).parent, quiet=1)


class Figure:
    """Samples of one measurement: the median, and the spread the shared machine gave."""

    def __init__(self, name: str) -> None:
        self.name, self.samples = name, list[float]()

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def row(self, goal: float | None = None) -> str:
        spread = f"[{min(self.samples):.1f}-{max(self.samples):.1f}]"
        met = goal is not None and self.median <= goal
        verdict = "" if goal is None else f"  goal <= {goal:g} ms: {'met' if met else 'MISSED'}"
        return f"  {self.name:44s} {self.median:8.2f} ms {spread:>15s}{verdict}"


def _load() -> str:
    """The machine's load when the figures were taken: a shared machine moves them."""
    if not hasattr(os, "getloadavg"):
        return f"{os.cpu_count()} CPUs"
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _ratio(name: str, peer: Figure, ours: Figure, goal: float | None = None) -> str:
    ratio = peer.median / ours.median
    verdict = "" if goal is None else f"  goal >= {goal:g}x: {'met' if ratio >= goal else 'MISSED'}"
    return f"  {name:44s} {ratio:8.1f}x{verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    _compile_package()
    names = (
        "%load_ext jupyter_pyvariant",
        "kernel: first report() after %load_ext",
        "kernel: later report() (cached)",
        "terminal: import + report(), in-process",
        "terminal: python -c ..., wall",
        "numpy import + show_runtime(), in-process",
        "python -c 'numpy ... show_runtime()', wall",
        "lscpu, wall",
    )
    load_ext, cold, warm, fresh, fresh_wall, numpy, numpy_wall, lscpu = (Figure(n) for n in names)
    for _ in range(runs):  # interleaved, so that a busy moment of the machine hits every figure
        (ext_ms, cold_ms, warm_ms), _ = _timed(KERNEL)
        load_ext.samples.append(ext_ms)
        cold.samples.append(cold_ms)
        warm.samples.append(warm_ms)
        (fresh_ms,), wall = _timed(TERMINAL)
        fresh.samples.append(fresh_ms)
        fresh_wall.samples.append(wall)
        (numpy_ms,), wall = _timed(NUMPY)
        numpy.samples.append(numpy_ms)
        numpy_wall.samples.append(wall)
        if shutil.which("lscpu"):
            lscpu.samples.append(_wall(["lscpu"])[1])

    print(f"median [min-max] of {runs} fresh processes each; {_load()}")
    print(load_ext.row(5.0))
    print(cold.row(20.0))
    print(warm.row(1.0))
    print(fresh.row(30.0))
    print(fresh_wall.row())
    print(numpy.row())
    print(numpy_wall.row())
    if lscpu.samples:
        print(lscpu.row())
    print(_ratio("numpy in-process / kernel first report", numpy, cold, 4.0))
    print(_ratio("numpy in-process / terminal in-process", numpy, fresh, 3.0))
    print(_ratio("numpy wall / terminal wall", numpy_wall, fresh_wall))
    if lscpu.samples:
        print(_ratio("terminal wall / lscpu wall", fresh_wall, lscpu))


if __name__ == "__main__":
    main()
