"""The typed host facts: what the report makes of this host, what a report from elsewhere reads as, and
that a report edited by hand or written by another tool is either usable by every wing or refused with
the one declared error."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_host_cpu import replay
from test_host_replay import DATA, MACHINES

from jupyter_pyvariant.errors import HostError
from jupyter_pyvariant.host import collect, report
from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host.facts import HostFacts, HostReportError, ProcessorFacts, PythonFacts
from jupyter_pyvariant.host.properties import absent_reason, supported_properties
from jupyter_pyvariant.host.recommend import recommendations
from jupyter_pyvariant.host.triples import level_flag, runnable_targets
from jupyter_pyvariant.pythons.listing import host_summary
from jupyter_pyvariant.server.kernel_report import read_reply
from jupyter_pyvariant.variants.properties import VariantFormatError
from jupyter_pyvariant.variants.providers import host_profile

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)

GPU_NODE: dict[str, Any] = {
    "schema_version": "1.1",
    "scope": "kernel-host",
    "cpu": {
        "arch": "x86_64",
        "vendor": "GenuineIntel",
        "model": "Xeon",
        "isa_level": "x86-64-v3",
        "isa_level_missing": ["avx512f"],
        "isa_next_level": "x86-64-v4",
        "features": ["avx2", "fma", "sse2"],
        "glibc_hwcaps": {"level": "x86-64-v2", "agrees": False},
        "archspec": {
            "microarchitecture": "haswell",
            "refused": [{"target": "broadwell", "missing": ["adx"]}],
        },
    },
    "system": {"os": "Linux", "kernel": "6.1.0-18-amd64", "libc": {"family": "glibc", "version": "2.36"}},
    "capacity": {
        "logical_cpus": 64,
        "usable_cores": 4.0,
        "memory": {"total_bytes": 2**36, "cgroup_limit_bytes": 2**34},
    },
    "accelerators": [
        {
            "vendor": "nvidia",
            "status": "ok",
            "cuda_driver_version": "12.8",
            "devices": [{"compute_capability": "9.0", "visible": True}],
        },
        {"vendor": "amd", "status": "hardware-no-driver", "reason": "amdgpu is not loaded", "devices": []},
    ],
    "python": {"version": "3.12.4", "implementation": "cpython", "isa_level": "x86-64-v1", "debug": False},
}


def test_the_report_carries_the_facts_a_report_from_elsewhere_reads_as() -> None:
    """The kernel → server boundary: the report as JSON reads back as the very facts it was made with."""
    here = collect()
    assert HostFacts.from_dict(json.loads(json.dumps(here.to_dict()))) == here.facts
    assert report().facts.scope == "kernel-host"
    assert report(scope="server-host").facts.scope == "server-host"
    assert "facts" not in here.to_dict(), "the JSON contract is unchanged"


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_a_replayed_machines_facts_are_what_its_report_reads_as(tmp_path: Path, name: str) -> None:
    """The facts made from the probes and the facts read from their JSON are one: the two ways in
    cannot drift apart."""
    replay(tmp_path, (DATA / name).read_text(), None)
    made = collect(roots=Roots(procfs=tmp_path / "proc", sysfs=tmp_path / "sys"))
    assert HostFacts.from_dict(json.loads(json.dumps(made.to_dict()))) == made.facts
    assert (made.facts.cpu.arch, made.facts.cpu.vendor, made.facts.cpu.model) == MACHINES[name]


def test_a_report_from_a_gpu_node_reads_as_typed_facts() -> None:
    facts = HostFacts.from_dict(GPU_NODE)
    assert facts.cpu == ProcessorFacts(
        arch="x86_64",
        family="x86_64",
        vendor="GenuineIntel",
        model="Xeon",
        level="x86-64-v3",
        next_level="x86-64-v4",
        missing=("avx512f",),
        features=("avx2", "fma", "sse2"),
        microarchitecture="haswell",
        hwcaps_level="x86-64-v2",
        hwcaps_agrees=False,
        refused=facts.cpu.refused,
    )
    assert [(r.target, r.missing) for r in facts.cpu.refused] == [("broadwell", ("adx",))]
    assert (facts.system.libc_family, facts.system.libc_version) == ("glibc", "2.36")
    assert facts.capacity.memory_limit_bytes == 2**34
    nvidia, amd = facts.accelerators
    assert nvidia.devices[0].compute_capability == "9.0" and nvidia.devices[0].visible
    assert facts.accelerator("amd") == amd and facts.accelerator("intel") is None
    assert facts.python == PythonFacts(
        version="3.12.4", implementation="cpython", isa_level="x86-64-v1", debug=False
    )
    with pytest.raises(AttributeError, match="immutable"):
        facts.cpu.level = "x86-64-v4"  # type: ignore[misc]


def test_what_a_report_leaves_out_is_unknown_never_guessed() -> None:
    facts = HostFacts.from_dict({"cpu": {"arch": "aarch64", "isa_level": "unknown"}})
    assert facts.cpu.family == "aarch64" and facts.cpu.level is None
    assert facts.system.os is None and facts.accelerators == () and facts.python.isa_level is None
    assert host_summary(facts) == {"isa_level": "unknown", "arch": "aarch64", "libc": "unknown"}
    assert HostFacts.from_dict({}) == HostFacts()
    assert HostFacts.from_dict({"cpu": {"arch": "AMD64"}}).cpu.family == "x86_64", "Windows spells it so"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "a host report is one JSON object, not list"),
        ({"cpu": "x86_64"}, "cpu must be an object, not str"),
        ({"cpu": {"isa_level": 3}}, "cpu.isa_level must be a string, not int"),
        ({"cpu": {"features": "avx2"}}, "cpu.features must be a list, not str"),
        ({"cpu": {"features": ["avx2", 7]}}, "cpu.features must be a list of strings"),
        ({"accelerators": [3]}, r"accelerators\[0\] must be an object, not int"),
        ({"accelerators": [{"vendor": "nvidia", "devices": [{"visible": "no"}]}]}, "must be true or false"),
        ({"capacity": {"usable_cores": "4"}}, "capacity.usable_cores must be a number, not str"),
        ({"capacity": {"usable_cores": float("inf")}}, "must be a finite number"),
        ({"capacity": {"memory": {"cgroup_limit_bytes": 10**400}}}, "limit_bytes must be a finite number"),
        ({"capacity": {"logical_cpus": True}}, "must be a number, not bool"),
        ({"scope": "laptop"}, "scope must be"),
    ],
)
def test_a_report_that_cannot_stand_for_a_host_is_refused_by_name(data: Any, message: str) -> None:
    with pytest.raises(HostReportError, match=message) as raised:
        HostFacts.from_dict(data)
    assert isinstance(raised.value, HostError) and isinstance(raised.value, ValueError)


def test_the_advice_is_made_from_the_facts() -> None:
    facts = HostFacts.from_dict(GPU_NODE)
    advice = recommendations(facts, environ={})
    assert advice["better_kernel"] == "x86-64-v3"
    assert advice["interpreter"]["uv_key"] == "cpython-3.12-linux-x86_64_v3-gnu"
    assert any(
        "glibc's loader says x86-64-v2 but the CPU flags say x86-64-v3" in w for w in advice["warnings"]
    )
    assert (
        "This CPU looks like a broadwell but does not report the feature adx; a virtual machine may "
        "hide CPU features, so builds tuned for broadwell are not used."
    ) in advice["warnings"]
    assert any("Memory is limited to 16.0 GiB" in w for w in advice["warnings"])
    assert any(
        w.startswith("An AMD GPU is present but its driver is not usable: amdgpu") for w in advice["warnings"]
    )
    assert supported_properties(facts)["nvidia"]["sm_arch"] == ["90_real", "90_virtual"]
    assert (
        absent_reason("amd", facts) == "amd accelerator status is 'hardware-no-driver': amdgpu is not loaded"
    )
    assert absent_reason("aarch64", facts) == "this host's CPU is x86_64 at level x86-64-v3"
    assert absent_reason("intel", facts) == "the host report lists no intel accelerator"


@pytest.mark.parametrize(
    ("refused", "said"),
    [
        (
            [{"target": "zen4", "missing": ["flush_l1d", "pku", "rdseed"]}],
            "This CPU looks like a zen4 but does not report the features flush_l1d, pku and rdseed;",
        ),
        ([{"target": "zen4", "missing": []}], None),
    ],
)
def test_a_refused_microarchitecture_is_said_in_plain_words(refused: list[Any], said: str | None) -> None:
    report = copy.deepcopy(GPU_NODE)
    report["cpu"]["archspec"]["refused"] = refused
    warnings = recommendations(HostFacts.from_dict(report), environ={})["warnings"]
    about = [w for w in warnings if "looks like" in w]
    assert [w.split(" a virtual machine")[0] for w in about] == ([said] if said else [])
    assert not any("archspec" in w or "VM" in w for w in warnings), warnings


def _kernel_reply(report: Any) -> dict[str, Any]:
    """An ``execute_reply`` whose user expression holds ``report`` as the kernel's JSON text."""
    text = repr(json.dumps(report))
    return {
        "status": "ok",
        "user_expressions": {"pyvariant_host_report": {"status": "ok", "data": {"text/plain": text}}},
    }


