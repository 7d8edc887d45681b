"""The system and capacity probes against recorded-machine trees (fake /proc, /sys and /) and live."""

from __future__ import annotations

import itertools
import json
import os
import sys
import sysconfig
import types
from pathlib import Path

import pytest
from packaging.tags import sys_tags

from jupyter_pyvariant.host import wheel_tags
from jupyter_pyvariant.host._fs import Roots, read_text
from jupyter_pyvariant.host._probe import Recorder
from jupyter_pyvariant.host.capacity import parse_cpu_list, parse_cpu_max, parse_memory_limit
from jupyter_pyvariant.host.system import probe_capacity, probe_system

GIB = 1 << 30
MEMINFO = "MemTotal:       16777216 kB\nMemFree:         1000000 kB\nMemAvailable:    8388608 kB\n"
V1_UNLIMITED = "9223372036854771712"  # 2**63 - 1 rounded down to 4 KiB pages


def machine(tmp_path: Path, files: dict[str, str]) -> Roots:
    """Write a recorded machine: keys are paths under proc/, sys/ or rootfs/."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "proc").mkdir(exist_ok=True)
    (tmp_path / "sys").mkdir(exist_ok=True)
    return Roots(procfs=tmp_path / "proc", sysfs=tmp_path / "sys")


def eight_cpus(**extra: str) -> dict[str, str]:
    return {
        "proc/meminfo": MEMINFO,
        "proc/self/status": "Name:\tpython\nCpus_allowed_list:\t0-7\n",
        "sys/devices/system/cpu/online": "0-7\n",
        **extra,
    }


def errors(rec: Recorder, probe: str) -> list[str]:
    """The errors recorded by ``probe`` and its sub-probes (``capacity`` covers ``capacity.cpus``)."""
    return [d.error for d in rec.diagnostics if (d.probe + ".").startswith(probe + ".") and d.error]


# --- capacity: cgroup v2 ----------------------------------------------------------------------


def v2_machine(tmp_path: Path, cgroup: str, controllers: str, cgroupfs: dict[str, str]) -> Roots:
    """A host whose process is in the v2 ``cgroup``; ``cgroupfs`` keys are paths under /sys/fs/cgroup."""
    tree = {"cgroup.controllers": f"{controllers}\n", **cgroupfs}
    files = {f"sys/fs/cgroup/{name}": text for name, text in tree.items()}
    return machine(tmp_path, eight_cpus(**{"proc/self/cgroup": f"0::/{cgroup}\n", **files}))


def test_v2_quota_cpuset_and_memory_limit(tmp_path: Path) -> None:
    leaf = "kubepods/pod1/ctr"
    roots = v2_machine(
        tmp_path,
        leaf,
        "cpuset cpu memory",
        {
            f"{leaf}/cpu.max": "150000 100000\n",
            f"{leaf}/cpuset.cpus.effective": "2-5\n",
            f"{leaf}/memory.max": f"{GIB}\n",
        },
    )
    rec = Recorder()
    capacity = probe_capacity(roots, rec, environ={})
    assert capacity.cgroup.version == 2
    assert capacity.cgroup.cpu_quota_cores == 1.5
    assert capacity.cgroup.cpuset_cpus == 4
    assert capacity.logical_cpus == 8
    assert capacity.affinity_cpus == 8
    assert capacity.usable_cores == 1.5
    assert capacity.memory.total_bytes == 16 * GIB
    assert capacity.memory.available_bytes == 8 * GIB
    assert capacity.memory.cgroup_limit_bytes == GIB
    assert capacity.memory.usable_bytes == GIB
    assert errors(rec, "capacity") == []


def test_v2_parent_tighter_than_child_wins(tmp_path: Path) -> None:
    roots = v2_machine(
        tmp_path,
        "user.slice/job/step",
        "cpu memory",
        {
            "user.slice/cpu.max": "max 100000\n",
            "user.slice/job/cpu.max": "100000 100000\n",
            "user.slice/job/step/cpu.max": "400000 100000\n",
            "user.slice/job/memory.max": f"{GIB // 2}\n",
            "user.slice/job/step/memory.max": "max\n",
        },
    )
    capacity = probe_capacity(roots, Recorder(), environ={})
    assert capacity.cgroup.cpu_quota_cores == 1.0
    assert capacity.cgroup.memory_limit_bytes == GIB // 2
    assert capacity.usable_cores == 1.0
    assert capacity.memory.usable_bytes == GIB // 2


def test_v2_without_limit_files_means_no_limit(tmp_path: Path) -> None:
    roots = v2_machine(tmp_path, "session", "", {"session/cgroup.procs": "1\n"})
    rec = Recorder()
    capacity = probe_capacity(roots, rec, environ={})
    assert capacity.cgroup.version == 2
    assert (capacity.cgroup.cpu_quota_cores, capacity.cgroup.cpuset_cpus) == (None, None)
    assert capacity.cgroup.memory_limit_bytes is None
    assert capacity.usable_cores == 8.0
    assert capacity.memory.usable_bytes == 16 * GIB
    assert errors(rec, "capacity") == []


# --- capacity: cgroup v1 ----------------------------------------------------------------------


def v1_machine(tmp_path: Path, cgroupfs: dict[str, str]) -> Roots:
    """A Docker-style v1 host; ``cgroupfs`` keys are paths under /sys/fs/cgroup."""
    membership = "4:memory:/docker/abc\n3:cpuset:/docker/abc\n2:cpu,cpuacct:/docker/abc\n1:name=systemd:/\n"
    tree = {
        "memory/memory.limit_in_bytes": V1_UNLIMITED,
        "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
        "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        "cpuset/cpuset.cpus": "0-7\n",
        **cgroupfs,
    }
    files = {f"sys/fs/cgroup/{name}": text for name, text in tree.items()}
    return machine(tmp_path, eight_cpus(**{"proc/self/cgroup": membership, **files}))


def test_v1_quota_period_cpuset_and_memory(tmp_path: Path) -> None:
    roots = v1_machine(
        tmp_path,
        {
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "250000\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
            "cpuset/docker/abc/cpuset.cpus": "0-3\n",
            "memory/docker/abc/memory.limit_in_bytes": f"{2 * GIB}\n",
        },
    )
    rec = Recorder()
    capacity = probe_capacity(roots, rec, environ={})
    assert capacity.cgroup.version == 1
    assert capacity.cgroup.cpu_quota_cores == 2.5
    assert capacity.cgroup.cpuset_cpus == 4
    assert capacity.cgroup.memory_limit_bytes == 2 * GIB
    assert capacity.usable_cores == 2.5
    assert errors(rec, "capacity") == []


def test_v1_mounted_at_own_cgroup_without_namespace(tmp_path: Path) -> None:
    """/proc/self/cgroup names /docker/abc, but the mount shows that cgroup at its root."""
    roots = v1_machine(
        tmp_path, {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "memory/memory.limit_in_bytes": f"{3 * GIB}\n"}
    )
    capacity = probe_capacity(roots, Recorder(), environ={})
    assert capacity.cgroup.cpu_quota_cores == 0.5
    assert capacity.cgroup.memory_limit_bytes == 3 * GIB


def test_v1_controller_mounted_under_its_own_name(tmp_path: Path) -> None:
    roots = machine(
        tmp_path,
        eight_cpus(
            **{
                "proc/self/cgroup": "2:cpu,cpuacct:/job\n",
                "sys/fs/cgroup/cpu/job/cpu.cfs_quota_us": "300000\n",
                "sys/fs/cgroup/cpu/job/cpu.cfs_period_us": "100000\n",
            }
        ),
    )
    assert probe_capacity(roots, Recorder(), environ={}).cgroup.cpu_quota_cores == 3.0


@pytest.mark.parametrize("unlimited", [V1_UNLIMITED, str(2**63 - 1), "9223372036854710272", "-1"])
def test_v1_unlimited_memory_is_no_limit_without_complaint(tmp_path: Path, unlimited: str) -> None:
    roots = v1_machine(tmp_path, {"memory/docker/abc/memory.limit_in_bytes": unlimited})
    rec = Recorder()
    capacity = probe_capacity(roots, rec, environ={})
    assert capacity.cgroup.memory_limit_bytes is None
    assert capacity.memory.usable_bytes == 16 * GIB
    assert errors(rec, "capacity") == []


def test_limit_above_physical_memory_is_no_limit_and_said(tmp_path: Path) -> None:
    roots = v1_machine(tmp_path, {"memory/docker/abc/memory.limit_in_bytes": str(64 * GIB)})
    rec = Recorder()
    capacity = probe_capacity(roots, rec, environ={})
    assert capacity.memory.cgroup_limit_bytes is None
    assert capacity.memory.usable_bytes == 16 * GIB
    assert any("exceeds physical memory" in error for error in errors(rec, "capacity.cgroup.memory"))


def test_garbage_values_become_none_with_the_file_named(tmp_path: Path) -> None:
    leaf = "sys/fs/cgroup/box"
    roots = machine(
        tmp_path,
        {
            "proc/self/cgroup": "0::/box\n",
            "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
            f"{leaf}/cpu.max": "lots of cpu\n",
            f"{leaf}/memory.max": "plenty\n",
            f"{leaf}/cpuset.cpus.effective": "3-1\n",
            "proc/meminfo": "MemTotal: many kB\n",
            "proc/self/status": "Cpus_allowed_list:\tall\n",
            "sys/devices/system/cpu/online": "zero\n",
        },
    )
    rec = Recorder()
    capacity = probe_capacity(roots, rec, environ={})
    assert capacity.cgroup.cpu_quota_cores is None
    assert capacity.cgroup.cpuset_cpus is None
    assert capacity.cgroup.memory_limit_bytes is None
    assert (capacity.logical_cpus, capacity.affinity_cpus, capacity.usable_cores) == (None, None, None)
    assert (capacity.memory.total_bytes, capacity.memory.usable_bytes) == (None, None)
    for controller, file in [
        ("cpu", "cpu.max"),
        ("cpuset", "cpuset.cpus.effective"),
        ("memory", "memory.max"),
    ]:
        (message,) = errors(rec, f"capacity.cgroup.{controller}")
        assert file in message
    assert (
        errors(rec, "capacity.cpus") and errors(rec, "capacity.affinity") and errors(rec, "capacity.memory")
    )


def test_no_cgroup_at_all(tmp_path: Path) -> None:
    rec = Recorder()
    capacity = probe_capacity(machine(tmp_path, eight_cpus()), rec, environ={})
    assert capacity.cgroup.to_dict() == {
        "version": None,
        "cpu_quota_cores": None,
        "cpuset_cpus": None,
        "memory_limit_bytes": None,
    }
    assert capacity.usable_cores == 8.0
    assert any("no cgroup" in error for error in errors(rec, "capacity.cgroup"))


def test_membership_without_a_cgroup_filesystem(tmp_path: Path) -> None:
    rec = Recorder()
    roots = machine(tmp_path, eight_cpus(**{"proc/self/cgroup": "0::/\n"}))
    assert probe_capacity(roots, rec, environ={}).cgroup.version is None
    assert any("no cgroup v2 or v1 controller" in error for error in errors(rec, "capacity.cgroup"))


def test_meminfo_without_memavailable(tmp_path: Path) -> None:
    roots = machine(tmp_path, eight_cpus(**{"proc/meminfo": "MemTotal: 1024 kB\nMemFree: 512 kB\n"}))
    memory = probe_capacity(roots, Recorder(), environ={}).memory
    assert (memory.total_bytes, memory.available_bytes, memory.usable_bytes) == (1 << 20, None, 1 << 20)


# --- capacity: declared limits and thread variables --------------------------------------------


def test_jupyterhub_limits_and_thread_variables(tmp_path: Path) -> None:
    environ = {
        "MEM_LIMIT": str(2 * GIB),
        "CPU_LIMIT": "1.5",
        "OMP_NUM_THREADS": "4",
        "POLARS_MAX_THREADS": "2",
        "UNRELATED": "x",
    }
    capacity = probe_capacity(machine(tmp_path, eight_cpus()), Recorder(), environ=environ)
    assert capacity.jupyterhub.mem_limit_bytes == 2 * GIB
    assert capacity.jupyterhub.cpu_limit == 1.5
    assert capacity.to_dict()["thread_env"] == {"OMP_NUM_THREADS": "4", "POLARS_MAX_THREADS": "2"}


@pytest.mark.parametrize(("mem", "cpu"), [("2G", "lots"), ("-5", "0"), ("1.5", "nan-ish")])
def test_bad_jupyterhub_limits_are_none_with_reason(tmp_path: Path, mem: str, cpu: str) -> None:
    rec = Recorder()
    capacity = probe_capacity(
        machine(tmp_path, eight_cpus()), rec, environ={"MEM_LIMIT": mem, "CPU_LIMIT": cpu}
    )
    assert capacity.jupyterhub.to_dict() == {"mem_limit_bytes": None, "cpu_limit": None}
    sources = {d.source for d in rec.diagnostics if d.probe == "capacity.jupyterhub" and d.error}
    assert sources == {"env:MEM_LIMIT", "env:CPU_LIMIT"}


# --- capacity: parsers ------------------------------------------------------------------------


def test_parsers() -> None:
    assert parse_cpu_list("0-3,8,10-11\n") == 7
    assert parse_cpu_list("") is None
    assert parse_cpu_max("max 100000") is None
    assert parse_cpu_max("max") is None
    assert parse_cpu_max("50000 100000") == 0.5
    assert parse_memory_limit("max") is None
    assert parse_memory_limit("4096") == 4096
    for bad_list in ("3-1", "a-b", "1,,2"):
        with pytest.raises(ValueError):
            parse_cpu_list(bad_list)
    for bad_max in ("0 100000", "1 2 3", "x 100000"):
        with pytest.raises(ValueError):
            parse_cpu_max(bad_max)
    with pytest.raises(ValueError):
        parse_memory_limit("-2")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the live Linux /proc and /sys")
def test_live_capacity_is_consistent() -> None:
    rec = Recorder()
    capacity = probe_capacity(Roots(), rec)
    assert capacity.logical_cpus == os.cpu_count()
    assert capacity.affinity_cpus == len(os.sched_getaffinity(0))
    assert capacity.usable_cores is not None and capacity.logical_cpus is not None
    assert 0 < capacity.usable_cores <= capacity.logical_cpus
    assert capacity.memory.total_bytes == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert capacity.memory.usable_bytes is not None
    assert capacity.memory.usable_bytes <= capacity.memory.total_bytes
    json.dumps(capacity.to_dict())


# --- system -----------------------------------------------------------------------------------


def test_recorded_kubernetes_pod_in_a_qemu_vm(tmp_path: Path) -> None:
    roots = machine(
        tmp_path,
        {
            "rootfs/etc/os-release": 'NAME="Ubuntu"\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n',
            "rootfs/.dockerenv": "",
            "proc/sys/kernel/osrelease": "6.8.0-45-generic\n",
            "proc/sys/kernel/hostname": "pod-7\n",
            "proc/sys/kernel/random/boot_id": "0f6c5c7e-1111-2222-3333-444455556666\n",
            "proc/1/cgroup": "0::/kubepods/burstable/pod12/cri-containerd-ab\n",
            "proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu sse2 avx2 hypervisor\n\nprocessor\t: 1\n",
            "sys/class/dmi/id/sys_vendor": "QEMU\n",
            "sys/class/dmi/id/product_name": "Standard PC (Q35 + ICH9, 2009)\n",
        },
    )
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    info = probe_system(roots, Recorder(), env, rootfs=tmp_path / "rootfs")
    assert info.os_release == "Ubuntu 24.04.1 LTS"
    assert info.kernel == "6.8.0-45-generic"
    assert info.hostname == "pod-7"
    assert info.boot_id == "0f6c5c7e-1111-2222-3333-444455556666"
    container = info.to_dict()["container"]
    assert container["detected"] is True
    assert container["kind"] == "kubernetes"
    assert container["evidence"] == [
        "KUBERNETES_SERVICE_HOST",
        "/proc/1/cgroup mentions kubepods",
        "/.dockerenv",
    ]
    assert info.virtualization.kind == "qemu"
    assert info.virtualization.evidence == ("DMI: QEMU Standard PC (Q35 + ICH9, 2009)", "CPU flag hypervisor")


def test_recorded_bare_metal_host(tmp_path: Path) -> None:
    roots = machine(
        tmp_path,
        {
            "rootfs/etc/os-release": "NAME=Fedora\nVERSION_ID=41\n",
            "proc/sys/kernel/osrelease": "6.11.4\n",
            "proc/1/cgroup": "0::/init.scope\n",
            "proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu sse2 avx2\n",
            "sys/class/dmi/id/sys_vendor": "Dell Inc.\n",
            "sys/class/dmi/id/product_name": "PowerEdge R760\n",
        },
    )
    rec = Recorder()
    info = probe_system(roots, rec, {}, rootfs=tmp_path / "rootfs")
    assert info.os_release == "Fedora 41"
    assert info.container.to_dict() == {"detected": False, "kind": None, "evidence": []}
    assert info.virtualization.to_dict() == {"detected": False, "kind": None, "evidence": []}
    assert info.hostname == "unknown"
    assert errors(rec, "system.hostname")
    assert info.boot_id is None
    assert "absent" in errors(rec, "system.boot_id")


def test_container_variable_and_xen_hypervisor(tmp_path: Path) -> None:
    roots = machine(tmp_path, {"sys/hypervisor/type": "xen\n", "rootfs/run/.containerenv": ""})
    info = probe_system(roots, Recorder(), {"container": "podman"}, rootfs=tmp_path / "rootfs")
    assert info.container.kind == "podman"
    assert info.container.evidence == ("container=podman", "/run/.containerenv")
    assert info.virtualization.kind == "xen"


def test_missing_os_release_is_unknown_with_reason(tmp_path: Path) -> None:
    rec = Recorder()
    info = probe_system(machine(tmp_path, {}), rec, {}, rootfs=tmp_path / "empty-rootfs")
    assert info.os_release == "unknown"
    assert info.kernel == "unknown"
    assert errors(rec, "system.os_release")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the live Linux /proc")
def test_live_system_facts() -> None:
    rec = Recorder()
    info = probe_system(Roots(), rec)
    assert info.os == "Linux"
    assert info.kernel == os.uname().release
    assert info.hostname == os.uname().nodename
    assert list(info.platform_tags) == [str(tag) for tag in itertools.islice(sys_tags(), 5)]
    gnu = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else None
    if gnu:
        assert (info.libc.family, info.libc.version) == tuple(gnu.split(" ", 1))
    else:
        assert info.libc.family == "musl"
    assert info.boot_id and len(info.boot_id) == 36
    json.dumps(info.to_dict())


def _live_glibc() -> str | None:
    """This CPython's glibc version, None elsewhere (musl, macOS, Windows, PyPy)."""
    try:
        gnu = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not gnu or sys.implementation.name != "cpython" or not sys.platform.startswith("linux"):
        return None
    return gnu.split(" ", 1)[1]


