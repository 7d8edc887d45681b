"""How long does a new optimized kernel take, next to doing the same job with uv by hand?

Both sides get the same real interpreter (Debian's CPython 3.11 in the python-build-standalone
layout, built by ``tests/pbs_fixture.py``) from the same loopback mirror, the same wheels
(``--no-index --find-links``, uv's cache warmed once), and end with a registered kernelspec:

- ours: ``pyvariant kernel install 3.11 --catalog <mirror>/index.ndjson --mirror <mirror>``
  (catalog, host report, selection, download with sha256, extraction, smoke test, venv, ipykernel
  and the extension's requirements, kernelspec);
- uv: ``uv python install 3.11.2`` (``UV_PYTHON_INSTALL_MIRROR`` and a downloads JSON naming the
  same archive), ``uv venv``, ``uv pip install ipykernel``, ``python -m ipykernel install``.

cold: a fresh interpreter store (download + extraction); cached: the interpreter is already there
(a second kernel). Wall time of the commands, median of ``--runs`` rounds, sides alternating.

Usage: python benchmarks/bench_kernel_provision.py [--runs N]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _kernels import kernel_inputs, runs, timed
from pbs_fixture import RELEASE, offline_install_env
from pbs_mirror import PUBLIC_PREFIX, Archive, Mirror

GOAL_COLD_RATIO = 1.2
GOAL_CACHED_S = 3.0


def _uv() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def _downloads_json(archive: Archive, folder: Path) -> Path:
    """uv's custom-downloads file for the fixture, pointing at the public prefix (the mirror replaces it)."""
    version = archive.filename.split("-")[1].split("+")[0]
    major, minor, patch = (int(part) for part in version.split("."))
    entry = {
        "name": "cpython",
        "arch": {"family": "x86_64", "variant": None},
        "os": "linux",
        "libc": "gnu",
        "major": major,
        "minor": minor,
        "patch": patch,
        "prerelease": "",
        "url": f"{PUBLIC_PREFIX}{archive.path}",
        "sha256": archive.sha256,
        "variant": None,
        "build": archive.release,
    }
    path = folder / "downloads.json"
    path.write_text(json.dumps({f"cpython-{version}-linux-x86_64-gnu": entry}))
    return path


class Sides:
    """The two ways to make a kernel, each in its own folders under ``root``."""

    def __init__(self, root: Path, mirror: Mirror, archive: Archive, wheels: Path) -> None:
        self.mirror, self.archive = mirror, archive
        self.version = archive.filename.split("-")[1].split("+")[0]
        base = {**os.environ, **offline_install_env(wheels)}
        self.ours_env = {
            **base,
            "JUPYTER_DATA_DIR": str(root / "ours" / "data"),
            "PYVARIANT_PYTHON_STORE": str(root / "ours" / "store"),
            "PYVARIANT_CACHE_DIR": str(root / "ours" / "cache"),
        }
        self.uv_env = {
            **base,
            "JUPYTER_DATA_DIR": str(root / "uv" / "data"),
            "UV_PYTHON_INSTALL_DIR": str(root / "uv" / "pythons"),
            "UV_PYTHON_INSTALL_MIRROR": mirror.url,
            "UV_PYTHON_DOWNLOADS_JSON_URL": str(_downloads_json(archive, root)),
            "UV_PYTHON_DOWNLOADS": "manual",
        }
        self.root = root

    def ours(self, name: str) -> float:
        catalog = f"{self.mirror.url}/index.ndjson"
        argv = [sys.executable, "-m", "jupyter_pyvariant", "kernel", "install", "3.11", "--name", name]
        return timed([[*argv, "--catalog", catalog, "--mirror", self.mirror.url]], self.ours_env)

    def uv(self, name: str) -> float:
        uv, venv = _uv(), self.root / "uv" / "venvs" / name
        python = venv / "bin" / "python"
        return timed(
            [
                [uv, "python", "install", self.version, "--no-bin"],
                [uv, "venv", "--quiet", "--python", self.version, "--managed-python", str(venv)],
                [uv, "pip", "install", "--quiet", "--python", str(python), "ipykernel"],
                [str(python), "-m", "ipykernel", "install", "--user", "--name", name],
            ],
            self.uv_env,
        )


def _round(
    sides_for: Callable[[Path], Sides], scratch: Path, index: int
) -> tuple[float, float, float, float]:
    sides = sides_for(scratch / f"round-{index}")
    ours_cold, uv_cold = sides.ours("cold"), sides.uv("cold")
    ours_cached, uv_cached = sides.ours("cached"), sides.uv("cached")
    return ours_cold, uv_cold, ours_cached, uv_cached


def main() -> None:
    rounds = runs(__doc__)
    archive_path, wheels = kernel_inputs()
    archive = Archive(archive_path.name, archive_path.read_bytes(), RELEASE)
    with Mirror() as mirror, tempfile.TemporaryDirectory() as scratch:
        mirror.publish([archive])

        def sides_for(root: Path) -> Sides:
            root.mkdir(parents=True)
            return Sides(root, mirror, archive, wheels)

        _round(sides_for, Path(scratch), -1)  # warm uv's wheel cache and the page cache for both
        samples = [_round(sides_for, Path(scratch), i) for i in range(rounds)]
    ours_cold, uv_cold, ours_cached, uv_cached = (
        statistics.median(column) for column in zip(*samples, strict=True)
    )
    ratio = ours_cold / uv_cold
    print(f"median of {rounds} rounds, wall time, {archive.filename} ({len(archive.data) / 1e6:.1f} MB)")
    print(f"  cold    pyvariant kernel install  {ours_cold:6.2f} s")
    print(f"  cold    uv by hand                {uv_cold:6.2f} s")
    cold_goal = f"goal <= {GOAL_COLD_RATIO}x: {_verdict(ratio <= GOAL_COLD_RATIO)}"
    cached_goal = f"goal <= {GOAL_CACHED_S} s: {_verdict(ours_cached <= GOAL_CACHED_S)}"
    print(f"  cold    ratio                     {ratio:6.2f}x  {cold_goal}")
    print(f"  cached  pyvariant kernel install  {ours_cached:6.2f} s  {cached_goal}")
    print(f"  cached  uv by hand                {uv_cached:6.2f} s")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