def test_a_kernels_report_crosses_to_the_server_only_when_it_reads_as_facts() -> None:
    assert read_reply(_kernel_reply(GPU_NODE)) == GPU_NODE
    refused = read_reply(_kernel_reply({**GPU_NODE, "cpu": {"isa_level": ["x86-64-v3"]}}))
    assert refused == {
        "scope": "kernel-host",
        "status": "unknown",
        "reason": "the kernel's answer is not a usable report (cpu.isa_level must be a string, not list)",
    }


@pytest.mark.parametrize(
    ("level", "flag"), [("x86-64-v1", "v1"), ("x86-64-v4", "v4"), ("armv8.2-a", "armv8.2-a"), ("z15", "z15")]
)
def test_a_level_flag_drops_only_what_every_level_of_its_ladder_shares(level: str, flag: str) -> None:
    assert level_flag(level) == flag


# -- fuzz: a report edited by hand ---------------------------------------------------------------------

huge = st.sampled_from([10**400, -(10**400), -1])
scalars = st.none() | st.booleans() | st.integers() | huge | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
_PATHS = [
    (),
    ("scope",),
    ("cpu",),
    ("cpu", "arch"),
    ("cpu", "isa_level"),
    ("cpu", "features"),
    ("cpu", "isa_level_missing"),
    ("cpu", "glibc_hwcaps"),
    ("cpu", "archspec"),
    ("cpu", "archspec", "refused"),
    ("system",),
    ("system", "os"),
    ("system", "libc"),
    ("capacity",),
    ("capacity", "memory"),
    ("capacity", "usable_cores"),
    ("accelerators",),
    ("python",),
    ("python", "isa_level"),
    ("python", "version"),
]
_LEVELS = ["x86-64-v1", "x86-64-v4", "armv8.2-a", "armv9.5-a", "power9", "z15", "unknown", "", "v3"]
_ARCHES = ["x86_64", "AMD64", "aarch64", "arm64", "ppc64le", "s390x", "riscv64", "sparc", ""]


