"""archspec's microarchitecture names and compiler flags, matched against OUR parsed features.

``import archspec.cpu`` costs 25-40 ms and reads only the first CPU of /proc/cpuinfo, so this module
loads archspec's shipped ``microarchitectures.json`` (found without importing archspec's code; about
2 ms to parse, once per process) and applies archspec's own selection rules to the features
intersected over every CPU. It also says why a vendor-specific target was refused: a VM that hides
one niche flag otherwise silently drops the answer to a generic level.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from ._runtime import find_spec
from ._values import Record, shaped
from .cpu_facts import CpuFacts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_GENERIC = "generic"
_COMPILERS = ("gcc", "clang")
_NUMBERED = r"^(\D+)(\d+)$"


class Refusal(Record):
    target: str
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class ArchspecMatch(Record):
    """The best archspec target, its generic level, flags for the newest gcc/clang, and near misses."""

    microarchitecture: str
    generic: str
    vendor: str
    compiler_flags: Mapping[str, str] = MappingProxyType({})
    refused: tuple[Refusal, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return shaped(self)


class Microarchitecture(Record):
    """One of archspec's named microarchitectures (``zen4``, ``neoverse_v2``), as read from its table."""

    name: str
    vendor: str
    features: frozenset[str]
    ancestors: tuple[str, ...]
    family: str
    generation: int
    cpu_part: str
    compilers: Mapping[str, tuple[Mapping[str, str], ...]]

    def rank(self) -> tuple[int, int]:
        """archspec's preference: deeper in the tree first, then more features."""
        return len(self.ancestors), len(self.features)


def microarchitectures_json() -> str:
    """archspec's data file, located without executing archspec's package code."""
    spec = find_spec("archspec")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("archspec is not installed")
    for location in spec.submodule_search_locations:
        candidate = os.path.join(location, "json", "cpu", "microarchitectures.json")
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("archspec ships no json/cpu/microarchitectures.json")


@cache
def _microarchitectures() -> Mapping[str, Any]:
    with open(microarchitectures_json(), encoding="utf-8") as handle:
        raw: Mapping[str, Any] = json.load(handle)["microarchitectures"]
    return raw


@cache
def targets(family: str) -> Mapping[str, Microarchitecture]:
    """archspec's targets of one family (``x86_64``, ``aarch64`` ...): a CPU needs only its own."""
    raw = _microarchitectures()
    ancestry: dict[str, tuple[str, ...]] = {}

    def ancestors_of(name: str) -> tuple[str, ...]:
        # The same order as archspec: parents first, then each parent's ancestors.
        if name not in ancestry:
            found: list[str] = list(raw[name]["from"])
            for parent in raw[name]["from"]:
                found.extend(a for a in ancestors_of(parent) if a not in found)
            ancestry[name] = tuple(found)
        return ancestry[name]

    built = {}
    for name, entry in raw.items():
        lineage = ancestors_of(name)
        root = next((a for a in lineage if not raw[a]["from"]), name)
        if root != family:
            continue
        built[name] = Microarchitecture(
            name=name,
            vendor=entry["vendor"],
            features=frozenset(entry["features"]),
            ancestors=lineage,
            family=root,
            generation=int(entry.get("generation", 0)),
            cpu_part=entry.get("cpupart", ""),
            compilers=MappingProxyType(
                {compiler: tuple(entries) for compiler, entries in entry.get("compilers", {}).items()}
            ),
        )
    return MappingProxyType(built)


def _archspec_features(facts: CpuFacts) -> frozenset[str]:
    """archspec spells SSE3 "sse3" where the kernel says "pni" (and derives it from SSSE3 too)."""
    if facts.family == "x86_64" and facts.features & {"pni", "ssse3"}:
        return facts.features | {"sse3"}
    return facts.features


def _exact_target(hint: str, known: Mapping[str, Microarchitecture]) -> Microarchitecture | None:
    """A target the source named; newer Apple chips fall back to the newest known ("m5" -> "m4")."""
    if not hint:
        return None
    if hint in known:
        return known[hint]
    numbered = re.match(_NUMBERED, hint)
    if numbered:
        prefix, number = numbered.groups()
        for older in range(int(number) - 1, 0, -1):
            if f"{prefix}{older}" in known:
                return known[f"{prefix}{older}"]
    return None


def _power_generation(facts: CpuFacts) -> int:
    digits = re.sub(r"\D", "", facts.generation or "")
    return int(digits) if digits else 0


