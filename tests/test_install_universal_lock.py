"""One pylock.toml for a cluster: made here for a v3 node, a v4 node and an NVIDIA node, synced on
each (a replayed CPU, or the node's profile), each getting exactly the variant it fits.

The nodes' profiles are written by ``pyvariant profile``: two under a replayed /proc/cpuinfo of a
real machine (PYVARIANT_PROCFS), one from a recorded ``cpuinfo --json`` report of a GPU node. Each
node syncs under its replay; the GPU node's replay adds an NVIDIA device in a sysfs root
(PYVARIANT_SYSFS) and the stand-in NVML library of gpu_support. The wheels are real: ``simdinfo``
compiled per x86-64 level, ``gpukit`` whose CUDA variant needs a CUDA runtime package that its null
variant does not.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest
import variant_wheels
from gpu_support import build_gpukit, with_gpu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from variant_wheels import IndexServer, freeze, fresh_venv, probe, python_tag

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.install.lock import Lock, LockError, Requirer, read_lock
from jupyter_pyvariant.install.lock_write import lock_text

DATA = Path(__file__).parent / "data"
serving = contextmanager(variant_wheels.serve)


def _build_avx512kit(root: Path) -> None:
    """avx512kit 1.0: an x86-64-v4 variant only (no null variant, no plain wheel)."""
    labels = {"x86_64_v4": variant_wheels.level_properties("x86_64_v4")}
    variant_wheels.build_labelled(root, "avx512kit", "1.0", labels)


@dataclass(frozen=True)
class Node:
    name: str
    profile: Path
    env: dict[str, str] | None
    """The replayed machine to sync under (None: sync with ``--profile``)."""


@dataclass(frozen=True)
class Cluster:
    index: IndexServer
    nodes: dict[str, Node]
    lock: Path


def _replayed(folder: Path, recording: str) -> dict[str, str]:
    """The variables that make a process see ``recording``'s CPU (and an empty sysfs)."""
    (folder / "proc").mkdir(parents=True)
    (folder / "sys").mkdir()
    (folder / "proc" / "cpuinfo").write_text((DATA / "cpuinfo" / recording).read_text())
    return {"PYVARIANT_PROCFS": str(folder / "proc"), "PYVARIANT_SYSFS": str(folder / "sys")}


