"""The host facts the other wings decide by, as one immutable typed value.

The report (``report.py``) is the JSON contract: every section, shaped for people and other tools.
The wings need a few dozen of its facts (the CPU's family and level, the libc, the accelerators'
drivers, the interpreter's build), and reading them back by string key in each wing let every
reader guess a default of its own. :class:`HostFacts` holds them typed. The report makes it for
this process from the probes' own values (:meth:`HostFacts.of`); :meth:`HostFacts.from_dict`
reads it from a report that crossed a process boundary (a kernel's answer, ``--host-report FILE``,
``profile --from-report``), raising only :class:`HostReportError`. A report may omit whole
sections (older versions, other tools): what is missing is unknown, never guessed.
"""

from __future__ import annotations

__all__ = [
    "AcceleratorFacts",
    "CapacityFacts",
    "Device",
    "HostFacts",
    "HostReportError",
    "ProcessorFacts",
    "PythonFacts",
    "SystemFacts",
]

from collections.abc import Mapping

from ..errors import HostError
from ._fields import flag, number, objects, section, text, texts
from ._values import Record, shaped
from .cpu_archspec import Refusal
from .cpu_levels import normalize_arch

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sys
    from typing import Any

    if sys.version_info >= (3, 11):
        from typing import Self
    else:  # mypy --python-version 3.10: the backport mypy brings
        from typing_extensions import Self

    from .capacity import Capacity
    from .cpu import CpuInfo
    from .gpu_common import Accelerator
    from .interpreter import InterpreterInfo
    from .report import Scope
    from .system import SystemInfo

UNKNOWN = "unknown"


class HostReportError(HostError, ValueError):
    """A host report that cannot be read: it names the field and what is wrong with it."""


def _known(value: str | None) -> str | None:
    """The fact, or None where the report writes ``unknown`` (or nothing) for one it could not find."""
    return None if value in (None, "", UNKNOWN) else value


class ProcessorFacts(Record):
    """Architecture (and its level family), identity, level, features, and the cross-checks."""

    arch: str | None = None
    family: str | None = None
    vendor: str | None = None
    model: str | None = None
    level: str | None = None
    next_level: str | None = None
    missing: tuple[str, ...] = ()
    """Features this CPU lacks for ``next_level``."""
    features: tuple[str, ...] = ()
    microarchitecture: str | None = None
    hwcaps_level: str | None = None
    hwcaps_agrees: bool | None = None
    """Whether glibc's loader names the same level as the flags (None: not asked)."""
    refused: tuple[Refusal, ...] = ()
    """Microarchitectures archspec did not match, and the features each missed."""

    @classmethod
    def of(cls, info: CpuInfo) -> Self:
        arch = _known(info.arch)
        return cls(
            arch=arch,
            family=normalize_arch(arch) if arch else None,
            vendor=_known(info.vendor),
            model=_known(info.model),
            level=_known(info.isa_level),
            next_level=info.isa_next_level,
            missing=info.isa_level_missing,
            features=info.features,
            microarchitecture=info.archspec.microarchitecture if info.archspec else None,
            hwcaps_level=info.glibc_hwcaps.level,
            hwcaps_agrees=info.glibc_hwcaps.agrees,
            refused=info.archspec.refused if info.archspec else (),
        )

    @classmethod
    def from_dict(cls, cpu: Mapping[str, Any]) -> Self:
        where = "cpu."
        hwcaps = section(cpu, "glibc_hwcaps", where)
        archspec = section(cpu, "archspec", where)
        refused = tuple(
            Refusal(
                text(item, "target", f"{where}archspec.refused[].") or UNKNOWN,
                texts(item, "missing", f"{where}archspec.refused[]."),
            )
            for item in objects(archspec, "refused", f"{where}archspec.")
        )
        arch = _known(text(cpu, "arch", where))
        return cls(
            arch=arch,
            family=normalize_arch(arch) if arch else None,
            vendor=_known(text(cpu, "vendor", where)),
            model=_known(text(cpu, "model", where)),
            level=_known(text(cpu, "isa_level", where)),
            next_level=text(cpu, "isa_next_level", where),
            missing=texts(cpu, "isa_level_missing", where),
            features=texts(cpu, "features", where),
            microarchitecture=text(archspec, "microarchitecture", f"{where}archspec."),
            hwcaps_level=text(hwcaps, "level", f"{where}glibc_hwcaps."),
            hwcaps_agrees=flag(hwcaps, "agrees", f"{where}glibc_hwcaps."),
            refused=refused,
        )