def _compatible(
    target: Microarchitecture, facts: CpuFacts, features: frozenset[str], exact: Microarchitecture | None
) -> bool:
    """archspec's per-family compatibility rules."""
    if target.family != facts.family:
        return False
    if facts.family in ("ppc64le", "ppc64"):
        return target.generation <= _power_generation(facts)
    if facts.family == "aarch64" and target.vendor == _GENERIC and target.name != "aarch64":
        return False  # archspec cannot tell Arm versions apart from features
    if facts.family != "riscv64" and target.vendor not in (facts.vendor, _GENERIC):
        return False
    if exact is not None:
        return target.name == exact.name or target.name in exact.ancestors
    if facts.family == "riscv64":
        return target.vendor == _GENERIC
    return target.features <= features


def compiler_flags(target: Microarchitecture, known: Mapping[str, Microarchitecture]) -> Mapping[str, str]:
    """Flags for the newest gcc and clang archspec knows, from the target or its nearest ancestor."""
    flags: dict[str, str] = {}
    for compiler in _COMPILERS:
        owner = next(
            (known[n] for n in (target.name, *target.ancestors) if known[n].compilers.get(compiler)), None
        )
        if owner is None:
            continue
        newest = max(owner.compilers[compiler], key=lambda entry: _version_floor(entry.get("versions", ":")))
        flags[compiler] = newest["flags"].format_map({**newest, "name": newest.get("name", owner.name)})
    return MappingProxyType(flags)


def _version_floor(versions: str) -> tuple[int, ...]:
    floor = versions.split(":")[0]
    return tuple(int(part) for part in re.findall(r"\d+", floor))


def match(facts: CpuFacts) -> ArchspecMatch | None:
    """The target archspec would pick for these facts, or None when archspec knows no such family."""
    known = targets(facts.family)
    if facts.family not in known:
        return None
    features = _archspec_features(facts)
    exact = _exact_target(facts.archspec_hint, known)
    compatible = [t for t in known.values() if _compatible(t, facts, features, exact)]
    generic = [t for t in compatible if t.vendor == _GENERIC] or [known[facts.family]]
    best_generic = max(generic, key=Microarchitecture.rank)
    candidates = compatible
    if facts.cpu_part and any(t.cpu_part == facts.cpu_part for t in compatible):
        candidates = [t for t in compatible if t.cpu_part == facts.cpu_part]
    # Only descendants of the best generic level: a hidden niche flag must not pull the choice
    # below a level the CPU fully supports.
    specific = [t for t in candidates if best_generic.name in t.ancestors]
    chosen = max(specific, key=Microarchitecture.rank) if specific else best_generic
    return ArchspecMatch(
        microarchitecture=chosen.name,
        generic=max(
            (known[n] for n in (chosen.name, *chosen.ancestors) if known[n].vendor == _GENERIC),
            key=lambda t: len(t.ancestors),
        ).name,
        vendor=chosen.vendor,
        compiler_flags=compiler_flags(chosen, known),
        refused=_refusals(facts, features, known, compatible, best_generic, exact),
    )


def _refusals(
    facts: CpuFacts,
    features: frozenset[str],
    known: Mapping[str, Microarchitecture],
    compatible: list[Microarchitecture],
    best_generic: Microarchitecture,
    exact: Microarchitecture | None,
) -> tuple[Refusal, ...]:
    """This vendor's first targets beyond the match, each with the features the CPU lacks for it.

    Only targets decided by features (x86-64, aarch64 on Linux) can be refused for a flag; among the
    refused, a target is listed only when none of its ancestors is, so one hidden flag names the
    one target it cost rather than every newer one.
    """
    if exact is not None or facts.family not in ("x86_64", "aarch64"):
        return ()
    accepted = {t.name for t in compatible}
    pool = {
        t.name: t
        for t in known.values()
        if t.vendor == facts.vendor
        and t.family == facts.family
        and best_generic.name in t.ancestors
        and t.name not in accepted
    }
    same_part = {name: t for name, t in pool.items() if facts.cpu_part and t.cpu_part == facts.cpu_part}
    pool = same_part or pool
    frontier = [t for t in pool.values() if not any(a in pool for a in t.ancestors)]
    return tuple(
        Refusal(t.name, tuple(sorted(t.features - features)))
        for t in sorted(frontier, key=lambda t: (len(t.features - features), t.name))
    )
