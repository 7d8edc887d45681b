"""How fast is the host report, next to the tools people use today?

Measures, in one run and on this machine:
- cold: the first ``report()`` in a fresh IPython process after ``%load_ext jupyter_pyvariant``
  (in-process time, including the lazy imports of the host wing),
- warm: a later ``report()`` in the same process (served from the per-process cache),
- ``%load_ext jupyter_pyvariant`` in a fresh IPython shell,
- ``import numpy; numpy.show_runtime()`` in a fresh process (in-process time),
- ``lscpu`` as a subprocess (wall time).

Usage: python benchmarks/bench_cpuinfo.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COLD = """
import time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "jupyter_pyvariant")
t = time.perf_counter()
from jupyter_pyvariant.host import report
report()
cold = time.perf_counter() - t
warm = []
for _ in range(200):
    t = time.perf_counter(); report(); warm.append(time.perf_counter() - t)
warm.sort()
print(cold * 1000, warm[len(warm) // 2] * 1000)
"""

LOAD_EXT = """
import time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_pyvariant")
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


def _python(code: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return [float(x) for x in out.split()]


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _compile_package() -> None:
    """Write the package's bytecode first, as an installer does, so imports are measured, not compiles."""
    import compileall

    import jupyter_pyvariant

    compileall.compile_dir(Path(jupyter_pyvariant.__file__).parent, quiet=1)


def main() -> None:
    _compile_package()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs

    cold, warm = zip(*(_python(COLD) for _ in range(runs)), strict=True)
    load_ext = [_python(LOAD_EXT)[0] for _ in range(runs)]
    numpy_ms = [_python(NUMPY)[0] for _ in range(runs)]
    lscpu_ms: list[float] = []
    if shutil.which("lscpu"):
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(["lscpu"], capture_output=True, check=True)
            lscpu_ms.append((time.perf_counter() - start) * 1000)

    rows = [
        ("report, cold (in-process)", _median(list(cold)), 30.0),
        ("report, warm (cached)", _median(list(warm)), 1.0),
        ("%load_ext jupyter_pyvariant", _median(load_ext), 10.0),
        ("numpy import + show_runtime()", _median(numpy_ms), None),
    ]
    if lscpu_ms:
        rows.append(("lscpu (subprocess)", _median(lscpu_ms), None))
    print(f"median of {runs} fresh processes each")
    for name, value, goal in rows:
        verdict = "" if goal is None else f"  goal <= {goal:g} ms: {'met' if value <= goal else 'MISSED'}"
        print(f"  {name:32s} {value:9.3f} ms{verdict}")
    cold_ms = _median(list(cold))
    ratio = _median(numpy_ms) / cold_ms
    print(
        f"  numpy import + show_runtime / cold report = {ratio:.1f}x"
        f"  goal >= 3x: {'met' if ratio >= 3 else 'MISSED'}"
    )
    if lscpu_ms:
        print(f"  lscpu / cold report = {_median(lscpu_ms) / cold_ms:.1f}x")


if __name__ == "__main__":
    main()
