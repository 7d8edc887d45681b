"""How much of this machine the process may actually use: CPUs and memory after cgroups and affinity.

A container sees every core and every byte of the host in /proc, while its cgroup lets it use a
fraction; sizing thread pools or choosing a build from the raw numbers oversubscribes. This probe
walks the process's cgroup from its own directory up to the root (limits set on a parent bind the
children) and takes the tightest limit of each kind. JupyterHub's declared limits and the
thread-count variables are reported beside them, because they are what libraries will obey.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ._fs import Roots, read_text
from ._probe import Recorder
from ._values import Record, data_table, shaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    N = TypeVar("N", int, float)
    T = TypeVar("T")


# cgroup v1 writes "unlimited" as 2**63 - 1 rounded down to the page size (9223372036854771712 with
# 4 KiB pages); any value this large can only mean "no limit".
_UNLIMITED_FLOOR = 1 << 62

_CONTROLLERS = ("cpu", "cpuset", "memory")


class CgroupLimits(Record):
    """The tightest limits along the process's cgroup path (None: no limit, or unreadable)."""

    version: int | None
    cpu_quota_cores: float | None
    cpuset_cpus: int | None
    memory_limit_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class MemoryCapacity(Record):
    """Physical memory, what is free now, the cgroup ceiling, and the smaller of total and ceiling."""

    total_bytes: int | None
    available_bytes: int | None
    cgroup_limit_bytes: int | None
    usable_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class JupyterHubLimits(Record):
    """What the spawner declared (``MEM_LIMIT`` / ``CPU_LIMIT``); it may or may not be enforced."""

    mem_limit_bytes: int | None
    cpu_limit: float | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class Capacity(Record):
    """The contract's ``capacity`` object."""

    logical_cpus: int | None
    affinity_cpus: int | None
    cgroup: CgroupLimits
    usable_cores: float | None
    memory: MemoryCapacity
    jupyterhub: JupyterHubLimits
    thread_env: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class _Hierarchy(Record):
    """Where each controller's files are for this process: its cgroup directory first, the root last."""

    version: int
    chains: Mapping[str, tuple[str, ...]]


def is_live(roots: Roots) -> bool:
    """True when the probes read this machine's own /proc, so process-level calls describe it too."""
    return roots.live


def parse_cpu_list(text: str) -> int | None:
    """Count the CPUs in a kernel CPU list such as ``0-3,8,10-11``; an empty list means "inherited"."""
    text = text.strip()
    if not text:
        return None
    count = 0
    for part in text.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high < low:
            raise ValueError(f"CPU range {part!r} runs backwards")
        count += high - low + 1
    return count


def parse_cpu_max(text: str) -> float | None:
    """cgroup v2 ``cpu.max``: ``max 100000`` is no limit, ``200000 100000`` is two cores."""
    fields = text.split()
    if len(fields) not in (1, 2):
        raise ValueError(f"cpu.max {text.strip()!r} is not 'max|QUOTA [PERIOD]'")
    if fields[0] == "max":
        return None
    period = int(fields[1]) if len(fields) == 2 else 100_000
    return _quota_cores(int(fields[0]), period)


def _quota_cores(quota: int, period: int) -> float | None:
    if quota < 0:
        return None
    if quota == 0 or period <= 0:
        raise ValueError(f"CPU quota {quota} per period {period} is not a usable limit")
    return quota / period


def parse_memory_limit(text: str) -> int | None:
    """``memory.max`` / ``memory.limit_in_bytes``: ``max``, -1 and near-2**63 values mean no limit."""
    text = text.strip()
    if text == "max":
        return None
    value = int(text)
    if value == -1 or value >= _UNLIMITED_FLOOR:
        return None
    if value < 0:
        raise ValueError(f"memory limit {text!r} is negative")
    return value


def _parsed(path: str, parse: Callable[[str], T]) -> T:
    """Parse one small file; a bad value's error names the file it came from."""
    text = read_text(path, limit=4096).strip()
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _v2_cpu_quota(directory: str) -> float | None:
    return _parsed(os.path.join(directory, "cpu.max"), parse_cpu_max)


def _v1_cpu_quota(directory: str) -> float | None:
    quota = _parsed(os.path.join(directory, "cpu.cfs_quota_us"), int)
    if quota == -1:
        return None
    return _quota_cores(quota, _parsed(os.path.join(directory, "cpu.cfs_period_us"), int))


