"""``pyvariant install`` and ``plan`` against plain ``uv pip install`` / ``pip install``, warm caches.

Users install the same packages again (a new kernel, a colleague's notebook): this measures that
second time. For each index and installer, in one run and on this machine:

- one untimed install warms each side's own cache (pyvariant's installer cache, and the plain
  installer's), then the rounds alternate plain, ``pyvariant install`` from a terminal (a new
  process: start-up and imports included) and ``%pyvariant install`` in a running kernel (the magic
  path: a warm process that imported jupyter_pyvariant once), each into a fresh venv;
- re-downloads in the timed rounds: on the loopback index, every upstream file request is counted;
  on a real index, the installer cache's growth stands for them;
- ``pyvariant plan`` against ``uv pip install --dry-run`` of the same packages;
- medians, and ratios against the plain installer measured in the same rounds.

Indexes: the real default index (``--index``, default PyPI; ``--packages``, default scipy, pandas
and scikit-learn), skipped with the reason printed when it does not answer; and a loopback index of
variant packages built here (``simdinfo``: a C extension at x86-64 v1..v4, null and plain;
``simdcalc`` depending on it; ten 2 MB filler wheels; ``bundle`` requiring them all), whose plain
peer is a loopback index of exactly the files pyvariant chose, under their base names. Then the
payoff: ``simdinfo.workload`` from the variant chosen for this host against the plain wheel.

The machine's own index settings (pip.conf, ``PIP_*``/``UV_*`` index variables) are set aside, so
both sides read the same indexes.

Usage: python benchmarks/bench_install.py [--runs 5] [--index URL] [--packages P ...] [--installers uv pip]
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import variant_wheels as vw  # the test helpers build the wheels
from bench_cpuinfo import _compile_package

from jupyter_pyvariant._installer import find_uv

BIN = Path(sys.executable).parent
DEFAULT_INDEX = "https://pypi.org/simple"
DEFAULT_PACKAGES = ("scipy", "pandas", "scikit-learn")
SET_ASIDE = (
    *("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_CONSTRAINT"),
    *("UV_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_FIND_LINKS"),
)

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
            raise RuntimeError(f"in-kernel {argv[0]} failed:\n{answer['output']}")
        return elapsed

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{(done.stderr or done.stdout)[-3000:]}")
    return elapsed


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


@dataclass(frozen=True)
class Case:
    """One index to install from, and the plain installer's index for the same files."""

    name: str
    index: str
    plain_index: str
    packages: tuple[str, ...]
    upstream_requests: Callable[[], int] | None = None
    """Upstream file requests so far (loopback only)."""


@dataclass
class Side:
    """One side's cache folders (each side keeps its own, as warm as a second run leaves it)."""

    root: Path

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "UV_CACHE_DIR": str(self.root / "uv"), "PIP_CACHE_DIR": str(self.root / "pip"),
                "PYVARIANT_CACHE_DIR": str(self.root / "pyvariant")}  # fmt: skip

    def size(self) -> float:
        return size_mb(self.root) if self.root.exists() else 0.0


@dataclass(frozen=True)
class Row:
    case: str
    installer: str
    plain: float
    cli: float
    kernel: float
    plan: float | None
    dry_run: float | None
    redownloads: int | None
    growth_ours: float
    growth_plain: float


