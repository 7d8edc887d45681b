"""What a shared read-only interpreter store saves a new node, and what the per-node kernel costs.

The real interpreter of ``tests/pbs_fixture.py`` (Debian's CPython 3.11 in the python-build-standalone
layout, 6 MB packed) is served from a loopback mirror; the kernels' packages come from the same
wheelhouse (``--no-index --find-links``, the installer's cache warmed once). Each round, in fresh
folders (a node that has never run a kernel):

- cold: ``pyvariant kernel install 3.11`` with an empty store (download, sha256, extraction, smoke
  test, venv, ipykernel, kernelspec);
- shared: the same with ``PYVARIANT_PYTHON_STORE=<own>:<shared>``, the shared store filled once
  before the rounds and made read-only (no download, no extraction);
- start: from a kernelspec to a kernel that answers ``kernel_info`` (``jupyter_client``'s
  ``start_new_kernel`` in a new process), for the plain kernel and for a ``--per-node`` kernel in a
  shared prefix, whose provisioner reads the host report and picks the level at each start; and the
  per-node kernel once more as a user meets it on a read-only volume that holds no bytecode: the
  kernel reads no ``__pycache__`` and writes none (``PYTHONPYCACHEPREFIX`` at an empty folder,
  ``PYTHONDONTWRITEBYTECODE``), so every module it imports is compiled again.

Wall time of the commands, median of ``--runs`` rounds.

Usage: python benchmarks/bench_shared_store.py [--runs N]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _kernels import kernel_inputs, runs, timed
from pbs_fixture import level_archives, offline_install_env
from pbs_mirror import Mirror

_START = (
    "import json, os, sys; from jupyter_client.manager import start_new_kernel; "
    "env = {**os.environ, **json.loads(sys.argv[2])}; "
    "km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=600, env=env); "
    "kc.stop_channels(); km.shutdown_kernel(now=True)"
)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "jupyter_pyvariant", *args]


def _read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)


def main() -> None:
    rounds = runs(__doc__)
    archive, wheels = kernel_inputs()
    with Mirror() as mirror, tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        mirror.publish(level_archives(archive, ["v1", "v2"]))
        base = {
            **os.environ,
            **offline_install_env(wheels),
            "PYVARIANT_PYTHON_CATALOG": f"{mirror.url}/index.ndjson",
            "PYVARIANT_PYTHON_MIRROR": mirror.url,
        }
        shared, prefix = scratch / "shared" / "pythons", scratch / "shared" / "prefix"
        admin = {**base, "PYVARIANT_PYTHON_STORE": str(shared), "JUPYTER_DATA_DIR": str(scratch / "admin")}
        timed([_cli("python", "install", "3.11", "--levels", "v1,v2")], admin)
        timed(
            [_cli("kernel", "install", "3.11", "--per-node", "--name", "per-node", "--prefix", str(prefix))],
            admin,
        )
        _read_only(shared)
        _read_only(prefix)

        def node(index: int, store: str) -> dict[str, str]:
            root = scratch / f"round-{index}-{store}"
            own = str(root / "store")
            return {
                **base,
                "JUPYTER_DATA_DIR": str(root / "data"),
                "PYVARIANT_CACHE_DIR": str(root / "cache"),
                "PYVARIANT_PYTHON_STORE": own if store == "cold" else os.pathsep.join([own, str(shared)]),
                "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
            }

        install = _cli("kernel", "install", "3.11", "--name", "k")
        start = [sys.executable, "-c", _START]
        timed([install], node(-1, "cold"))  # warms the installer's cache and the page cache
        samples, shared_downloads = [], 0
        for index in range(rounds):
            cold, warm = node(index, "cold"), node(index, "shared")
            cold_s = timed([install], cold)
            before = _downloads(mirror)
            shared_s = timed([install], warm)
            shared_downloads += _downloads(mirror) - before
            no_bytecode = {
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONPYCACHEPREFIX": str(scratch / f"none-{index}"),
            }
            samples.append(
                (
                    cold_s,
                    shared_s,
                    timed([[*start, "k", "{}"]], warm),
                    timed([[*start, "per-node", "{}"]], warm),
                    timed([[*start, "per-node", json.dumps(no_bytecode)]], warm),
                )
            )
    cold_s, shared_s, plain_start, per_node_start, uncompiled_start = (
        statistics.median(c) for c in zip(*samples, strict=True)
    )
    print(f"median of {rounds} rounds, wall time, {archive.name} ({archive.stat().st_size / 1e6:.1f} MB)")
    print(f"  kernel install, empty store (download)    {cold_s:6.2f} s")
    print(f"  kernel install, shared read-only store    {shared_s:6.2f} s")
    print(f"  kernel start to kernel_info, plain spec   {plain_start:6.2f} s")
    print(f"  kernel start to kernel_info, per-node     {per_node_start:6.2f} s")
    print(f"  the same, no bytecode readable or written {uncompiled_start:6.2f} s")
    print(f"  interpreter downloads by the shared-store installs: {shared_downloads}")


def _downloads(mirror: Mirror) -> int:
    return sum(1 for request in mirror.requests if request.path.endswith(".tar.gz"))


if __name__ == "__main__":
    main()
