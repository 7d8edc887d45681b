"""End to end: ``pyvariant install`` against plain ``uv pip install`` / ``pip install`` of the same wheels.

In one run and on this machine:
- writes the package's bytecode first, as an installer does, so that every run measures imports and
  not compiles (this matters where PYTHONDONTWRITEBYTECODE is set);
- builds the test package ``simdinfo`` (a C extension at x86-64 v1..v4, null, plain), ``simdcalc`` (a
  variant package depending on it), ten filler wheels and ``bundle`` requiring them all, in two sizes:
  2 MB fillers (about 20 MB of wheels: the fixed cost shows) and 6 MB fillers (about 60 MB: a
  realistic download, which the fixed cost amortises over);
- serves the variant index and, beside it, a plain index holding exactly the wheels ``pyvariant``
  resolved (under their base filenames): the same bytes a variant-unaware installer would fetch;
- times (wall, median of --runs, fresh venv and a cold installer cache each time, all in the same
  rounds) the plain installer on the plain index, for uv and for pip, against two ways of running
  ``pyvariant install bundle``: the CLI (a new process: interpreter start-up and imports included)
  and in a running kernel, the magic path (``%pyvariant install`` runs in the kernel's process: a
  warm Python process that imported ``jupyter_pyvariant`` once runs ``verbs.run(["install", ...])``
  for every round; the first install there, which imports the planning modules, is shown apart);
- the payoff: ``simdinfo.workload`` (a vectorizable float loop) from the variant chosen for this host
  against the plain wheel (built at -march=x86-64).

Usage: python benchmarks/bench_install.py [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import variant_wheels as vw  # the test helpers build the wheels
from bench_cpuinfo import _compile_package

BIN = Path(sys.executable).parent
WORKLOAD = """
import json, time, simdinfo
simdinfo.workload(1000)
best = []
for _ in range(5):
    start = time.perf_counter()
    simdinfo.workload(100000)
    best.append(time.perf_counter() - start)
print(json.dumps([simdinfo.build(), min(best)]))
"""


KERNEL = """
import io, json, os, sys
from jupyter_pyvariant import verbs
from jupyter_pyvariant.display import TerminalOutput

for line in sys.stdin:
    argv, environ = json.loads(line)
    os.environ.update(environ)
    out, err = io.StringIO(), io.StringIO()
    code = verbs.run(argv, TerminalOutput(out, err))
    print(json.dumps({"code": code, "output": out.getvalue() + err.getvalue()}), flush=True)
