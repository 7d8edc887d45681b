"""Per-node kernels: a store holding every level, one kernelspec, and the interpreter chosen at start.

The store is filled the way a cluster admin would (``pyvariant python install --levels``) from a
mirror publishing the real interpreter under each level's name; a node is a recorded
``/proc/cpuinfo`` handed to the kernel's server through ``PYVARIANT_PROCFS``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pbs_fixture import World
from pbs_mirror import host_facts

from jupyter_pyvariant.host import report
from jupyter_pyvariant.kernels import KernelError
from jupyter_pyvariant.kernels.provisioner import choose_python

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the fixture interpreter is Debian's CPython"),
    pytest.mark.world(levels=("v1", "v2", "v3", "v4")),
]

NAME = "cluster-3.11"
V2_FLAGS = "fpu cx8 cmov mmx fxsr sse sse2 syscall nx lm cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3"
ENTRY_POINT = "pyvariant-provisioner = jupyter_pyvariant.kernels.provisioner:PyvariantProvisioner"
START_AND_ASK = """
import sys
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=120)
try:
    def show(msg):
        if msg["msg_type"] == "stream":
            print(msg["content"]["text"])
    client.execute_interactive("import sys; print(sys.prefix)", timeout=120, output_hook=show)
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
"""


@pytest.fixture(scope="module")
def cluster_kernel(world: World) -> dict[str, Any]:
    world.cli("python", "install", "3.11", "--levels", "v1,v2,v3,v4", "--catalog", world.catalog)
    result = world.cli("kernel", "install", "3.11", "--per-node", "--name", NAME, "--json")
    info: dict[str, Any] = json.loads(result.stdout)
    return info


def _spec(world: World) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((world.data_dir / "kernels" / NAME / "kernel.json").read_text())
    return spec


def test_one_kernelspec_holds_a_venv_per_level_and_names_the_provisioner(
    world: World, cluster_kernel: dict[str, Any]
) -> None:
    spec = _spec(world)
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "pyvariant-provisioner"
    facts = spec["metadata"]["pyvariant"]
    triples = sorted(v["build"]["triple"] for v in facts["variants"])
    assert triples == sorted(
        ["x86_64-unknown-linux-gnu", *(f"x86_64_v{n}-unknown-linux-gnu" for n in (2, 3, 4))]
    )
    assert all(Path(v["python"]).exists() for v in facts["variants"])
    assert facts["store"] == str(world.store)
    assert "best level per node" in spec["display_name"]
    # Without the provisioner, argv still names a real interpreter: the one for this host.
    assert Path(spec["argv"][0]) == choose_python(facts, report().facts)[0]


@pytest.mark.parametrize(
    ("level", "triple"),
    [
        ("x86-64-v1", "x86_64-unknown-linux-gnu"),
        ("x86-64-v2", "x86_64_v2-unknown-linux-gnu"),
        ("x86-64-v4", "x86_64_v4-unknown-linux-gnu"),
    ],
)
def test_each_node_gets_the_best_level_it_runs(
    world: World, cluster_kernel: dict[str, Any], level: str, triple: str
) -> None:
    facts = _spec(world)["metadata"]["pyvariant"]
    python, why = choose_python(facts, host_facts(level=level))
    expected = next(v["python"] for v in facts["variants"] if v["build"]["triple"] == triple)
    assert python == Path(expected)
    assert triple in why


def test_a_node_no_interpreter_runs_on_is_a_clear_error(world: World, cluster_kernel: dict[str, Any]) -> None:
    facts = _spec(world)["metadata"]["pyvariant"]
    with pytest.raises(KernelError, match="no interpreter of this kernel runs on this node"):
        choose_python(facts, host_facts(arch="aarch64", level="armv8.2-a"))


def test_the_provisioner_starts_the_v2_venv_on_a_v2_node(
    world: World, cluster_kernel: dict[str, Any], tmp_path: Path
) -> None:
    procfs = tmp_path / "v2-node"
    procfs.mkdir()
    cpu = f"vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2670\nflags\t\t: {V2_FLAGS}\n"
    (procfs / "cpuinfo").write_text("".join(f"processor\t: {n}\n{cpu}\n" for n in range(2)))
    entry_points = tmp_path / "entry-points"
    dist_info = entry_points / "pyvariant_provisioner_registration-0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pyvariant-provisioner-registration\nVersion: 0\n"
    )
    (dist_info / "entry_points.txt").write_text(f"[jupyter_client.kernel_provisioners]\n{ENTRY_POINT}\n")
    env = {**world.env, "PYVARIANT_PROCFS": str(procfs), "PYTHONPATH": str(entry_points)}
    result = subprocess.run(
        [sys.executable, "-c", START_AND_ASK, NAME],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    facts = _spec(world)["metadata"]["pyvariant"]
    v2 = next(v for v in facts["variants"] if v["build"]["triple"] == "x86_64_v2-unknown-linux-gnu")
    assert result.stdout.split() == [str(Path(v2["python"]).parent.parent)]


def test_remove_takes_every_per_node_venv(world: World, cluster_kernel: dict[str, Any]) -> None:
    venvs = [Path(p) for p in _spec(world)["metadata"]["pyvariant"]["venvs"]]
    world.cli("kernel", "remove", NAME)
    assert not any(v.exists() for v in venvs)
    assert not (world.data_dir / "pyvariant" / "venvs" / NAME).exists()
    assert len(list(world.store.glob("cpython-*"))) == 4