class Bench:
    def __init__(self, tmp: Path, runs: int) -> None:
        self.tmp, self.runs = tmp, runs
        self.uv = find_uv()
        base = {k: v for k, v in os.environ.items() if k not in SET_ASIDE}
        self.base = {**base, "PIP_CONFIG_FILE": os.devnull, "UV_NO_CONFIG": "1"}
        self.venvs = 0

    def venv(self) -> Path:
        self.venvs += 1
        return vw.fresh_venv(self.tmp / "venvs" / str(self.venvs))

    def plain_command(self, installer: str, case: Case, target: Path, dry_run: bool = False) -> list[str]:
        packages = list(case.packages)
        if installer == "uv":
            assert self.uv is not None
            command = [self.uv, "pip", "install", "--python", str(target), "--no-config"]
            return [*command, "--index-url", case.plain_index, *(["--dry-run"] if dry_run else []), *packages]
        command = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(target),
            "install",
            "--index-url",
            case.plain_index,
        ]
        return [*command, "--disable-pip-version-check", *packages]

    def ours(self, verb: str, installer: str, case: Case, target: Path) -> list[str]:
        return [
            verb,
            *case.packages,
            "--index-url",
            case.index,
            "--python",
            str(target),
            "--installer",
            installer,
        ]

    def compare(self, case: Case, installer: str) -> Row:
        mine, theirs = (
            Side(self.tmp / f"cache-ours-{case.name}-{installer}"),
            Side(self.tmp / f"cache-plain-{installer}"),
        )
        base = dict(self.base)
        if installer == "pip" and case.plain_index.startswith("http://"):
            base["PIP_TRUSTED_HOST"] = "127.0.0.1"  # pip caches http downloads only from trusted hosts
        ours_env, plain_env = mine.env(base), theirs.env(base)
        # the warming rounds: what a first install leaves in each cache
        timed([str(BIN / "pyvariant"), *self.ours("install", installer, case, self.venv())], ours_env)
        timed(self.plain_command(installer, case, self.venv()), plain_env)
        before_ours, before_plain = mine.size(), theirs.size()
        requests_before = case.upstream_requests() if case.upstream_requests else None
        plain, cli, kernel, plan, dry = [], [], [], [], []
        with contextlib.closing(Kernel(ours_env)) as warm:
            warm.timed(self.ours("plan", installer, case, self.venv()), {})  # its imports, paid once
            for _ in range(self.runs):
                plain.append(timed(self.plain_command(installer, case, self.venv()), plain_env))
                cli.append(
                    timed(
                        [str(BIN / "pyvariant"), *self.ours("install", installer, case, self.venv())],
                        ours_env,
                    )
                )
                kernel.append(warm.timed(self.ours("install", installer, case, self.venv()), {}))
                if installer == "uv":
                    target = self.venv()
                    dry.append(timed(self.plain_command(installer, case, target, dry_run=True), plain_env))
                    plan.append(
                        timed([str(BIN / "pyvariant"), *self.ours("plan", installer, case, target)], ours_env)
                    )
        redownloads = None
        if case.upstream_requests is not None and requests_before is not None:
            redownloads = case.upstream_requests() - requests_before
        median = statistics.median
        return Row(case.name, installer, median(plain), median(cli), median(kernel),
                   median(plan) if plan else None, median(dry) if dry else None, redownloads,
                   mine.size() - before_ours, theirs.size() - before_plain)  # fmt: skip


def show(rows: list[Row], runs: int) -> None:
    print(f"\nmedians of {runs} alternating rounds, warm caches, fresh venvs (seconds)")
    header = ("index", "installer", "plain", "terminal", "ratio", "kernel", "ratio")
    header += ("plan", "dry-run", "ratio", "re-dl", "cache +MB ours/plain")
    line = "{:<10} {:<9} {:>6} {:>8} {:>6} {:>7} {:>6} {:>6} {:>7} {:>6} {:>6} {:>20}"
    print(line.format(*header))
    for r in rows:
        plan = f"{r.plan:.2f}" if r.plan is not None else "-"
        dry = f"{r.dry_run:.2f}" if r.dry_run is not None else "-"
        ratio = f"{r.plan / r.dry_run:.2f}x" if r.plan is not None and r.dry_run else "-"
        redl = str(r.redownloads) if r.redownloads is not None else "n/a"
        print(line.format(r.case, r.installer, f"{r.plain:.2f}", f"{r.cli:.2f}", f"{r.cli / r.plain:.2f}x",
                          f"{r.kernel:.2f}", f"{r.kernel / r.plain:.2f}x", plan, dry, ratio, redl,
                          f"{r.growth_ours:.1f} / {r.growth_plain:.1f}"))  # fmt: skip
    print(
        "goals: kernel <= 1.15x and terminal <= 1.3x plain uv; plan <= 1.5x uv's dry run;\n"
        "pip <= 1.1x plain pip; "
        "0 re-downloads (upstream file requests in the timed rounds, loopback only) and < 20 MB cache growth."
    )


def answers(url: str) -> str | None:
    """None when ``url`` answers, else why not."""
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/pip/", timeout=10, headers={"Accept": "text/html"})
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if response.status_code == 200 else f"HTTP {response.status_code}"


