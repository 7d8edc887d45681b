"""``pyvariant dask sync``: one lock synced on every Dask worker, present and future, each worker into
its own interpreter with its own CPU deciding.

A real ``dask scheduler`` and real ``dask worker`` processes, each worker from its own venv and
replaying a recorded machine through ``PYVARIANT_PROCFS``; one universal lock made for the three
machines' profiles (``lock --for``); the real simdinfo variant wheels served by the loopback index.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import cluster_support
import pytest
import variant_wheels
from cluster_support import Cluster, Process, replayed, wait_for, worker_venv
from gpu_support import build_gpukit, with_gpu
from packaging.utils import canonicalize_name
from variant_wheels import EMPTY_PROFILE, IndexServer, freeze, write_profile

from jupyter_pyvariant.cli import main

pytestmark = [
    pytest.mark.x86_64_linux(reason="the variant test package is compiled for x86-64 Linux"),
    pytest.mark.timeout(1200),  # a scheduler, several workers and their venvs, on a busy machine
]
distributed = pytest.importorskip("distributed", reason="the Dask tests need the dask extra (distributed)")
cloudpickle = pytest.importorskip("cloudpickle", reason="distributed brings cloudpickle")

simd_wheels, simd_index = variant_wheels.simd_wheels, variant_wheels.simd_index
cloudpickle.register_pickle_by_value(cluster_support)  # the workers cannot import tests/

MACHINES = {"haswell": "linux-rhel7-haswell", "zen4": "linux-rocky8.5-zen4", "k10": "linux-scientific7-k10"}
"""Worker name -> the recorded machine it replays."""
LEVELS = {"haswell": "x86-64-v3", "zen4": "x86-64-v4", "k10": "x86-64-v1", "h100": "x86-64-v3"}
FITS = {"haswell": "x86_64_v3", "zen4": "x86_64_v4", "k10": "x86_64_v1", "h100": "x86_64_v3"}
"""The simdinfo variant each machine fits best."""
MACROS = {
    "haswell": ("__AVX2__", "__AVX512F__"),
    "zen4": ("__AVX512F__", None),
    "k10": ("__SSE2__", "__SSSE3__"),
    "h100": ("__AVX2__", "__AVX512F__"),
}
"""(an ISA macro the binary a machine gets was compiled with, one it was compiled without)."""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dask")


@pytest.fixture(scope="module")
def pythons(folder: Path) -> dict[str, Path]:
    """Each worker's own venv."""
    return {name: worker_venv(folder / f"venv-{name}") for name in MACHINES}


@pytest.fixture(scope="module")
def dask_cluster(folder: Path, pythons: dict[str, Path]) -> Iterator[Cluster]:
    """The scheduler and two workers (v3, v4); a test starts the third itself, after registering."""
    for running in cluster_support.cluster(folder):
        for name in ("haswell", "zen4"):
            running.start_worker(name, pythons[name], replayed(folder, MACHINES[name]))
        yield running


@pytest.fixture(scope="module")
def client(dask_cluster: Cluster) -> Iterator[Any]:
    with distributed.Client(dask_cluster.address, set_as_default=False) as connected:
        connected.wait_for_workers(len(dask_cluster.workers), timeout=cluster_support.DEADLINE_S)
        yield connected


@pytest.fixture(scope="module")
def universal(simd_index: IndexServer, pythons: dict[str, Path], folder: Path) -> Path:
    """One lock for the three machines, from the profiles each wrote of itself (``pyvariant profile``)."""
    for name, recording in MACHINES.items():
        _write_profile(folder / f"{name}.toml", replayed(folder, recording))
    return _lock(simd_index.url, pythons["haswell"], folder, "universal", *_for(folder, MACHINES))


@pytest.fixture(scope="module")
def baseline(simd_index: IndexServer, pythons: dict[str, Path], folder: Path) -> Path:
    """A lock for a machine about which nothing is known: every worker gets the null variant."""
    return _lock(
        simd_index.url, pythons["haswell"], folder, "baseline", "--for", write_profile(folder, EMPTY_PROFILE)
    )