def _cpuset_reader(effective: str, configured: str) -> Callable[[str], int | None]:
    """The effective list already folds in the parents; the configured one is the fallback."""

    def read(directory: str) -> int | None:
        try:
            return _parsed(os.path.join(directory, effective), parse_cpu_list)
        except FileNotFoundError:
            return _parsed(os.path.join(directory, configured), parse_cpu_list)

    return read


def _memory_reader(filename: str) -> Callable[[str], int | None]:
    return lambda directory: _parsed(os.path.join(directory, filename), parse_memory_limit)


_READERS: Mapping[int, Mapping[str, Callable[[str], float | int | None]]] = {
    2: {
        "cpu": _v2_cpu_quota,
        "cpuset": _cpuset_reader("cpuset.cpus.effective", "cpuset.cpus"),
        "memory": _memory_reader("memory.max"),
    },
    1: {
        "cpu": _v1_cpu_quota,
        "cpuset": _cpuset_reader("cpuset.effective_cpus", "cpuset.cpus"),
        "memory": _memory_reader("memory.limit_in_bytes"),
    },
}


def _chain(mount: str, cgroup_path: str) -> tuple[str, ...]:
    """Directories from the process's cgroup up to the mount point.

    Without a cgroup namespace a container sees its full host path in /proc/self/cgroup while its
    cgroup filesystem is mounted at that very cgroup; dropping leading components until the
    directory exists finds it in both cases.
    """
    parts = [part for part in cgroup_path.split("/") if part]
    while parts and not os.path.isdir(os.path.join(mount, *parts)):
        parts.pop(0)
    return tuple(os.path.join(mount, *parts[:depth]) for depth in range(len(parts), -1, -1))


def _find_hierarchy(roots: Roots, rec: Recorder) -> _Hierarchy | None:
    membership = roots.proc("self", "cgroup")
    base = roots.sys("fs", "cgroup")
    if not os.path.exists(membership):
        rec.note("capacity.cgroup", str(membership), "absent: the process belongs to no cgroup")
        return None
    text = rec.run("capacity.cgroup", str(membership), lambda: read_text(membership), "")
    entries = [line.split(":", 2) for line in text.splitlines() if line.count(":") >= 2]
    if os.path.exists(os.path.join(base, "cgroup.controllers")):
        path = next((path for hierarchy, _, path in entries if hierarchy == "0"), "/")
        chain = _chain(base, path)
        return _Hierarchy(2, {controller: chain for controller in _CONTROLLERS})
    chains: dict[str, tuple[str, ...]] = {}
    for controller in _CONTROLLERS:
        for _, names, path in entries:
            if controller in names.split(","):
                mounts = [os.path.join(base, controller), os.path.join(base, names)]
                mount = next((candidate for candidate in mounts if os.path.isdir(candidate)), None)
                if mount is not None:
                    chains[controller] = _chain(mount, path)
                break
    if not chains:
        rec.note("capacity.cgroup", str(base), "no cgroup v2 or v1 controller found for this process")
        return None
    return _Hierarchy(1, chains)


def _tightest(hierarchy: _Hierarchy | None, controller: str, rec: Recorder) -> float | int | None:
    """The smallest limit set anywhere on the path; unreadable levels are named in diagnostics."""
    if hierarchy is None or controller not in hierarchy.chains:
        return None
    chain = hierarchy.chains[controller]
    reader = _READERS[hierarchy.version][controller]
    start = time.perf_counter()
    limits: list[float | int] = []
    errors: list[str] = []
    for directory in chain:
        try:
            limit = reader(directory)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if limit is not None:
            limits.append(limit)
    elapsed = (time.perf_counter() - start) * 1000
    rec.note(f"capacity.cgroup.{controller}", str(chain[0]), "; ".join(errors) or None, ms=elapsed)
    return min(limits, default=None)


def _meminfo(roots: Roots, rec: Recorder) -> tuple[int | None, int | None]:
    """MemTotal and MemAvailable in bytes; without /proc, the page count the OS reports."""
    path = roots.proc("meminfo")

    def parse() -> tuple[int | None, int | None]:
        fields: dict[str, int] = {}
        for line in read_text(path, limit=65536).splitlines():
            name, _, rest = line.partition(":")
            amount = rest.split()
            if len(amount) == 2 and amount[1] == "kB":
                fields[name] = int(amount[0]) * 1024
        if "MemTotal" not in fields:
            raise ValueError("no MemTotal line")
        return fields["MemTotal"], fields.get("MemAvailable")

    if not os.path.exists(path) and is_live(roots):
        return rec.run("capacity.memory", "os.sysconf(SC_PHYS_PAGES)", _physical_pages, None), None
    unknown: tuple[int | None, int | None] = (None, None)
    return rec.run("capacity.memory", str(path), parse, unknown)