class SystemFacts(Record):
    """The operating system, its kernel, the C library and the wheel tags this interpreter takes."""

    os: str | None = None
    kernel: str | None = None
    libc_family: str | None = None
    libc_version: str | None = None
    hostname: str | None = None
    platform_tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, info: SystemInfo) -> Self:
        return cls(
            os=_known(info.os),
            kernel=_known(info.kernel),
            libc_family=_known(info.libc.family),
            libc_version=_known(info.libc.version),
            hostname=_known(info.hostname),
            platform_tags=info.platform_tags,
        )

    @classmethod
    def from_dict(cls, system: Mapping[str, Any]) -> Self:
        where = "system."
        libc = section(system, "libc", where)
        return cls(
            os=_known(text(system, "os", where)),
            kernel=_known(text(system, "kernel", where)),
            libc_family=_known(text(libc, "family", f"{where}libc.")),
            libc_version=_known(text(libc, "version", f"{where}libc.")),
            hostname=_known(text(system, "hostname", where)),
            platform_tags=texts(system, "platform_tags", where),
        )


class CapacityFacts(Record):
    """How much of the machine this process may use."""

    logical_cpus: float | None = None
    usable_cores: float | None = None
    memory_bytes: float | None = None
    memory_limit_bytes: float | None = None
    """The cgroup's memory limit (None: none)."""

    @classmethod
    def of(cls, capacity: Capacity) -> Self:
        memory = capacity.memory
        return cls(
            capacity.logical_cpus, capacity.usable_cores, memory.total_bytes, memory.cgroup_limit_bytes
        )

    @classmethod
    def from_dict(cls, capacity: Mapping[str, Any]) -> Self:
        where = "capacity."
        memory = section(capacity, "memory", where)
        return cls(
            logical_cpus=number(capacity, "logical_cpus", where),
            usable_cores=number(capacity, "usable_cores", where),
            memory_bytes=number(memory, "total_bytes", f"{where}memory."),
            memory_limit_bytes=number(memory, "cgroup_limit_bytes", f"{where}memory."),
        )


class Device(Record):
    """One accelerator device: whether CUDA programs see it, and what it runs."""

    visible: bool = True
    compute_capability: str | None = None
    gfx_target: str | None = None


class AcceleratorFacts(Record):
    """One vendor's accelerators, its driver's state and the versions the driver offers."""

    vendor: str
    status: str = UNKNOWN
    reason: str | None = None
    cuda_driver_version: str | None = None
    rocm_version: str | None = None
    rosetta: bool = False
    devices: tuple[Device, ...] = ()

    @classmethod
    def of(cls, accelerator: Accelerator) -> Self:
        from .gpu_common import AmdAccelerator, AppleAccelerator, NvidiaAccelerator

        found = cls(accelerator.vendor, accelerator.status, accelerator.reason)
        if isinstance(accelerator, NvidiaAccelerator):
            devices = tuple(Device(d.visible, d.compute_capability) for d in accelerator.devices)
            return found._replace(cuda_driver_version=accelerator.cuda_driver_version, devices=devices)
        if isinstance(accelerator, AmdAccelerator):
            devices = tuple(Device(gfx_target=d.gfx_target) for d in accelerator.devices)
            return found._replace(rocm_version=accelerator.rocm_version, devices=devices)
        if isinstance(accelerator, AppleAccelerator):
            return found._replace(rosetta=bool(accelerator.rosetta))
        return found._replace(devices=tuple(Device() for _ in accelerator.devices))

    @classmethod
    def from_dict(cls, accelerator: Mapping[str, Any], index: int) -> Self:
        where = f"accelerators[{index}]."
        devices = tuple(
            Device(
                visible=flag(device, "visible", f"{where}devices[].") is not False,
                compute_capability=text(device, "compute_capability", f"{where}devices[]."),
                gfx_target=text(device, "gfx_target", f"{where}devices[]."),
            )
            for device in objects(accelerator, "devices", where)
        )
        return cls(
            vendor=text(accelerator, "vendor", where) or UNKNOWN,
            status=text(accelerator, "status", where) or UNKNOWN,
            reason=text(accelerator, "reason", where),
            cuda_driver_version=text(accelerator, "cuda_driver_version", where),
            rocm_version=text(accelerator, "rocm_version", where),
            rosetta=bool(flag(accelerator, "rosetta", where)),
            devices=devices,
        )


