"""Which operating system, libc and isolation layer this process runs in, and which machine it is.

The libc family and version decide which wheels and which python-build-standalone builds can load
at all; container and VM markers explain why the CPU or memory in the report may differ from the
hardware's datasheet; hostname and boot id tell a cached report from a stale one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._fs import Roots, read_first_line, read_text
from ._probe import UNKNOWN, Recorder
from ._runtime import uname
from ._values import Record, data_table, shaped
from .capacity import Capacity, is_live, probe_capacity
from .wheel_tags import top_tags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._fs import StrPath

__all__ = ["Capacity", "Detection", "Libc", "SystemInfo", "probe_capacity", "probe_system"]

_TOP_TAGS = 5


class Libc(Record):
    """The C library the interpreter is linked against ("glibc" / "musl" / "unknown")."""

    family: str
    version: str | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class Detection(Record):
    """Whether an isolation layer was found, which one, and the markers that say so."""

    detected: bool
    kind: str | None
    evidence: tuple[str, ...]

    @classmethod
    def from_markers(cls, markers: list[tuple[str, str | None]]) -> Detection:
        """Markers are (evidence, kind) in order of trust: the first kind named wins."""
        kind = next((kind for _, kind in markers if kind), None)
        return cls(bool(markers), kind, tuple(evidence for evidence, _ in markers))

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class SystemInfo(Record):
    """The contract's ``system`` object."""

    os: str
    os_release: str
    kernel: str
    libc: Libc
    platform_tags: tuple[str, ...]
    container: Detection
    virtualization: Detection
    hostname: str
    boot_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


def _os_release(rootfs: str, system: str) -> str:
    """The distribution's PRETTY_NAME (os-release(5)), or the macOS / Windows product version."""
    if system in ("Darwin", "Windows"):
        import platform

        if system == "Darwin":
            return f"macOS {platform.mac_ver()[0]}"
        return f"Windows {platform.release()} ({platform.version()})"
    candidates = [os.path.join(rootfs, "etc", "os-release"), os.path.join(rootfs, "usr", "lib", "os-release")]
    path = next((candidate for candidate in candidates if os.path.exists(candidate)), candidates[0])
    fields: dict[str, str] = {}
    for line in read_text(path, limit=65536).splitlines():
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip()] = value.strip().strip("\"'")
    pretty = fields.get("PRETTY_NAME") or " ".join(
        filter(None, (fields.get("NAME"), fields.get("VERSION_ID")))
    )
    if not pretty:
        raise ValueError(f"{path} names no PRETTY_NAME, NAME or VERSION_ID")
    return pretty


def _libc() -> Libc:
    """glibc answers confstr; musl is found the way installers find it, through the ELF loader.

    packaging reads the interpreter's PT_INTERP loader and asks it for its version to build the
    ``musllinux_X_Y`` tags, so the first such tag carries the musl version.
    """
    try:
        gnu = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        gnu = None
    if gnu:
        family, _, version = gnu.partition(" ")
        return Libc(family, version or None)
    from packaging.tags import platform_tags

    for tag in platform_tags():
        if tag.startswith("musllinux_"):
            major, minor = tag.split("_")[1:3]
            return Libc("musl", f"{major}.{minor}")
    import platform

    family, version = platform.libc_ver()
    if family:
        return Libc(family, version or None)
    raise LookupError("no glibc confstr, no musl loader, no libc marker in the interpreter")


def _container(roots: Roots, rec: Recorder, env: Mapping[str, str], rootfs: str) -> Detection:
    table = data_table("system.json")
    markers: list[tuple[str, str | None]] = []
    for variable, kind in table["container_env"]:
        if env.get(variable):
            markers.append((variable, kind))
    if env.get("container"):
        markers.append((f"container={env['container']}", env["container"]))
    init_cgroup = roots.proc("1", "cgroup")
    if os.path.exists(init_cgroup):
        text = rec.run("system.container", str(init_cgroup), lambda: read_text(init_cgroup), "").lower()
        for marker, kind in table["container_cgroup_markers"]:
            if marker in text:
                markers.append((f"/proc/1/cgroup mentions {marker}", kind))
                break
    for name, kind in table["container_files"]:
        if os.path.exists(os.path.join(rootfs, name.lstrip("/"))):
            markers.append((name, kind))
    return Detection.from_markers(markers)


