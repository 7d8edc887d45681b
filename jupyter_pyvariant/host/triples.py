"""Which python-build-standalone target triples a host can run, best first, and uv's name for them.

The triple table is data (``data/triples.json``); this module only walks it with the host's OS,
architecture, libc and ISA level.
"""

from __future__ import annotations

__all__ = ["BuildTarget", "level_flag", "platform_targets", "runnable_targets", "target_for_triple", "uv_key"]

from functools import cache

from ._values import Record, data_table
from .cpu_levels import level_family, level_names, runs_on

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .facts import HostFacts


def _table() -> dict[str, Any]:
    table: dict[str, Any] = data_table("triples.json")
    return table


class BuildTarget(Record):
    """One triple this host can run, with the ISA level it needs (None: no level split)."""

    triple: str
    level: str | None
    libc: str | None


def level_flag(level: str) -> str:
    """How ``--level``, uv and the x86-64 provider spell a level: without the words every level of
    its ladder shares (``x86-64-v3`` → ``v3``)."""
    family = level_family(level)
    if family is None:
        return level
    ladder = [name.split("-") for name in level_names(family)]
    shared = 0
    while all(len(words) > shared + 1 and words[shared] == ladder[0][shared] for words in ladder):
        shared += 1
    return "-".join(level.split("-")[shared:])


def platform_targets(facts: HostFacts) -> list[BuildTarget]:
    """Every triple built for the host's OS, architecture and libc, best level first.

    Unlike :func:`runnable_targets` this ignores the CPU's level: filling a store for other machines
    of the same platform needs the levels this one cannot run.
    """
    os_name = (facts.system.os or "").lower()
    entry = _table().get(os_name, {}).get(facts.cpu.arch or "")
    if not entry:
        return []
    libc = facts.system.libc_family or "gnu"
    libc = {"glibc": "gnu"}.get(libc, libc)
    key = "any" if "any" in entry else libc
    pattern = entry.get(key)
    if pattern is None:
        return []
    libc_name = None if key == "any" else key
    levels: dict[str, str] = entry.get("levels", {})
    if not levels:
        return [BuildTarget(pattern, None, libc_name)]
    family = level_family(next(iter(levels)))
    best_first = reversed(level_names(family)) if family else ()
    return [BuildTarget(pattern.format(arch=levels[n]), n, libc_name) for n in best_first if n in levels]


def runnable_targets(facts: HostFacts) -> list[BuildTarget]:
    """Triples this host runs, best first (highest level the CPU supports first; only the lowest level
    when the CPU's level is unknown)."""
    cpu_level = facts.cpu.level or "unknown"
    targets = platform_targets(facts)
    return [t for t in targets if t.level is None or runs_on(t.level, cpu_level) or _baseline(t, cpu_level)]


def _baseline(target: BuildTarget, cpu_level: str) -> bool:
    """The lowest level of the target's ladder, for a CPU whose level that ladder does not know."""
    family = level_family(target.level or "")
    return family is not None and level_family(cpu_level) != family and target.level == level_names(family)[0]


@cache
def _targets_by_triple() -> dict[str, BuildTarget]:
    """Every triple of the table, mapped back to its level and libc (the table read backwards)."""
    known: dict[str, BuildTarget] = {}
    for os_name, arches in _table().items():
        if os_name.startswith("_") or os_name.startswith("uv_"):
            continue
        for entry in arches.values():
            levels: dict[str, str] = entry.get("levels", {})
            for key, pattern in entry.items():
                if key == "levels":
                    continue
                libc = None if key == "any" else key
                if levels:
                    for level, arch in levels.items():
                        known[pattern.format(arch=arch)] = BuildTarget(pattern.format(arch=arch), level, libc)
                else:
                    known[pattern] = BuildTarget(pattern, None, libc)
    return known


def target_for_triple(triple: str) -> BuildTarget | None:
    """The level and libc a published triple stands for; None for a triple the table does not know."""
    return _targets_by_triple().get(triple)


def uv_key(facts: HostFacts, version: str, target: BuildTarget) -> str:
    """The download key a uv user would type, e.g. ``cpython-3.13-linux-x86_64_v4-gnu``."""
    table = _table()
    os_name = table["uv_os"].get((facts.system.os or "").lower(), "unknown")
    arch = table["uv_arch"].get(facts.cpu.arch or "", "unknown")
    family = level_family(target.level or "")
    if target.level and family and target.level != level_names(family)[0]:  # the baseline has no suffix
        arch = f"{arch}_{level_flag(target.level)}"
    libc = {"gnu": "gnu", "musl": "musl", None: "none"}.get(target.libc, "none")
    return f"cpython-{version}-{os_name}-{arch}-{libc}"
