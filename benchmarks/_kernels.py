"""What the kernel benchmarks share: their ``--runs`` option, the real interpreter and the kernels'
wheelhouse (built once by ``tests/pbs_fixture.py`` and kept with the tests' cached artifacts), and
the wall time of a list of commands.

Imported by the scripts beside it (``python benchmarks/bench_x.py`` puts this folder on the path);
it puts ``tests/`` there too, for the fixtures the benchmarks serve and time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pbs_fixture import debian_python_archive, wheelhouse

from jupyter_pyvariant.kernels import kernel_facts
from jupyter_pyvariant.kernels.venv import extension_requirements

CACHE = Path(__file__).resolve().parent.parent / ".pytest_cache" / "d" / "pyvariant-kernels"
"""Where the tests keep the interpreter archive and the wheelhouse: the benchmarks reuse both."""


def runs(doc: str | None) -> int:
    """The ``--runs`` option of a benchmark whose docstring is ``doc``: how many rounds to take the
    median of."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    count: int = parser.parse_args().runs
    return count


def kernel_inputs() -> tuple[Path, Path]:
    """The interpreter archive (Debian's CPython 3.11 in the python-build-standalone layout) and the
    wheelhouse that holds every package a kernel installs."""
    archive = debian_python_archive(CACHE)
    wheels = wheelhouse(CACHE, [*kernel_facts()["base_requirements"], *extension_requirements()])
    return archive, wheels


def timed(commands: list[list[str]], env: dict[str, str]) -> float:
    """Seconds to run ``commands`` one after another, each to its end and each required to succeed."""
    start = time.perf_counter()
    for argv in commands:
        subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - start