@pytest.fixture
def sync(dask_cluster: Cluster, simd_index: IndexServer) -> list[str]:
    """The options that point ``dask sync`` at the cluster and the loopback index."""
    return ["--scheduler", dask_cluster.address, "--index-url", simd_index.url]


def _write_profile(path: Path, machine: dict[str, str]) -> None:
    """``pyvariant profile -o path`` run on the machine that the variables ``machine`` replay."""
    command = [sys.executable, "-m", "jupyter_pyvariant", "profile", "-o", str(path)]
    env = {**os.environ, **machine}
    written = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert written.returncode == 0, written.stderr


def _for(folder: Path, names: Iterable[str]) -> list[str]:
    """``--for`` each named machine's profile in ``folder``."""
    return [part for name in names for part in ("--for", str(folder / f"{name}.toml"))]


def _lock(
    index_url: str,
    python: Path,
    folder: Path,
    name: str,
    *nodes: str,
    packages: tuple[str, ...] = ("simdinfo",),
) -> Path:
    path = folder / f"{name}.pylock.toml"
    argv = ["lock", *packages, "-o", str(path), "--index-url", index_url, "--python", str(python), "--json"]
    assert main([*argv, *nodes]) == 0
    return path


def _dask_sync(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    status = main(["dask", "sync", *argv, "--json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    answer: dict[str, Any] = json.loads(captured.out)
    return answer


def _by_name(client: Any) -> dict[str, str]:
    """Worker name -> address, as the scheduler knows them now."""
    return {str(w["name"]): address for address, w in client.scheduler_info(n_workers=-1)["workers"].items()}


def _simdinfo(worker: dict[str, Any]) -> str:
    """The simdinfo variant a worker's ``dask sync --json`` row says it has."""
    return next(str(v["variant_label"]) for v in worker["variants"] if v["name"] == "simdinfo")


def _imported_where_runnable(client: Any) -> dict[str, dict[str, Any]]:
    """Worker name -> what it imports as simdinfo, for the workers whose replayed CPU this host can
    stand in for: the binary each of them gets is imported (run) here, and an x86-64-v4 build needs
    an AVX-512 host."""
    from jupyter_pyvariant.host import report

    def level(name: str) -> int:
        return int(name.rsplit("v", 1)[1])

    here = level(str(report().cpu["isa_level"]))
    runnable = {address: name for name, address in _by_name(client).items() if level(LEVELS[name]) <= here}
    seen = client.run(cluster_support.imported_simdinfo, workers=list(runnable))
    return {runnable[address]: imported for address, imported in seen.items()}


def _registered(client: Any) -> list[str]:
    """The names of the worker plugins the scheduler holds (those a worker that joins gets)."""
    return list(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins)))


def _assert_fits(name: str, seen: dict[str, Any]) -> None:
    """The worker ``name`` imports the build its CPU fits, compiled for that level."""
    with_macro, without_macro = MACROS[name]
    assert seen["build"] == FITS[name], f"{name} imports {seen['build']}"
    assert with_macro in seen["macros"] and without_macro not in seen["macros"], (name, seen["macros"])


def _join(
    dask_cluster: Cluster, client: Any, name: str, python: Path, env: dict[str, str], *options: str
) -> Process:
    """A worker started against the cluster, once the scheduler knows it (failing if it exits first)."""
    worker = dask_cluster.start_worker(name, python, env, *options)

    def joined() -> bool:
        assert worker.popen.poll() is None, worker.log_tail()
        return name in _by_name(client)

    wait_for(joined, f"the worker {name} joined", dask_cluster.logs)
    return worker


@contextlib.contextmanager
def _passing_worker(
    dask_cluster: Cluster, client: Any, name: str, python: Path, env: dict[str, str], *options: str
) -> Iterator[Process]:
    """A worker that joins for one test and has left the cluster by its end, whatever the test did."""
    try:
        yield _join(dask_cluster, client, name, python, env, *options)
    finally:
        dask_cluster.workers.pop(name).stop()
    wait_for(lambda: name not in _by_name(client), f"the worker {name} left", dask_cluster.logs)


def test_one_lock_gives_every_worker_present_and_future_the_variant_its_cpu_fits(
    simd_index: IndexServer,
    dask_cluster: Cluster,
    client: Any,
    pythons: dict[str, Path],
    universal: Path,
    sync: list[str],
    folder: Path,
    ipython: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = _dask_sync(capsys, str(universal), *sync)

    workers = {w["name"]: w for w in answer["workers"]}
    assert set(workers) == {"haswell", "zen4"}
    for name, synced in workers.items():
        assert synced["cpu_level"] == LEVELS[name], "each worker probes its own (replayed) CPU"
        assert synced["python"] == str(pythons[name])
        assert synced["variants"] == [{"name": "simdinfo", "version": "1.0.0", "variant_label": FITS[name]}]
        assert synced["changed"] == ["simdinfo==1.0.0"] and synced["restarting"] is False
        assert synced["stale"] == [], "nothing was imported before"
        assert synced["address"] == _by_name(client)[name]

    for name, seen in _imported_where_runnable(client).items():
        _assert_fits(name, seen)
        assert seen["prefix"] == str(pythons[name].parent.parent), "the worker's own venv"
    assert "simdinfo" not in {json.loads(line)[0] for line in freeze(Path(sys.executable))}

    # a worker that joins later syncs the same lock when it starts
    dask_cluster.start_worker("k10", pythons["k10"], replayed(folder, MACHINES["k10"]))
    client.wait_for_workers(3, timeout=cluster_support.DEADLINE_S)
    late = _by_name(client)["k10"]
    outcome = wait_for(
        lambda: client.run(cluster_support.synced, workers=[late]).get(late),
        "the late worker's sync",
        dask_cluster.logs,
    )
    assert (outcome.cpu_level, outcome.changed) == ("x86-64-v1", ("simdinfo==1.0.0",))
    _assert_fits("k10", client.run(cluster_support.imported_simdinfo, workers=[late])[late])

    # the same lock again, from IPython with this session's current client: nothing left to change
    capsys.readouterr()
    with distributed.Client(dask_cluster.address):
        ipython.run_line_magic("pyvariant", f"dask sync {universal} --index-url {simd_index.url}")
    shown = capsys.readouterr().out
    assert f"{universal} synced on 3 Dask workers" in shown, shown
    rows = {
        line.split()[0]: line for line in shown.splitlines() if line.split()[:1] in ([n] for n in MACHINES)
    }
    assert set(rows) == set(MACHINES), shown
    for name, row in rows.items():
        assert LEVELS[name] in row and f"simdinfo 1.0.0 ({FITS[name]})" in row, row
        assert row.rstrip().endswith("nothing"), row


def test_a_gpu_worker_gets_the_cuda_variant_and_its_runtime_the_others_neither(
    simd_wheels: Path,
    dask_cluster: Cluster,
    client: Any,
    pythons: dict[str, Path],
    universal: Path,
    folder: Path,
    nvml_stub_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "index"  # the simdinfo wheels, and gpukit whose CUDA variants need a runtime
    shutil.copytree(simd_wheels, root)
    build_gpukit(root)
    variant_wheels.build_plain(root, "cudart_cu12", "12.8.0")
    variant_wheels.build_plain(root, "cudart_cu13", "13.0.0")
    gpu_node = with_gpu(replayed(folder / "h100", MACHINES["haswell"]), nvml_stub_dir)
    gpu_python = worker_venv(folder / "venv-h100")
    _write_profile(folder / "h100.toml", gpu_node)
    # Dask's own GPU monitor asks NVML for more than the stand-in library answers
    _join(
        dask_cluster, client, "h100", gpu_python, {**gpu_node, "DASK_DISTRIBUTED__DIAGNOSTICS__NVML": "False"}
    )

    for index in variant_wheels.serve(root):
        nodes = _for(folder, (*MACHINES, "h100"))
        lock = _lock(index.url, gpu_python, folder, "gpu", *nodes, packages=("simdinfo", "gpukit"))
        answer = _dask_sync(capsys, str(lock), "--scheduler", dask_cluster.address, "--index-url", index.url)
    got = {w["name"]: {v["name"]: v["variant_label"] for v in w["variants"]} for w in answer["workers"]}
    assert got.pop("h100") == {"gpukit": "cu12", "simdinfo": "x86_64_v3"}  # a CUDA 12.8 driver
    assert got and all(labels["gpukit"] == "null" for labels in got.values()), got
    for name, python in {**pythons, "h100": gpu_python}.items():
        installed = {canonicalize_name(json.loads(line)[0]) for line in freeze(python)}
        if name in got or name == "h100":
            assert ("cudart-cu12" in installed) == (name == "h100"), (name, installed)
            assert "cudart-cu13" not in installed


def test_restart_makes_a_worker_import_what_the_sync_changed(
    dask_cluster: Cluster,
    client: Any,
    universal: Path,
    baseline: Path,
    sync: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _dask_sync(capsys, str(universal), *sync)
    before = _by_name(client)
    for name, seen in _imported_where_runnable(client).items():
        _assert_fits(name, seen)  # now imported, in memory

    answer = _dask_sync(capsys, str(baseline), "--restart", *sync)
    assert {w["name"]: (w["changed"], w["restarting"]) for w in answer["workers"]} == {
        name: (["simdinfo==1.0.0"], True) for name in before
    }
    assert {_simdinfo(w) for w in answer["workers"]} == {"null"}

    def restarted() -> dict[str, str] | None:
        now = _by_name(client)
        return now if set(now) == set(before) and all(now[n] != before[n] for n in before) else None

    now = wait_for(restarted, "every worker restarted (new addresses)", dask_cluster.logs)

    def imported_baseline() -> bool:
        seen = client.run(cluster_support.imported_simdinfo, workers=list(now.values()), on_error="return")
        return len(seen) == len(now) and all(
            isinstance(s, dict) and s["build"] == "null" for s in seen.values()
        )

    wait_for(imported_baseline, "every restarted worker imports the baseline build", dask_cluster.logs)
    outcomes = client.run(cluster_support.synced, workers=list(now.values()))
    assert all(o is not None and o.changed == () and not o.restarting for o in outcomes.values()), (
        "a restarted worker finds its environment in sync and does not restart again"
    )

    # without --restart, a worker that had imported a changed package is told it still runs the old one
    capsys.readouterr()
    assert main(["dask", "sync", str(universal), *sync]) == 0
    shown = capsys.readouterr().out
    assert "simdinfo had already been imported on some workers" in shown and "dask sync --restart" in shown
    assert {s["build"] for s in client.run(cluster_support.imported_simdinfo).values()} == {"null"}
    outcomes = client.run(cluster_support.synced)
    assert all(o.stale == ("simdinfo",) and not o.restarting for o in outcomes.values()), outcomes


def test_a_sync_that_fails_on_a_worker_says_why_and_changes_nothing(
    client: Any,
    pythons: dict[str, Path],
    universal: Path,
    baseline: Path,
    sync: list[str],
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _dask_sync(capsys, str(baseline), *sync)
    text = universal.read_text()
    (package,) = tomllib.loads(text)["packages"]
    tampered = folder / "tampered.pylock.toml"
    for wheel in package["wheels"]:
        text = text.replace(wheel["hashes"]["sha256"], "f" * 64)
    tampered.write_text(text)
    before = {name: freeze(python) for name, python in pythons.items()}
    capsys.readouterr()
    assert main(["dask", "sync", str(tampered), *sync]) == 1
    error = capsys.readouterr().err
    assert "pyvariant sync failed on" in error and "promised ffff" in error, error
    assert {name: freeze(python) for name, python in pythons.items()} == before
    assert "pyvariant-sync" not in _registered(client), (
        "a lock that fails is not left registered for the workers that join later"
    )


def test_an_index_password_reaches_the_workers_but_no_command_line(
    simd_wheels: Path,
    dask_cluster: Cluster,
    client: Any,
    pythons: dict[str, Path],
    universal: Path,
    baseline: Path,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _dask_sync(capsys, str(baseline), "--scheduler", dask_cluster.address)
    for private in variant_wheels.serve(simd_wheels, credentials=("ann", "s3cret")):
        url = private.url.replace("http://", "http://ann:s3cret@")
        lock = _lock(url, pythons["haswell"], folder, "private", *_for(folder, MACHINES))
        assert "s3cret" not in lock.read_text()
        answer = _dask_sync(capsys, str(lock), "--scheduler", dask_cluster.address, "--index-url", url)
        assert {w["name"]: _simdinfo(w) for w in answer["workers"]} == {
            name: FITS[name] for name in _by_name(client)
        }
        assert any(path.startswith("/files/") and status == 200 for _, path, status in private.requests)
    from jupyter_pyvariant.cluster.dask import PyvariantSync

    plugin = PyvariantSync(lock.read_text(), index_url=url)
    assert not any("s3cret" in part for part in plugin.sync_argv("pylock.toml"))
    assert plugin.sync_environment()["UV_DEFAULT_INDEX"] == url


def test_a_worker_that_joins_later_and_cannot_sync_starts_and_its_log_says_why(
    dask_cluster: Cluster,
    client: Any,
    pythons: dict[str, Path],
    universal: Path,
    sync: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _dask_sync(capsys, str(universal), *sync)
    env = {"PYVARIANT_INSTALLER": "no-such-installer"}
    with _passing_worker(dask_cluster, client, "broken", pythons["k10"], env) as broken:
        wait_for(
            lambda: "pyvariant sync failed on" in broken.log.read_text(),
            "the failure in its log",
            broken.log_tail,
        )
        assert "no-such-installer" in broken.log.read_text()
        address = _by_name(client)["broken"]
        assert client.run(cluster_support.synced, workers=[address]) == {address: None}


def test_a_worker_without_the_package_is_named_and_the_lock_is_not_left_registered(
    dask_cluster: Cluster,
    client: Any,
    pythons: dict[str, Path],
    universal: Path,
    sync: list[str],
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a worker that cannot load a registered plugin does not start
    if "pyvariant-sync" in _registered(client):
        client.unregister_worker_plugin("pyvariant-sync")
    hide = folder / "without_pyvariant.py"  # a worker environment where the package is not installed
    hide.write_text("import sys\nsys.modules['jupyter_pyvariant'] = None\n")
    with _passing_worker(dask_cluster, client, "bare", pythons["k10"], {}, "--preload", str(hide)):
        capsys.readouterr()
        assert main(["dask", "sync", str(universal), *sync]) == 1
        error = capsys.readouterr().err
        assert "a worker could not run the sync" in error and "jupyter_pyvariant" in error, error
        assert "needs jupyter-pyvariant installed in its own environment" in error
        assert "pyvariant-sync" not in _registered(client)


def test_without_dask_or_a_client_the_error_says_what_to_do(
    universal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["dask", "sync", str(universal)]) == 1
    assert "no Dask client in this session" in capsys.readouterr().err

    # a Python where distributed cannot be imported
    script = "import sys; sys.modules['distributed'] = None; from jupyter_pyvariant.cli import main; "
    script += f"sys.exit(main(['dask', 'sync', {str(universal)!r}]))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert "Dask is not installed here: install jupyter-pyvariant[dask]" in done.stderr
