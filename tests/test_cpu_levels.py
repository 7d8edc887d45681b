"""The levels API: one order of every family's ladder, read from ``host/data/cpu_levels.json``, and
the report's "a better kernel exists" verdict for real machines (archspec 0.2.7's recorded
/proc/cpuinfo files under tests/data/cpuinfo, see its README). Expected orders are written here
from the x86-64 psABI, the Arm architecture versions and IBM's processor generations."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_host_cpu import replay

from jupyter_pyvariant.host.cpu_levels import better_level, level_family, level_names, runs_on
from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.host.recommend import recommendations

DATA = Path(__file__).parent / "data" / "cpuinfo"


def test_every_family_has_its_published_order() -> None:
    assert level_names("x86_64") == ("x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4")
    assert level_names("aarch64")[:3] == ("armv8.0-a", "armv8.1-a", "armv8.2-a")
    assert level_names("ppc64le") == ("power8", "power9", "power10", "power11")
    assert level_names("s390x")[0] == "z196" and level_names("s390x")[-1] == "z17"
    assert level_names("riscv64") == ()
    assert level_family("x86-64-v3") == "x86_64" and level_family("z15") == "s390x"
    assert level_family("unknown") is None


@pytest.mark.parametrize(
    ("built", "cpu", "runs"),
    [
        ("x86-64-v1", "x86-64-v4", True),
        ("x86-64-v4", "x86-64-v2", False),
        ("armv8.0-a", "armv9.0-a", True),
        # Armv9.0-A builds on Armv8.5-A, not 8.6-A: an 8.6-A build may need I8MM that a 9.0-A CPU lacks.
        ("armv8.6-a", "armv9.0-a", False),
        ("power9", "power10", True),
        ("z16", "z14", False),
        ("x86-64-v1", "armv8.0-a", None),
        ("x86-64-v1", "unknown", None),
    ],
)
def test_a_level_runs_on_the_levels_that_build_on_it(built: str, cpu: str, runs: bool | None) -> None:
    assert runs_on(built, cpu) is runs


@pytest.mark.parametrize(
    ("built", "cpu", "better"),
    [
        ("x86-64-v1", "x86-64-v4", "x86-64-v4"),
        ("x86-64-v3", "x86-64-v3", None),
        ("x86-64-v4", "x86-64-v2", None),
        ("armv8.0-a", "armv8.2-a", "armv8.2-a"),
        ("power8", "power10", "power10"),
        ("z14", "z16", "z16"),
        ("x86-64-v1", "armv9.0-a", None),
        (None, "x86-64-v3", None),
        ("x86-64-v1", None, None),
    ],
)
def test_better_level_is_the_cpu_level_only_above_the_build_on_one_ladder(
    built: str | None, cpu: str | None, better: str | None
) -> None:
    assert better_level(built, cpu) == better


@pytest.mark.parametrize(
    ("name", "python_level", "better"),
    [
        ("linux-rocky8.5-zen4", "x86-64-v1", "x86-64-v4"),
        ("linux-rocky8.5-zen4", "x86-64-v4", None),
        ("linux-scientific7-k10", "x86-64-v1", None),
        ("linux-amazon-neoverse_n1", "armv8.0-a", "armv8.2-a"),
        ("linux-rhel8-power9", "power8", "power9"),
        ("linux-rhel8-power9", "x86-64-v1", None),
    ],
)
def test_the_report_says_when_a_better_kernel_exists_for_a_real_machine(
    tmp_path: Path, name: str, python_level: str, better: str | None
) -> None:
    info, _ = replay(tmp_path, (DATA / name).read_text(), None)
    cpu = {"arch": info.arch, "isa_level": info.isa_level, "features": sorted(info.features)}
    report = {"cpu": cpu, "system": {"os": "Linux"}, "python": {"version": "3.13", "isa_level": python_level}}
    assert recommendations(HostFacts.from_dict(report), environ={})["better_kernel"] == better


def test_kernel_levels_are_the_published_ones_and_say_which_this_cpu_runs(tmp_path: Path) -> None:
    info, _ = replay(tmp_path, (DATA / "linux-rhel7-haswell").read_text(), None)
    report = {
        "cpu": {"arch": info.arch, "isa_level": info.isa_level},
        "system": {"os": "Linux", "libc": {"family": "glibc"}},
        "python": {"isa_level": "x86-64-v1"},
    }
    levels = recommendations(HostFacts.from_dict(report), environ={})["kernel_levels"]
    assert [(entry["flag"], entry["runs"]) for entry in levels] == [
        ("v1", True),
        ("v2", True),
        ("v3", True),
        ("v4", False),
    ]
    arm = {**report, "cpu": {"arch": "aarch64", "isa_level": "armv8.2-a"}}
    assert recommendations(HostFacts.from_dict(arm), environ={})["kernel_levels"] == [], (
        "no level split is published for aarch64"
    )
