"""The CPU section of the host report: architecture, vendor, model and instruction-set level.

The level comes from the kernel-filtered feature flags intersected over every CPU (what a process
may really use), is cross-checked against glibc's own verdict, and is enriched with archspec's
microarchitecture name and compiler flags. Nothing here raises or prints: each step runs through
the ``Recorder`` and a failure leaves "unknown" with its reason in the diagnostics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ._fs import Roots, read_first_line, read_text
from ._probe import UNKNOWN, Recorder
from ._runtime import uname
from ._values import Record, shaped
from .cpu_archspec import ArchspecMatch, match
from .cpu_facts import CpuFacts, facts_from_cpuinfo, facts_from_sysctl, read_darwin_sysctl, read_windows
from .cpu_hwcaps import GlibcHwcaps, ask_loader
from .cpu_levels import LevelVerdict, extension_groups, judge, normalize_arch

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class CpuInfo(Record):
    """The contract's ``cpu`` object."""

    arch: str
    vendor: str
    model: str
    isa_level: str
    isa_level_missing: tuple[str, ...]
    isa_next_level: str | None
    features: tuple[str, ...]
    extensions: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    sve_vector_length_bits: int | None = None
    glibc_hwcaps: GlibcHwcaps = GlibcHwcaps()
    archspec: ArchspecMatch | None = None

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


def probe_cpu(roots: Roots, rec: Recorder, machine: str | None = None) -> CpuInfo:
    """Describe the CPU; ``machine`` (``uname -m``) names the architecture of a replayed procfs.

    Without ``machine``, a replayed procfs is the machine its cpuinfo shows, whatever runs the probe.
    """
    live = uname()
    # glibc's loader runs while everything else here is read; its answer is awaited last.
    glibc = _ask_glibc(roots, rec, machine, live.system, live.machine)
    verdict: LevelVerdict | None = None
    try:
        facts = _read_facts(roots, rec, machine, live.system, live.machine)
        verdict = rec.run("cpu.level", f"{facts.family} level rules", lambda: _judge(facts), None)
        if verdict is not None and verdict.reason:
            rec.note("cpu.level", f"{facts.family} level rules", verdict.reason)
        info = CpuInfo(
            arch=facts.arch,
            vendor=facts.vendor,
            model=facts.model,
            isa_level=(verdict.level if verdict else None) or UNKNOWN,
            isa_level_missing=verdict.missing if verdict else (),
            isa_next_level=verdict.next_level if verdict else None,
            features=tuple(sorted(facts.features)),
            extensions=rec.run(
                "cpu.extensions",
                "feature groups",
                lambda: extension_groups(facts.family, facts.features),
                MappingProxyType({}),
            ),
            sve_vector_length_bits=_sve_vector_length(roots, rec, facts),
            archspec=rec.run("cpu.archspec", "archspec microarchitectures.json", lambda: match(facts), None),
        )
    finally:
        glibc_verdict = glibc(verdict.level if verdict else None)
    return info._replace(glibc_hwcaps=glibc_verdict)


def _judge(facts: CpuFacts) -> LevelVerdict:
    return judge(facts.family, facts.features, facts.generation, facts.level_blocker)


def _read_facts(roots: Roots, rec: Recorder, asked: str | None, system: str, live_machine: str) -> CpuFacts:
    cpuinfo = roots.proc("cpuinfo")
    machine = asked or live_machine
    family = normalize_arch(machine)
    unknown = CpuFacts(arch=family, family=family)
    if system == "Darwin" and not os.path.exists(cpuinfo):
        values: dict[str, str] = rec.run("cpu.sysctl", "sysctlbyname", read_darwin_sysctl, {})
        return facts_from_sysctl(values, machine)
    if system == "Windows" and not os.path.exists(cpuinfo):
        return rec.run("cpu.windows", "IsProcessorFeaturePresent", lambda: read_windows(machine), unknown)
    text = rec.run("cpu.cpuinfo", str(cpuinfo), lambda: read_text(cpuinfo), None)
    if text is None:
        return unknown
    shown = asked if asked or not roots.live else live_machine
    return rec.run("cpu.cpuinfo", f"parse {cpuinfo}", lambda: facts_from_cpuinfo(text, shown), unknown)


def _sve_vector_length(roots: Roots, rec: Recorder, facts: CpuFacts) -> int | None:
    """The default SVE vector length new processes get, from bytes in /proc/sys/abi."""
    if "sve" not in facts.features:
        return None
    path = roots.proc("sys", "abi", "sve_default_vector_length")

    def read_bits() -> int | None:
        if not os.path.exists(path):
            rec.note("cpu.sve", str(path), "absent: SVE vector length unknown")
            return None
        length = int(read_first_line(path)) * 8
        if length <= 0 or length % 128:
            raise ValueError(f"{length} bits is not an SVE vector length")
        return length

    return rec.run("cpu.sve", str(path), read_bits, None)


def _ask_glibc(
    roots: Roots, rec: Recorder, asked: str | None, system: str, live_machine: str
) -> Callable[[str | None], GlibcHwcaps]:
    """Start glibc's verdict, which only applies to the machine it runs on, before reading the CPU."""
    family = normalize_arch(asked or live_machine)
    if system != "Linux":
        reason = f"not applicable: {system} does not use glibc"
    elif not roots.live:
        reason = f"not applicable: CPU facts replayed from {roots.procfs}, not this machine"
    elif family != normalize_arch(live_machine):
        reason = f"not applicable: facts describe {family}, this process runs on {live_machine}"
    else:
        return ask_loader(family, rec)
    return lambda _level: GlibcHwcaps(reason=reason)