def _physical_pages() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _logical_cpus(roots: Roots, rec: Recorder) -> int | None:
    online = roots.sys("devices", "system", "cpu", "online")
    if not os.path.exists(online) and is_live(roots):
        return rec.run("capacity.cpus", "os.cpu_count()", os.cpu_count, None)
    return rec.run("capacity.cpus", str(online), lambda: _parsed(online, parse_cpu_list), None)


def _affinity_cpus(roots: Roots, rec: Recorder) -> int | None:
    """The CPUs the scheduler lets this process run on (taskset, numactl, container cpusets)."""
    if is_live(roots):
        return rec.run(
            "capacity.affinity", "os.sched_getaffinity(0)", lambda: len(os.sched_getaffinity(0)), None
        )
    status = roots.proc("self", "status")

    def parse() -> int | None:
        for line in read_text(status, limit=65536).splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return parse_cpu_list(line.partition(":")[2])
        raise ValueError("no Cpus_allowed_list line")

    return rec.run("capacity.affinity", str(status), parse, None)


def _declared(environ: Mapping[str, str], name: str, parse: Callable[[str], N], rec: Recorder) -> N | None:
    """A positive number from the environment; a bad one is reported, never trusted."""
    text = environ.get(name)
    if text is None or not text.strip():
        return None

    def checked() -> N:
        value = parse(text.strip())
        if value <= 0:
            raise ValueError(f"{name}={text!r} is not positive")
        return value

    return rec.run("capacity.jupyterhub", f"env:{name}", checked, None)


def _sane_memory_limit(limit: float | int | None, total: int | None, rec: Recorder) -> int | None:
    """A limit above physical memory cannot bind: say so and report no limit."""
    if limit is None:
        return None
    if total is not None and limit > total:
        message = f"cgroup limit {int(limit)} exceeds physical memory {total}: treated as no limit"
        rec.note("capacity.cgroup.memory", "cgroup memory limit", message)
        return None
    return int(limit)


def _smallest(*values: float | int | None) -> float | int | None:
    return min((value for value in values if value is not None), default=None)


def probe_capacity(roots: Roots, rec: Recorder, environ: Mapping[str, str] | None = None) -> Capacity:
    """The contract's ``capacity`` object; never raises, missing facts are None with a diagnostic."""
    env = os.environ if environ is None else environ
    hierarchy = _find_hierarchy(roots, rec)
    logical = _logical_cpus(roots, rec)
    affinity = _affinity_cpus(roots, rec)
    quota = _tightest(hierarchy, "cpu", rec)
    cpuset = _tightest(hierarchy, "cpuset", rec)
    total, available = _meminfo(roots, rec)
    memory_limit = _sane_memory_limit(_tightest(hierarchy, "memory", rec), total, rec)
    usable_cores = _smallest(logical, affinity, quota, cpuset)
    usable_memory = _smallest(total, memory_limit)
    thread_vars: list[str] = data_table("system.json")["thread_env_vars"]
    return Capacity(
        logical_cpus=logical,
        affinity_cpus=affinity,
        cgroup=CgroupLimits(
            version=hierarchy.version if hierarchy else None,
            cpu_quota_cores=None if quota is None else float(quota),
            cpuset_cpus=None if cpuset is None else int(cpuset),
            memory_limit_bytes=memory_limit,
        ),
        usable_cores=None if usable_cores is None else float(usable_cores),
        memory=MemoryCapacity(
            total_bytes=total,
            available_bytes=available,
            cgroup_limit_bytes=memory_limit,
            usable_bytes=None if usable_memory is None else int(usable_memory),
        ),
        jupyterhub=JupyterHubLimits(
            mem_limit_bytes=_declared(env, "MEM_LIMIT", int, rec),
            cpu_limit=_declared(env, "CPU_LIMIT", float, rec),
        ),
        thread_env=MappingProxyType({name: env[name] for name in thread_vars if name in env}),
    )