LIVE_GLIBC = _live_glibc()
live_glibc_cpython = pytest.mark.skipif(
    LIVE_GLIBC is None, reason="the short path of the wheel tags serves CPython on glibc Linux only"
)


@live_glibc_cpython
@pytest.mark.parametrize("count", [1, 5, 12])
def test_wheel_tags_are_the_head_of_packaging_sys_tags(count: int) -> None:
    assert wheel_tags._glibc_cpython_head(count, "glibc", LIVE_GLIBC) is not None
    assert wheel_tags.top_tags(count, "glibc", LIVE_GLIBC) == tuple(
        str(tag) for tag in itertools.islice(sys_tags(), count)
    )


@live_glibc_cpython
def test_a_debug_build_gets_the_d_abi_as_packaging_says(monkeypatch: pytest.MonkeyPatch) -> None:
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: 1 if name == "Py_DEBUG" else real(name))
    head = wheel_tags.top_tags(3, "glibc", LIVE_GLIBC)
    assert head == tuple(str(tag) for tag in itertools.islice(sys_tags(), 3))
    assert all(tag.split("-")[1].endswith("d") for tag in head)


@pytest.mark.parametrize(
    ("family", "version"),
    [("musl", "1.2"), ("glibc", "2.20"), ("glibc", "3.1"), ("glibc", None), ("unknown", None)],
)
def test_wheel_tags_leave_other_cases_to_packaging(family: str, version: str | None) -> None:
    """musl, a glibc whose head reaches the legacy manylinux2014 alias, or an unknown libc."""
    assert wheel_tags._glibc_cpython_head(5, family, version) is None


@live_glibc_cpython
def test_a_manylinux_override_module_is_left_to_packaging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "_manylinux", types.ModuleType("_manylinux"))
    assert wheel_tags._glibc_cpython_head(5, "glibc", LIVE_GLIBC) is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX only")
def test_a_fifo_under_a_replayed_root_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "cpuinfo"
    os.mkfifo(fifo)  # a plain open() of a FIFO with no writer waits for ever
    with pytest.raises(OSError, match="not a regular file"):
        read_text(fifo)
    (tmp_path / "big").write_bytes(b"x" * 100_000)
    assert len(read_text(tmp_path / "big", limit=70_000)) == 70_000, "the size bound holds across reads"