def build(root: Path, work: Path) -> None:
    vw.build_simdinfo(root, work)
    vw.build_simdcalc(root)
    fillers = []
    for i in range(10):
        payload = {
            f"filler{i}/__init__.py": b"",
            f"filler{i}/data.bin": random.Random(i).randbytes(2_000_000),
        }
        vw.write_wheel(root, f"filler{i}", "1.0", "py3-none-any", payload)
        fillers.append(f"filler{i}")
    vw.build_plain(root, "bundle", "1.0", requires=["simdcalc", *fillers])


@contextlib.contextmanager
def loopback_case(tmp: Path, bench: Bench) -> Iterator[Case]:
    upstream, plain = tmp / "upstream", tmp / "plain"
    upstream.mkdir()
    plain.mkdir()
    build(upstream, tmp / "build")
    for index in vw.serve(upstream):
        target = str(bench.venv())
        command = [
            str(BIN / "pyvariant"),
            "plan",
            "bundle",
            "--index-url",
            index.url,
            "--python",
            target,
            "--json",
        ]
        env = Side(tmp / "cache-plan").env(bench.base)
        packages = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
        )
        for package in packages["packages"]:
            shutil.copy(upstream / package["filename"], plain / package["presented_filename"])
        chosen = {p["name"]: p["variant_label"] for p in packages["packages"] if p["variant_label"]}
        count = len(packages["packages"])
        print(f"loopback: {size_mb(plain):.0f} MB in {count} wheels; variants chosen: {chosen}")
        for baseline in vw.serve(plain):

            def files(index: vw.IndexServer = index) -> int:
                return sum(1 for method, path, _ in index.requests if method == "GET" and "/files/" in path)

            yield Case("loopback", index.url, baseline.url, ("bundle",), files)
        payoff(tmp, bench, upstream, index.url)


def payoff(tmp: Path, bench: Bench, upstream: Path, index_url: str) -> None:
    """The auto-chosen build against the plain wheel, same workload."""
    chosen_venv, baseline = bench.venv(), bench.venv()
    env = Side(tmp / "cache-payoff").env(bench.base)
    timed(
        [
            str(BIN / "pyvariant"),
            "install",
            "simdinfo",
            "--index-url",
            index_url,
            "--python",
            str(chosen_venv),
        ],
        env,
    )
    plain_wheel = next(p for p in upstream.glob("simdinfo-*.whl") if p.name.endswith("linux_x86_64.whl"))
    timed([sys.executable, "-m", "pip", "--python", str(baseline), "install", "-q", str(plain_wheel)], env)
    results = [
        json.loads(subprocess.check_output([str(python), "-c", WORKLOAD]))
        for python in (chosen_venv, baseline)
    ]
    (chosen, fast), (_, slow) = results
    print("payoff: simdinfo.workload(100000), y = 0.999 y + 0.5 x over 4096 float32, best of 5:")
    print(f"  auto-chosen {chosen}: {fast * 1000:.1f} ms; plain wheel (-march=x86-64): {slow * 1000:.1f} ms")
    print(f"  speed-up {slow / fast:.2f}x (goal >= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--index", default=DEFAULT_INDEX, help="the real index to measure (default: PyPI)")
    parser.add_argument("--packages", nargs="+", default=list(DEFAULT_PACKAGES))
    parser.add_argument("--installers", nargs="+", default=["uv", "pip"], choices=["uv", "pip"])
    parser.add_argument("--skip-loopback", action="store_true")
    parser.add_argument("--skip-default-index", action="store_true", help="measure the loopback index only")
    args = parser.parse_args()
    _compile_package()
    installers = [name for name in args.installers if name == "pip" or find_uv()]
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-install-") as folder:
        tmp = Path(folder)
        bench = Bench(tmp, args.runs)
        if args.skip_default_index:
            print(f"real index {args.index} skipped: --skip-default-index")
        elif (why := answers(args.index)) is None:
            real = Case("default", args.index, args.index, tuple(args.packages))
            print(f"real index {args.index}: {' '.join(args.packages)}")
            for installer in installers:
                rows.append(bench.compare(real, installer))
                show(rows[-1:], args.runs)  # as it comes: a later failure loses nothing
        else:
            print(f"real index {args.index} skipped: it does not answer ({why})")
        if not args.skip_loopback:
            with loopback_case(tmp, bench) as case:
                for installer in installers:
                    rows.append(bench.compare(case, installer))
                    show(rows[-1:], args.runs)
    show(rows, args.runs)


if __name__ == "__main__":
    main()