def _replaced(base: dict[str, Any], path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(base)
    place = changed
    for key in path[:-1]:
        if not isinstance(place.get(key), dict):
            place[key] = {}
        place = place[key]
    place[path[-1]] = value
    return changed


edited = st.builds(
    _replaced,
    st.just(GPU_NODE),
    st.sampled_from(_PATHS),
    json_values | st.sampled_from(_LEVELS) | st.sampled_from(_ARCHES),
)
plausible = st.fixed_dictionaries(
    {
        "cpu": st.fixed_dictionaries(
            {"arch": st.sampled_from(_ARCHES), "isa_level": st.sampled_from(_LEVELS)},
            optional={"features": st.lists(st.sampled_from(["avx2", "sve", "asimd", "fp", "pni"]))},
        ),
        "system": st.fixed_dictionaries(
            {"os": st.sampled_from(["Linux", "Darwin", "Windows", "", "Plan9"])},
            optional={
                "libc": st.fixed_dictionaries({"family": st.sampled_from(["glibc", "musl", "", "bionic"])})
            },
        ),
        "python": st.fixed_dictionaries(
            {"isa_level": st.sampled_from(_LEVELS), "version": st.text(max_size=6)}
        ),
        "accelerators": st.lists(
            st.fixed_dictionaries(
                {"vendor": st.sampled_from(["nvidia", "amd", "apple", "intel", ""])},
                optional={
                    "status": st.sampled_from(["ok", "error", "hardware-no-driver", "absent"]),
                    "cuda_driver_version": st.sampled_from(["12.8", "13.0", "9.9", "12", "x.y", ""]),
                    "rocm_version": st.sampled_from(["6.4.1", "6", ""]),
                    "devices": st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "compute_capability": st.sampled_from(["9.0", "8.6", "4.0", "x"]),
                                "gfx_target": st.sampled_from(["gfx90a", "", "gfx 9!"]),
                                "visible": st.booleans(),
                            },
                        ),
                        max_size=3,
                    ),
                },
            ),
            max_size=3,
        ),
    }
)


@FUZZ
@given(edited | plausible | json_values)
def test_a_report_from_outside_is_usable_everywhere_or_refused_with_the_declared_error(data: Any) -> None:
    try:
        facts = HostFacts.from_dict(data)
    except HostReportError:
        return
    # Facts that read are facts every wing can decide by.
    recommendations(facts, environ={})
    supported_properties(facts)
    runnable_targets(facts)
    host_summary(facts)
    for namespace in ("x86_64", "aarch64", "nvidia", "amd"):
        absent_reason(namespace, facts)
    with contextlib.suppress(VariantFormatError):  # a device name outside the variant alphabet
        host_profile(facts)