def _cli(
    *argv: str, env: dict[str, str] | None = None, cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m jupyter_pyvariant ARGV`` in a fresh interpreter (on a replayed machine)."""
    command = [sys.executable, "-m", "jupyter_pyvariant", *argv]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NVML_STUB_", "CUDA_"))}
    environ |= env or {}
    if cache is not None:  # installers keep files they were handed: a check must see them handed anew
        environ |= {"PYVARIANT_CACHE_DIR": str(cache / "pyvariant"), "UV_CACHE_DIR": str(cache / "uv")}
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, nvml_stub_dir: Path) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster-index")
    variant_wheels.build_simdinfo(root, tmp_path_factory.mktemp("build"))
    build_gpukit(root)
    variant_wheels.build_plain(root, "cudart_cu12", "12.8.0")
    variant_wheels.build_plain(root, "cudart_cu13", "13.0.0")
    _build_avx512kit(root)
    work = tmp_path_factory.mktemp("nodes")
    nodes = {}
    for name, recording in (("v3", "linux-rhel7-haswell"), ("v4", "linux-rocky8.5-zen4")):
        replay = _replayed(work / name, recording)
        written = _cli("profile", "-o", str(work / f"{name}.toml"), env=replay)
        assert written.returncode == 0, written.stderr
        nodes[name] = Node(name, work / f"{name}.toml", replay)
    report = str(DATA / "locks" / "gpu-node-report.json")
    assert main(["profile", "--from-report", report, "-o", str(work / "gpu.toml")]) == 0
    gpu_node = with_gpu(_replayed(work / "gpu", "linux-rhel7-haswell"), nvml_stub_dir)
    nodes["gpu"] = Node("gpu", work / "gpu.toml", gpu_node)
    with serving(root) as index:
        yield Cluster(index, nodes, _make_lock(index, nodes, work))


def _make_lock(index: IndexServer, nodes: dict[str, Node], work: Path) -> Path:
    path = work / "pylock.toml"
    python = fresh_venv(work / "lock-venv")
    fors = [arg for node in nodes.values() for arg in ("--for", str(node.profile))]
    argv = ["lock", "simdinfo", "gpukit", *fors, "-o", str(path), "--index-url", index.url]
    assert main([*argv, "--python", str(python), "--json"]) == 0
    return path


def _sync(
    cluster: Cluster, node: Node, venv: Path, *extra: str, lock: Path | None = None, cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``sync`` on the node: on its replayed machine, or with its profile."""
    argv = [
        "sync",
        str(lock or cluster.lock),
        "--index-url",
        cluster.index.url,
        "--python",
        str(venv),
        *extra,
    ]
    if node.env is None:
        argv += ["--profile", str(node.profile)]
    return _cli(*argv, env=node.env, cache=cache)


def _gpukit(venv: Path) -> str | None:
    script = "import importlib.util, json\nspec = importlib.util.find_spec('gpukit')\n" \
             "print(json.dumps(None if spec is None else __import__('gpukit').BUILD))"  # fmt: skip
    done = subprocess.run([str(venv), "-c", script], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _installed(venv: Path) -> set[str]:
    return {canonicalize_name(json.loads(line)[0]) for line in freeze(venv)}


# --------------------------------------------------------------------------------------------------


def test_the_lock_holds_each_nodes_choice_the_fallbacks_and_the_cuda_runtime_for_cu12(
    cluster: Cluster,
) -> None:
    data = tomllib.loads(cluster.lock.read_text())
    packages = {p["name"]: p for p in data["packages"]}
    assert set(packages) == {"simdinfo", "gpukit", "cudart-cu12"}
    tag = python_tag()
    simdinfo = packages["simdinfo"]
    assert [w["name"] for w in simdinfo["wheels"]] == [
        f"simdinfo-1.0.0-{tag}-x86_64_v3.whl",  # the v3 node's and the GPU node's choice
        f"simdinfo-1.0.0-{tag}-x86_64_v4.whl",
        f"simdinfo-1.0.0-{tag}-null.whl",  # fallbacks: any other machine still gets one
        f"simdinfo-1.0.0-{tag}.whl",
    ]
    for wheel in simdinfo["wheels"]:
        assert (
            wheel["hashes"]["sha256"]
            == hashlib.sha256((cluster.index.root / wheel["name"]).read_bytes()).hexdigest()
        )
    variants = simdinfo["variants-json"]
    assert set(variants["variants"]) == {"x86_64_v3", "x86_64_v4", "null"}  # exactly the locked labels
    expected = hashlib.sha256((cluster.index.root / "simdinfo-1.0.0-variants.json").read_bytes()).hexdigest()
    assert (variants["url"].rsplit("/", 1)[-1], variants["hashes"]["sha256"]) == (
        "simdinfo-1.0.0-variants.json",
        expected,
    )
    assert [w["name"] for w in packages["gpukit"]["wheels"]] == [
        "gpukit-1.0-py3-none-any-null.whl",
        "gpukit-1.0-py3-none-any-cu12.whl",
    ]
    assert packages["cudart-cu12"]["tool"]["jupyter_pyvariant"]["needed-by"] == [
        {"name": "gpukit", "variants": ["cu12"]}
    ]
    assert "tool" not in simdinfo  # every node installs it
    assert data["tool"]["jupyter_pyvariant"]["nodes"] == [
        f"profile {n.profile}" for n in cluster.nodes.values()
    ]


def test_the_lock_round_trips_through_read_lock(cluster: Cluster, tmp_path: Path) -> None:
    lock = read_lock(cluster.lock)
    cudart = next(p for p in lock.packages if p.name == "cudart-cu12")
    assert cudart.needed_by == (Requirer("gpukit", ("cu12",)),)
    again = tmp_path / "pylock.toml"
    again.write_text(lock_text(lock))
    assert replace(read_lock(again), path=lock.path) == lock


@pytest.mark.parametrize(
    ("node", "simdinfo", "gpukit", "cudart"),
    [
        ("v3", "x86_64_v3", "null", False),
        ("v4", "x86_64_v4", "null", False),
        ("gpu", "x86_64_v3", "cu12", True),
    ],
)
def test_each_node_installs_exactly_the_variant_it_fits(
    cluster: Cluster, tmp_path: Path, node: str, simdinfo: str, gpukit: str, cudart: bool
) -> None:
    venv = fresh_venv(tmp_path / "venv")
    done = _sync(cluster, cluster.nodes[node], venv, "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert probe(venv, "simdinfo.build()") == simdinfo
    assert probe(venv, "simdinfo.isa_macros()")  # the binary loads and runs on this machine
    assert _gpukit(venv) == gpukit
    assert ("cudart-cu12" in _installed(venv)) is cudart
    report = json.loads(done.stdout)
    rows = {p["name"]: p for p in report["packages"]}
    assert rows["simdinfo"]["variant_label"] == simdinfo
    assert rows["cudart-cu12"]["installs"] is cudart
    again = _sync(cluster, cluster.nodes[node], venv, "--json")
    assert json.loads(again.stdout)["changes"] == []  # in sync already


def test_dry_run_shows_what_a_node_would_get_and_why(cluster: Cluster, tmp_path: Path) -> None:
    venv = fresh_venv(tmp_path / "venv")
    before = freeze(venv)
    done = _sync(cluster, replace(cluster.nodes["v3"], env=None), venv, "--dry-run")  # --profile
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.split()[:1]}
    assert lines["simdinfo"].split()[:3] == ["simdinfo", "1.0.0", "x86_64_v3"]
    assert (
        "best of the 3 locked wheels this node fits (x86_64 :: level :: v3); 1 locked variant does not fit"
        in lines["simdinfo"]
    )
    assert "null variant: no other locked variant fits this node" in lines["gpukit"]
    assert "skipped: only needed by gpukit as cu12" in lines["cudart-cu12"]
    assert f"for profile {cluster.nodes['v3'].profile}: would change" in done.stdout
    assert freeze(venv) == before


def test_a_tampered_locked_file_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    text = cluster.lock.read_text()
    simdinfo = next(p for p in tomllib.loads(text)["packages"] if p["name"] == "simdinfo")
    digest = simdinfo["wheels"][1]["hashes"]["sha256"]  # the v4 wheel
    lock = tmp_path / "pylock.toml"
    lock.write_text(text.replace(digest, "f" * 64))
    venv = fresh_venv(tmp_path / "venv")
    before = freeze(venv)
    done = _sync(cluster, cluster.nodes["v4"], venv, lock=lock, cache=tmp_path / "cache")
    assert done.returncode == 1
    assert "simdinfo: simdinfo-1.0.0-" in done.stderr and "promised ffff" in done.stderr
    assert freeze(venv) == before
    assert _sync(cluster, cluster.nodes["v3"], venv, lock=lock).returncode == 0  # the v3 file is intact


def test_a_wheel_whose_variant_json_disagrees_with_the_lock_is_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    text = cluster.lock.read_text()
    lock = tmp_path / "pylock.toml"  # the lock says x86_64_v3 stands for v2; the wheel says v3
    lock.write_text(
        text.replace(
            'x86_64_v3 = { x86_64 = { level = ["v3"] } }', 'x86_64_v3 = { x86_64 = { level = ["v2"] } }'
        )
    )
    venv = fresh_venv(tmp_path / "venv")
    done = _sync(cluster, cluster.nodes["v3"], venv, lock=lock, cache=tmp_path / "cache")
    assert done.returncode == 1
    assert "its variant.json gives label 'x86_64_v3' the properties" in done.stderr
    assert "the file was not handed to the installer" in done.stderr
    assert "simdinfo" not in _installed(venv)


def test_a_node_that_fits_no_locked_variant_is_told_what_it_lacks(cluster: Cluster, tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    v4 = str(cluster.nodes["v4"].profile)
    argv = ["lock", "avx512kit", "--for", v4, "-o", str(lock), "--index-url", cluster.index.url]
    assert main([*argv, "--python", str(fresh_venv(tmp_path / "lock-venv"))]) == 0
    venv = fresh_venv(tmp_path / "venv")
    done = _sync(cluster, cluster.nodes["v3"], venv, lock=lock)
    assert done.returncode == 1
    assert (
        "avx512kit 1.0: this node fits none of the locked variants (x86_64_v4) and the lock has no null "
        "variant or plain wheel to fall back on; the nearest, x86_64_v4, needs what this node lacks: "
        "x86_64 :: level needs v4: this host supports v3, v2, v1"
    ) in done.stderr
    assert "avx512kit" not in _installed(venv)
    assert _sync(cluster, cluster.nodes["v4"], venv, lock=lock).returncode == 0


def test_all_variants_locks_every_label_and_no_node_gets_one_whose_dependencies_it_lacks(
    cluster: Cluster, tmp_path: Path
) -> None:
    lock = tmp_path / "pylock.toml"
    argv = ["lock", "simdinfo", "gpukit", "--for", str(cluster.nodes["v3"].profile), "--all-variants"]
    venv = fresh_venv(tmp_path / "venv")
    assert main([*argv, "-o", str(lock), "--index-url", cluster.index.url, "--python", str(venv)]) == 0
    simdinfo, gpukit = sorted(read_lock(lock).packages, key=lambda p: p.name != "simdinfo")
    labels = [f.label for f in simdinfo.files]
    assert labels[0] == "x86_64_v3" and labels[-2:] == ["null", None]  # the node's, ..., the fallbacks
    assert sorted(str(label) for label in labels[1:-2]) == ["x86_64_v1", "x86_64_v2", "x86_64_v4"]
    assert simdinfo.metadata is not None
    assert set(simdinfo.metadata.variants) == {"x86_64_v1", "x86_64_v2", "x86_64_v3", "x86_64_v4", "null"}
    assert simdinfo.unlocked is None
    # the v3 node resolved no CUDA runtime: the CUDA variants are locked, but marked unusable
    assert [f.label for f in gpukit.files] == ["null", "cu12", "cu13"]
    assert gpukit.unlocked == {
        "gpukit-1.0-py3-none-any-cu12.whl": ("cudart-cu12",),
        "gpukit-1.0-py3-none-any-cu13.whl": ("cudart-cu13",),
    }
    done = _sync(cluster, cluster.nodes["gpu"], venv, "--json", lock=lock)
    assert done.returncode == 0, done.stderr
    row = next(p for p in json.loads(done.stdout)["packages"] if p["name"] == "gpukit")
    assert row["variant_label"] == "null"
    assert "left out: cu12 (needs cudart-cu12, which the lock lacks)" in row["reason"]
    assert _gpukit(venv) == "null"


def test_a_lock_written_for_one_target_before_still_syncs(cluster: Cluster, tmp_path: Path) -> None:
    text = (DATA / "locks" / "single-target-v3.toml").read_text()
    text = text.replace("@TAG@", python_tag()).replace("@INDEX@", cluster.index.url.removesuffix("/simple"))
    for name in ("simdinfo-1.0.0-variants.json", f"simdinfo-1.0.0-{python_tag()}-x86_64_v3.whl"):
        text = text.replace(
            f"@SHA256 {name}@", hashlib.sha256((cluster.index.root / name).read_bytes()).hexdigest()
        )
    lock = tmp_path / "pylock.toml"
    lock.write_text(text)
    (package,) = read_lock(lock).packages
    assert (package.variant_label, package.metadata) == ("x86_64_v3", None)
    venv = fresh_venv(tmp_path / "venv")
    done = _sync(cluster, cluster.nodes["v4"], venv, "--json", lock=lock)  # the lock decided: v3
    assert done.returncode == 0, done.stderr
    assert probe(venv, "simdinfo.build()") == "x86_64_v3"
    (row,) = json.loads(done.stdout)["packages"]
    assert row["reason"] == "locked for profile v3.toml"


def test_nodes_that_need_different_versions_are_named(tmp_path: Path, cluster: Cluster) -> None:
    """simdinfo 2.0 exists only as a v4 variant: a v3 node resolves 1.0.0, a v4 node 2.0."""
    root = tmp_path / "index"
    root.mkdir()
    for path in cluster.index.root.glob("simdinfo-1.0.0-*"):
        (root / path.name).write_bytes(path.read_bytes())
    labels = {"x86_64_v4": variant_wheels.level_properties("x86_64_v4")}
    variant_wheels.build_labelled(root, "simdinfo", "2.0", labels)
    with serving(root) as index:
        fors = ["--for", str(cluster.nodes["v3"].profile), "--for", str(cluster.nodes["v4"].profile)]
        argv = ["lock", "simdinfo", *fors, "-o", str(tmp_path / "pylock.toml"), "--index-url", index.url]
        done = _cli(*argv, "--python", str(fresh_venv(tmp_path / "venv")))
    assert done.returncode == 1
    assert "simdinfo: the nodes need different versions (" in done.stderr
    assert (
        "resolves 1.0.0" in done.stderr and "resolves 2.0" in done.stderr and "simdinfo==1.0.0" in done.stderr
    )
    assert not (tmp_path / "pylock.toml").exists()


# --------------------------------------------------------------------------------------------------
# The parser of the new parts raises only LockError


_WHEEL = (
    "[[packages.wheels]]\n"
    'name = "simdinfo-1.0.0-cp311-cp311-linux_x86_64-x86_64_v3.whl"\n'
    'url = "http://x/a.whl"\n'
    f'hashes = {{ sha256 = "{"a" * 64}" }}\n'
)
_NOISE = st.sampled_from(["", "x = 1\n", "[[packages]]\n", "= =\n", '"\\ud800" = 1\n']) | st.text(max_size=12)
_WHEELS = [
    *(
        _WHEEL.replace("-x86_64_v3", label)
        for label in ("-x86_64_v3", "-null", "-bad-label", "", "-x86_64_v9")
    ),
    "wheels = 3\n",
]
_VARIANTS = [
    'url = "http://x/v.json"\nhashes = { sha256 = "b" }\n',
    '"$schema" = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"\n',
    '"$schema" = 7\n',
    'default-priorities = { namespace = ["x86_64"] }\n',
    "default-priorities = { namespace = [1] }\n",
    'variants = { x86_64_v3 = { x86_64 = { level = ["v3"] } }, null = {} }\n',
    "variants = { x86_64_v3 = 3 }\n",
    "variants = { x86_64_v3 = { x86_64 = { level = [1979-05-27] } } }\n",
    "variants = []\n",
]
_TOOL = [
    'needed-by = [{ name = "gpukit", variants = ["cu12", ""] }]\n',
    'needed-by = [{ variants = "cu12" }]\n',
    'needed-by = [{ name = "gpukit", variants = [2] }]\n',
    "needed-by = [1]\n",
    "needed-by = 1\n",
    'unlocked-dependencies = { "a.whl" = ["dep"] }\n',
    "unlocked-dependencies = { a = 1 }\n",
    "unlocked-dependencies = []\n",
    'variant-label = "x86_64_v3"\nproperties = ["x86_64 :: level :: v3"]\n',
    "properties = [1]\n",
]
_TOP = ['nodes = ["this host"]\n', "nodes = [1]\n", 'supported-from = "this host"\n', "supported-from = 1\n"]


def _section(header: str, lines: list[str], valid: str) -> st.SearchStrategy[str]:
    """Absent, valid, or a mix of valid, wrong and junk lines (valid ones often, to get past them)."""
    body = st.lists(st.sampled_from(lines) | _NOISE, max_size=4).map("".join)
    return st.one_of(st.just(""), st.just(valid), body).map(lambda text: f"{header}\n{text}" if text else "")


_LOCKS = st.tuples(
    st.sampled_from(['[[packages]]\nname = "simdinfo"\nversion = "1.0.0"\n', "[[packages]]\nname = 1\n"]),
    st.lists(st.sampled_from(_WHEELS[:2]), min_size=1, max_size=2).map("".join)
    | st.lists(st.sampled_from(_WHEELS), max_size=3).map("".join),
    _section("[packages.variants-json]", _VARIANTS, _VARIANTS[0] + _VARIANTS[3] + _VARIANTS[5]),
    _section("[packages.tool.jupyter_pyvariant]", _TOOL, _TOOL[0] + _TOOL[5]),
    _section("[tool.jupyter_pyvariant]", _TOP, _TOP[0]),
).map("".join)


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(text=_LOCKS)
def test_the_lock_reader_raises_only_lock_error_on_the_new_parts(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz-pylock.toml"
    path.write_text('lock-version = "1.0"\n' + text, "utf-8", errors="surrogatepass")
    try:
        lock = read_lock(path)
    except LockError:
        return
    assert isinstance(lock, Lock)


def test_a_lock_of_one_machine_and_a_lock_for_nodes_are_not_mixed(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    v3 = str(cluster.nodes["v3"].profile)
    assert main(["lock", "simdinfo", "--profile", v3, "--for", v3, "--index-url", cluster.index.url]) == 2
    assert "--profile locks exactly one machine's files" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# Choosing on a node, from lock values alone (no index, no installer)


def _choice_lock(tmp_path: Path, text: str) -> Lock:
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\n' + text)
    return read_lock(path)


def _locked(name: str, version: str, *files: str, tables: str = "") -> str:
    """A ``[[packages]]`` entry with a wheel of each file name (at a URL never fetched: the choice
    reads lock values alone), then ``tables``, the entry's own sub-tables."""
    wheels = "".join(
        f'[[packages.wheels]]\nurl = "http://x/{file}"\n'
        f'hashes = {{ sha256 = "{hashlib.sha256(file.encode()).hexdigest()}" }}\n'
        for file in files
    )
    return f'[[packages]]\nname = "{name}"\nversion = "{version}"\n{wheels}{tables}\n'


def _needed_by(requirer: str) -> str:
    return f"[packages.tool.jupyter_pyvariant]\nneeded-by = [{requirer}]\n"


_GPUKIT_CU12 = "gpukit-1.0-py3-none-any-cu12.whl"
_CU12_VARIANTS = """[packages.variants-json]
"$schema" = "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json"
default-priorities = { namespace = ["nvidia"] }
variants = { cu12 = { nvidia = { cuda_version_lower_bound = ["12.0"] } } }
"""
_GPU_LOCK = (
    _locked("gpukit", "1.0", _GPUKIT_CU12, "gpukit-1.0-py3-none-any.whl", tables=_CU12_VARIANTS)
    + _locked(
        "cudart-cu12",
        "12.8.0",
        "cudart_cu12-12.8.0-py3-none-any.whl",
        tables=_needed_by('{ name = "gpukit", variants = ["cu12"] }'),
    )
    + _locked(
        "cuda-helpers",
        "1.0",
        "cuda_helpers-1.0-py3-none-any.whl",
        tables=_needed_by('{ name = "cudart-cu12" }'),
    )
    + _locked(
        "cpu-fallback",
        "1.0",
        "cpu_fallback-1.0-py3-none-any.whl",
        tables=_needed_by('{ name = "gpukit", variants = [""] }'),
    )
)


def _supported(table: dict[str, dict[str, list[str]]]) -> Any:
    from jupyter_pyvariant.variants.supported import SupportedProperties

    return lambda metadata: SupportedProperties.from_mapping(table)


def test_a_package_needed_by_a_needed_package_is_needed_and_the_plain_wheel_can_need_one(
    tmp_path: Path,
) -> None:
    from jupyter_pyvariant.install.lock_sync import choose

    lock = _choice_lock(tmp_path, _GPU_LOCK)
    gpu = {
        c.package.name: c
        for c in choose(lock, _supported({"nvidia": {"cuda_version_lower_bound": ["12.0"]}}), None)
    }
    assert (gpu["gpukit"].label, gpu["cudart-cu12"].installs, gpu["cuda-helpers"].installs) == (
        "cu12",
        True,
        True,
    )
    assert not gpu["cpu-fallback"].installs
    assert gpu["cpu-fallback"].reason == "skipped: only needed by gpukit as the plain wheel"
    cpu = {c.package.name: c for c in choose(lock, _supported({}), None)}
    assert (
        cpu["gpukit"].label is None
        and cpu["gpukit"].reason
        == "plain wheel: no locked variant fits this node; 1 locked variant does not fit"
    )
    assert [name for name, c in cpu.items() if c.installs] == ["gpukit", "cpu-fallback"]


def test_a_node_whose_only_fitting_variants_lack_their_dependencies_is_refused(tmp_path: Path) -> None:
    from jupyter_pyvariant.install.lock_sync import choose

    unlocked = "[packages.tool.jupyter_pyvariant]\n"
    unlocked += f'unlocked-dependencies = {{ "{_GPUKIT_CU12}" = ["cudart-cu12"] }}\n'
    lock = _choice_lock(tmp_path, _locked("gpukit", "1.0", _GPUKIT_CU12, tables=_CU12_VARIANTS + unlocked))
    with pytest.raises(
        LockError,
        match=r"gpukit 1\.0: every locked variant this node fits is left out: "
        r"cu12 \(needs cudart-cu12, which the lock lacks\)",
    ):
        choose(lock, _supported({"nvidia": {"cuda_version_lower_bound": ["12.0"]}}), None)


def test_nodes_whose_recipes_route_to_per_build_indexes_are_told_how_to_lock_them_together(
    indexes: dict[str, IndexServer], routed: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """torch for a CPU laptop and a CUDA 12 node: 2.9.0+cpu and 2.9.0+cu128, from two indexes."""
    fors = ["--for", "x86-64-v3-laptop", "--for", "nvidia-cuda12"]
    argv = ["lock", "torch", *fors, "-o", str(tmp_path / "pylock.toml"), "--index-url", indexes["pypi"].url]
    assert main([*argv, "--python", str(fresh_venv(tmp_path / "venv"))]) == 1
    error = capsys.readouterr().err
    assert "torch: the nodes need different versions (profile x86-64-v3-laptop resolves 2.9.0+cpu; " in error
    assert "profile nvidia-cuda12 resolves 2.9.0+cu128)" in error
    assert "lock with --no-recipes, or with --torch-variant-index" in error
    assert not (tmp_path / "pylock.toml").exists()


def test_pip_syncs_the_same_choice_as_uv(cluster: Cluster, tmp_path: Path) -> None:
    venv = fresh_venv(tmp_path / "venv")
    done = _sync(cluster, cluster.nodes["gpu"], venv, "--installer", "pip", cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert (probe(venv, "simdinfo.build()"), _gpukit(venv)) == ("x86_64_v3", "cu12")
    assert "cudart-cu12" in _installed(venv)