"""
"""A kernel's process as far as ``%pyvariant`` is concerned: the package imported once, then every
line it reads (arguments and environment settings) run in-process, as the magic runs it."""


class Kernel:
    """A warm process running the verbs in-process, one round after another (the magic path)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", KERNEL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def timed(self, argv: list[str], environ: dict[str, str]) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        start = time.perf_counter()
        self.process.stdin.write(json.dumps([argv, environ]) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        elapsed = time.perf_counter() - start
        if answer["code"] != 0:
            raise RuntimeError(f"in-kernel install failed:\n{answer['output']}")
        return elapsed

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


FILLER_SIZES = (2_000_000, 6_000_000)
"""Bytes of each of the ten filler wheels, per case."""


def build(root: Path, work: Path, filler_size: int) -> None:
    vw.build_simdinfo(root, work)
    vw.build_simdcalc(root)
    fillers = []
    for i in range(10):
        payload = {
            f"filler{i}/__init__.py": b"",
            f"filler{i}/data.bin": random.Random(i).randbytes(filler_size),
        }
        vw.write_wheel(root, f"filler{i}", "1.0", "py3-none-any", payload)
        fillers.append(f"filler{i}")
    vw.build_plain(root, "bundle", "1.0", requires=["simdcalc", *fillers])


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    _compile_package()
    for filler_size in FILLER_SIZES:
        with tempfile.TemporaryDirectory(prefix="bench-install-") as folder:
            tmp = Path(folder)
            upstream = tmp / "upstream"
            upstream.mkdir()
            build(upstream, tmp / "build", filler_size)
            compare(tmp, upstream, args.runs)
            if filler_size == FILLER_SIZES[0]:
                payoff(tmp, upstream)


def compare(tmp: Path, upstream: Path, runs: int) -> None:
    """Both installers, with ``pyvariant`` and plain, on the wheels of ``upstream``."""
    uv = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    plain = tmp / "plain"
    plain.mkdir()
    env = {**os.environ, "PYVARIANT_CACHE_DIR": str(tmp / "cache")}
    for index in vw.serve(upstream):
        venv = vw.fresh_venv(tmp / "plan-venv")
        command = [str(BIN / "pyvariant"), "plan", "bundle", "--index-url", index.url, "--python", str(venv)]
        plan = subprocess.run([*command, "--json"], check=True, capture_output=True, text=True, env=env)
        packages = json.loads(plan.stdout)["packages"]
        for package in packages:
            shutil.copy(upstream / package["filename"], plain / package["presented_filename"])
        chosen = {p["name"]: p["variant_label"] for p in packages if p["variant_label"]}
        megabytes = sum(f.stat().st_size for f in plain.iterdir()) / 1e6
        print(f"\n{megabytes:.0f} MB in {len(packages)} wheels; variants chosen for this host: {chosen}")
        for baseline in vw.serve(plain):
            rows = []
            for installer in [name for name in ("uv", "pip") if name == "pip" or uv]:
                cli, kernel, theirs, local = [], [], [], []
                with contextlib.closing(Kernel(env)) as warm:
                    for run in range(runs):
                        cli.append(install_ours(tmp, env, installer, f"cli-{run}", index.url))
                        kernel.append(install_in_kernel(tmp, warm, installer, f"kernel-{run}", index.url))
                        theirs.append(
                            install_plain(tmp, env, installer, f"http-{run}", ["--index-url", baseline.url])
                        )
                        offline = ["--no-index", "--find-links", str(plain)]
                        local.append(install_plain(tmp, env, installer, f"local-{run}", offline))
                median = statistics.median
                warm_rounds = kernel[1:] or kernel  # the first pays the imports: shown apart
                rows.append(
                    Row(installer, median(theirs), median(cli), median(warm_rounds), kernel[0], median(local))
                )
            show(rows)


@dataclass(frozen=True)
class Row:
    """Median seconds of one installer's rounds."""

    installer: str
    plain: float
    cli: float
    kernel: float
    """In a running kernel, the rounds after the first."""
    kernel_first: float
    """The first install in the kernel: it imports the planning modules and probes the host."""
    local: float


def show(rows: list[Row]) -> None:
    header = (
        "installer",
        "plain http s",
        "CLI s",
        "ratio",
        "in kernel s",
        "ratio",
        "1st in kernel s",
        "local s",
    )
    print("{:<10} {:>12} {:>8} {:>6} {:>12} {:>6} {:>16} {:>8}".format(*header))
    for row in rows:
        print(
            f"{row.installer:<10} {row.plain:>12.2f} {row.cli:>8.2f} {row.cli / row.plain:>5.2f}x "
            f"{row.kernel:>12.2f} {row.kernel / row.plain:>5.2f}x {row.kernel_first:>16.2f} {row.local:>8.2f}"
        )
    print(
        "goal: <= 1.15x. plain http: the plain installer on a plain loopback index of the same wheels.\n"
        "CLI: `pyvariant install` in a new process (interpreter start-up and imports included).\n"
        "in kernel: `%pyvariant install` in a running kernel (magic path): a warm process that imported\n"
        "jupyter_pyvariant once, rounds after its first; '1st in kernel': its first install, which\n"
        "imports the planning modules and probes the host.\n"
        "local: the plain installer from a local folder (--no-index --find-links)."
    )


def _target_args(tmp: Path, installer: str, run: str, index_url: str) -> list[str]:
    """The ``pyvariant install`` arguments for a fresh venv (the CLI and the kernel get the same)."""
    target = vw.fresh_venv(tmp / f"ours-{installer}-{run}")
    return ["install", "bundle", "--index-url", index_url, "--python", str(target), "--installer", installer]


def _cold_cache(tmp: Path, installer: str, run: str) -> dict[str, str]:
    return {"UV_CACHE_DIR": str(tmp / f"uv-cache-ours-{installer}-{run}")}


def install_ours(tmp: Path, env: dict[str, str], installer: str, run: str, index_url: str) -> float:
    arguments = _target_args(tmp, installer, run, index_url)
    return timed([str(BIN / "pyvariant"), *arguments], {**env, **_cold_cache(tmp, installer, run)})


def install_in_kernel(tmp: Path, kernel: Kernel, installer: str, run: str, index_url: str) -> float:
    arguments = _target_args(tmp, installer, run, index_url)
    return kernel.timed(arguments, _cold_cache(tmp, installer, run))


def install_plain(tmp: Path, env: dict[str, str], installer: str, run: str, source: list[str]) -> float:
    cold = {**env, "UV_CACHE_DIR": str(tmp / f"uv-cache-plain-{installer}-{run}")}
    target = vw.fresh_venv(tmp / f"plain-{installer}-{run}")
    if installer == "uv":
        command = [
            str(shutil.which("uv", path=str(BIN)) or "uv"),
            "pip",
            "install",
            "--python",
            str(target),
            "--no-config",
        ]
    else:
        cache = str(tmp / f"pip-cache-{run}")  # pip writes its cache in both runs: a cold one here
        command = [sys.executable, "-m", "pip", "--python", str(target), "install", "--cache-dir", cache]
    return timed([*command, *source, "bundle"], cold)


def payoff(tmp: Path, upstream: Path) -> None:
    """The auto-chosen build (installed above) against the plain wheel, same workload."""
    baseline = vw.fresh_venv(tmp / "baseline")
    plain_wheel = next(p for p in upstream.glob("simdinfo-*.whl") if p.name.endswith("linux_x86_64.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(baseline), "install", "-q", str(plain_wheel)],
        check=True,
    )
    results = [
        json.loads(subprocess.check_output([str(python), "-c", WORKLOAD]))
        for python in (tmp / "ours-pip-cli-0" / "bin" / "python", baseline)
    ]
    (chosen, fast), (_, slow) = results
    print("payoff: simdinfo.workload(100000), y = 0.999 y + 0.5 x over 4096 float32, best of 5:")
    print(f"  auto-chosen {chosen}: {fast * 1000:.1f} ms; plain wheel (-march=x86-64): {slow * 1000:.1f} ms")
    print(f"  speed-up {slow / fast:.2f}x (goal >= 2x)")


if __name__ == "__main__":
    main()
