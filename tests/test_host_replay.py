"""A recorded machine replayed through PYVARIANT_PROCFS is reported as that machine, whatever runs
the tests: its architecture comes from the recorded /proc/cpuinfo, and the python-build-standalone
build chosen for the replay is the one chosen for that machine's written report (`--host-report`).

The recordings are archspec 0.2.7's real /proc/cpuinfo files (tests/data/cpuinfo/README.md);
levels are test_host_cpu's expectations for the same machines, written from the x86-64 psABI and
the Arm architecture versions.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pbs_mirror import make_archive, ndjson_index
from test_host_cpu import LINUX_SAMPLES, replay

from jupyter_pyvariant.host import collect
from jupyter_pyvariant.host._fs import Roots

DATA = Path(__file__).parent / "data" / "cpuinfo"

# name -> (arch, vendor, model), as each recording spells them.
MACHINES: dict[str, tuple[str, str, str]] = {
    "linux-rhel9-neoverse_v2": ("aarch64", "ARM", "ARM part 0xd4f"),
    "linux-amazon-neoverse_n1": ("aarch64", "ARM", "ARM part 0xd0c"),
    "linux-rhel8-power9": ("ppc64le", "IBM", "POWER9"),
    "bgq-rhel6-power7": ("ppc64", "IBM", "POWER7 (architected)"),
    "linux-rocky8.5-zen4": ("x86_64", "AuthenticAMD", "AMD EPYC 9654 96-Core Processor"),
    "linux-rhel7-haswell": ("x86_64", "GenuineIntel", "Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz"),
    "linux-scientific7-k10": ("x86_64", "AuthenticAMD", "AMD Opteron(tm) Processor 6136"),
}

RELEASE = "20250612"
TRIPLES = [
    "aarch64-unknown-linux-gnu",
    "ppc64le-unknown-linux-gnu",
    "s390x-unknown-linux-gnu",
    "x86_64_v4-unknown-linux-gnu",
    "x86_64_v3-unknown-linux-gnu",
    "x86_64_v2-unknown-linux-gnu",
    "x86_64-unknown-linux-gnu",
]


def _recorded(name: str) -> str:
    return (DATA / name).read_text()


def test_every_recording_has_an_expectation() -> None:
    assert sorted(p.name for p in DATA.iterdir() if p.name != "README.md") == sorted(MACHINES)


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_a_replayed_cpu_is_the_recorded_machine(tmp_path: Path, name: str) -> None:
    arch, vendor, model = MACHINES[name]
    info, _ = replay(tmp_path, _recorded(name), None)
    assert (info.arch, info.vendor, info.model) == (arch, vendor, model)
    assert info.isa_level == LINUX_SAMPLES[name][1]
    assert info.archspec is not None and info.archspec.microarchitecture == LINUX_SAMPLES[name][2]


@pytest.mark.parametrize("name", ["linux-rhel9-neoverse_v2", "linux-rhel8-power9"])
def test_a_whole_report_of_a_replay_describes_that_machine_and_this_interpreter(
    tmp_path: Path, name: str
) -> None:
    replay(tmp_path, _recorded(name), None)
    data = collect(roots=Roots(procfs=tmp_path / "proc", sysfs=tmp_path / "sys")).to_dict()
    cpu = data["cpu"]
    assert (cpu["arch"], cpu["vendor"], cpu["model"]) == MACHINES[name]
    assert cpu["isa_level"] == LINUX_SAMPLES[name][1]
    assert "replayed" in cpu["glibc_hwcaps"]["reason"], "glibc's verdict is about this machine only"
    assert data["python"]["version"] == platform.python_version()
    assert data["python"]["executable"] == sys.executable
    interpreter = data["recommendations"]["interpreter"]
    if sys.platform.startswith("linux"):
        assert interpreter["triple"].startswith(f"{MACHINES[name][0]}-")


def _cli(env: dict[str, str], *argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_pyvariant", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the system section must be Linux glibc")
@pytest.mark.parametrize(
    ("name", "triple"),
    [
        ("linux-rhel9-neoverse_v2", "aarch64-unknown-linux-gnu"),
        ("linux-rhel8-power9", "ppc64le-unknown-linux-gnu"),
        ("linux-scientific7-k10", "x86_64-unknown-linux-gnu"),
        ("bgq-rhel6-power7", None),  # big-endian POWER: no build at all
    ],
)
def test_the_build_chosen_for_a_replay_is_the_one_chosen_for_its_report(
    tmp_path: Path, name: str, triple: str | None
) -> None:
    replay(tmp_path, _recorded(name), None)
    catalog = tmp_path / "catalog.ndjson"
    catalog.write_text(ndjson_index([make_archive("3.13.5", RELEASE, t) for t in TRIPLES]))
    env = {
        **os.environ,
        "PYVARIANT_CACHE_DIR": str(tmp_path / "cache"),
        "PYVARIANT_PYTHON_STORE": str(tmp_path / "store"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("PYVARIANT_PROCFS", None)
    replayed = {**env, "PYVARIANT_PROCFS": str(tmp_path / "proc")}
    report = tmp_path / "host.json"
    report.write_text(json.dumps(_cli(replayed, "cpuinfo", "--json")))

    for_replay = _cli(replayed, "python", "list", "--json", "--catalog", str(catalog))["builds"]
    for_report = _cli(
        env, "python", "list", "--json", "--catalog", str(catalog), "--host-report", str(report)
    )["builds"]

    assert [b["triple"] for b in for_replay] == ([triple] if triple else [])
    assert for_replay == for_report