class PythonFacts(Record):
    """How the interpreter that made the report was built."""

    version: str | None = None
    implementation: str | None = None
    isa_level: str | None = None
    march: str | None = None
    debug: bool | None = None
    pgo: bool | None = None
    lto: bool | None = None
    real_executable: str | None = None

    @classmethod
    def of(cls, info: InterpreterInfo) -> Self:
        return cls(
            version=_known(info.version),
            implementation=_known(info.implementation),
            isa_level=_known(info.isa_level),
            march=info.march,
            debug=info.debug,
            pgo=info.pgo,
            lto=info.lto,
            real_executable=info.real_executable,
        )

    @classmethod
    def from_dict(cls, python: Mapping[str, Any]) -> Self:
        where = "python."
        return cls(
            version=_known(text(python, "version", where)),
            implementation=_known(text(python, "implementation", where)),
            isa_level=_known(text(python, "isa_level", where)),
            march=text(python, "march", where),
            debug=flag(python, "debug", where),
            pgo=flag(python, "pgo", where),
            lto=flag(python, "lto", where),
            real_executable=text(python, "real_executable", where),
        )

    def build(self) -> dict[str, Any]:
        """The build facts in the shape ``recommend.build_disagreements`` compares."""
        return shaped(self)


class HostFacts(Record):
    """What the wings decide by: the CPU, the system, capacity, accelerators, the interpreter."""

    scope: Scope = "kernel-host"
    cpu: ProcessorFacts = ProcessorFacts()
    system: SystemFacts = SystemFacts()
    capacity: CapacityFacts = CapacityFacts()
    accelerators: tuple[AcceleratorFacts, ...] = ()
    python: PythonFacts = PythonFacts()

    @classmethod
    def of(
        cls,
        scope: Scope,
        cpu: CpuInfo | None,
        system: SystemInfo | None,
        capacity: Capacity | None,
        accelerators: tuple[Accelerator, ...],
        python: InterpreterInfo | None,
    ) -> Self:
        """The facts of the probes' values (None: that probe failed, its facts are unknown)."""
        return cls(
            scope=scope,
            cpu=ProcessorFacts.of(cpu) if cpu else ProcessorFacts(),
            system=SystemFacts.of(system) if system else SystemFacts(),
            capacity=CapacityFacts.of(capacity) if capacity else CapacityFacts(),
            accelerators=tuple(AcceleratorFacts.of(a) for a in accelerators),
            python=PythonFacts.of(python) if python else PythonFacts(),
        )

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """The facts of a report as ``cpuinfo --json`` prints it; :class:`HostReportError` if it is
        not one (any missing section or field is unknown)."""
        if not isinstance(data, Mapping):
            raise HostReportError(f"a host report is one JSON object, not {type(data).__name__}")
        scope = data.get("scope", "kernel-host")
        if scope not in ("kernel-host", "server-host"):
            raise HostReportError(f"scope must be 'kernel-host' or 'server-host', not {scope!r}")
        return cls(
            scope=scope,
            cpu=ProcessorFacts.from_dict(section(data, "cpu", "")),
            system=SystemFacts.from_dict(section(data, "system", "")),
            capacity=CapacityFacts.from_dict(section(data, "capacity", "")),
            accelerators=tuple(
                AcceleratorFacts.from_dict(item, index)
                for index, item in enumerate(objects(data, "accelerators", ""))
            ),
            python=PythonFacts.from_dict(section(data, "python", "")),
        )

    def accelerator(self, vendor: str) -> AcceleratorFacts | None:
        """The report's entry for ``vendor``'s accelerators, if it has one."""
        return next((a for a in self.accelerators if a.vendor == vendor), None)