def _cpu_flags_first_cpu(roots: Roots) -> set[str]:
    """The flags line of the first CPU (the hypervisor bit is the same on all of them)."""
    for line in read_text(roots.proc("cpuinfo"), limit=65536).splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return set(value.split())
    return set()


def _optional_line(path: str, rec: Recorder, probe: str = "system.virtualization") -> str | None:
    """A marker file's first line; its absence is an answer, not a failure."""
    if not os.path.exists(path):
        return None
    return rec.run(probe, str(path), lambda: read_first_line(path) or None, None)


def _virtualization(roots: Roots, rec: Recorder) -> Detection:
    markers: list[tuple[str, str | None]] = []
    dmi_fields = [
        _optional_line(roots.sys("class", "dmi", "id", name), rec) for name in ("sys_vendor", "product_name")
    ]
    dmi = " ".join(field for field in dmi_fields if field)
    for marker, kind in data_table("system.json")["vm_dmi_markers"]:
        if marker in dmi.lower():
            markers.append((f"DMI: {dmi}", kind))
            break
    hypervisor = _optional_line(roots.sys("hypervisor", "type"), rec)
    if hypervisor:
        markers.append((f"/sys/hypervisor/type: {hypervisor}", hypervisor))
    cpuinfo = roots.proc("cpuinfo")
    if os.path.exists(cpuinfo) and "hypervisor" in rec.run(
        "system.virtualization", str(cpuinfo), lambda: _cpu_flags_first_cpu(roots), set[str]()
    ):
        markers.append(("CPU flag hypervisor", None))
    return Detection.from_markers(markers)


def _proc_or_live(roots: Roots, rec: Recorder, probe: str, parts: tuple[str, ...], live: str) -> str:
    """A kernel fact from /proc/sys, or from the running process when /proc is this machine's own."""
    if is_live(roots) and live:
        return live
    path = roots.proc(*parts)
    return rec.run(probe, str(path), lambda: read_text(path, limit=4096).strip() or UNKNOWN, UNKNOWN)


def probe_system(
    roots: Roots, rec: Recorder, environ: Mapping[str, str] | None = None, *, rootfs: StrPath = "/"
) -> SystemInfo:
    """The contract's ``system`` object; never raises. ``rootfs`` holds /etc and the container markers."""
    env = os.environ if environ is None else environ
    root = os.fspath(rootfs)
    boot_id_path = roots.proc("sys", "kernel", "random", "boot_id")
    if not os.path.exists(boot_id_path):
        rec.note("system.boot_id", str(boot_id_path), "absent")
    libc = rec.run("system.libc", "os.confstr / packaging.tags", _libc, Libc(UNKNOWN, None))
    live = uname()
    return SystemInfo(
        os=live.system or UNKNOWN,
        os_release=rec.run(
            "system.os_release",
            os.path.join(root, "etc", "os-release"),
            lambda: _os_release(root, live.system),
            UNKNOWN,
        ),
        kernel=_proc_or_live(roots, rec, "system.kernel", ("sys", "kernel", "osrelease"), live.release),
        libc=libc,
        platform_tags=rec.run(
            "system.platform_tags",
            "sys_tags() head",
            lambda: top_tags(_TOP_TAGS, libc.family, libc.version),
            (),
        ),
        container=_container(roots, rec, env, root),
        virtualization=_virtualization(roots, rec),
        hostname=_proc_or_live(roots, rec, "system.hostname", ("sys", "kernel", "hostname"), live.node),
        boot_id=_optional_line(boot_id_path, rec, "system.boot_id"),
    )
