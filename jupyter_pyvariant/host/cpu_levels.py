"""Instruction-set levels: which rung of an architecture's ladder a set of features reaches.

The ladders are data (``data/cpu_levels.json``): the x86-64 psABI levels, Arm versions and processor
generations. One evaluator serves them all, so every architecture answers the same three questions
the same way: the level reached, the next one, and exactly what is missing for it. Its records are
named tuples: immutable like frozen dataclasses, and several times cheaper to define at import.
"""

from __future__ import annotations

__all__ = [
    "LevelVerdict",
    "better_level",
    "extension_groups",
    "generation_ladder_names",
    "judge",
    "ladders",
    "level_family",
    "level_names",
    "normalize_arch",
    "runs_on",
]

from collections.abc import Iterable, Mapping
from functools import cache
from types import MappingProxyType

from ._values import Record, data_table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Level(Record):
    """One rung: the features it adds and the rungs it builds on."""

    name: str
    base: tuple[str, ...]
    requires: frozenset[str]


class LevelVerdict(Record):
    """The highest level reached (None: not even the first), the next one and what it lacks.

    ``reason`` says why there is no level when ``level`` is None.
    """

    level: str | None
    next_level: str | None
    missing: tuple[str, ...]
    reason: str | None = None


class Ladder(Record):
    """Levels from lowest to highest; each one reached only when all its bases are."""

    levels: tuple[Level, ...]

    def names(self) -> tuple[str, ...]:
        """The level names, lowest first."""
        return tuple(level.name for level in self.levels)

    def includes(self, name: str) -> frozenset[str]:
        """``name`` and every level it builds on: what a CPU at ``name`` also runs (empty if unknown)."""
        by_name = {level.name: level for level in self.levels}
        pending, seen = [name], set()
        while pending:
            current = pending.pop()
            if current in by_name and current not in seen:
                seen.add(current)
                pending.extend(by_name[current].base)
        return frozenset(seen)

    def missing_for(self, name: str, features: frozenset[str]) -> frozenset[str]:
        """Every feature lacking for ``name``, its bases included (so a level's gap is never understated)."""
        by_name = {level.name: level for level in self.levels}
        lacking: set[str] = set()
        pending, seen = [name], set()
        while pending:
            level = by_name[pending.pop()]
            if level.name in seen:
                continue
            seen.add(level.name)
            lacking |= level.requires - features
            pending.extend(level.base)
        return frozenset(lacking)

    def evaluate(self, features: Iterable[str]) -> LevelVerdict:
        have = frozenset(features)
        reached = [i for i, level in enumerate(self.levels) if not self.missing_for(level.name, have)]
        top = reached[-1] if reached else -1
        if top + 1 >= len(self.levels):
            return LevelVerdict(self.levels[top].name, None, ())
        following = self.levels[top + 1].name
        return LevelVerdict(
            self.levels[top].name if top >= 0 else None,
            following,
            tuple(sorted(self.missing_for(following, have))),
        )


def _feature_ladder(spec: Mapping[str, Any]) -> Ladder:
    levels: list[Level] = []
    for entry in spec["levels"]:
        default_base = (levels[-1].name,) if levels else ()
        base = tuple(entry.get("base", default_base))
        levels.append(Level(entry["name"], base, frozenset(entry.get("requires", ()))))
    return Ladder(tuple(levels))


def _generation_ladder(names: Iterable[str]) -> Ladder:
    """Generations that no feature tells apart: each one "requires" its own name."""
    levels: list[Level] = []
    for name in names:
        levels.append(Level(name, (levels[-1].name,) if levels else (), frozenset({name})))
    return Ladder(tuple(levels))


@cache
def ladder(family: str) -> Ladder | None:
    """The level ladder of one architecture family (a CPU needs only its own), None if unknown."""
    table = data_table("cpu_levels.json")
    if family in table["feature_ladders"]:
        return _feature_ladder(table["feature_ladders"][family])
    if family in table["generation_ladders"]:
        return _generation_ladder(table["generation_ladders"][family])
    return None


def ladders() -> Mapping[str, Ladder]:
    """Every family's ladder."""
    table = data_table("cpu_levels.json")
    families = [*table["feature_ladders"], *table["generation_ladders"]]
    return MappingProxyType({family: rules for family in families if (rules := ladder(family)) is not None})


def level_names(family: str) -> tuple[str, ...]:
    """The levels of ``family``'s ladder, lowest first (empty for a family without one)."""
    rules = ladder(family)
    return rules.names() if rules else ()


def level_family(level: str) -> str | None:
    """The family whose ladder names ``level`` (``x86-64-v3`` → ``x86_64``), None if no ladder does."""
    return next((family for family, rules in ladders().items() if level in rules.names()), None)


def runs_on(built: str, cpu: str) -> bool | None:
    """Whether code built for level ``built`` runs on a CPU at level ``cpu``; None when the two are
    not levels of one ladder (another family, ``unknown``)."""
    family = level_family(cpu)
    if family is None or built not in level_names(family):
        return None
    return built in ladders()[family].includes(cpu)


def better_level(built: str | None, cpu: str | None) -> str | None:
    """``cpu`` when an interpreter built for ``built`` leaves part of that CPU unused (the CPU's level
    includes the build's and is higher), else None: the "a faster kernel exists" verdict."""
    if not built or not cpu or built == cpu:
        return None
    return cpu if runs_on(built, cpu) else None


def generation_ladder_names(family: str) -> tuple[str, ...]:
    """The generations known for ``family`` (empty when its levels are decided by features)."""
    return tuple(data_table("cpu_levels.json")["generation_ladders"].get(family, ()))


def judge(
    family: str, features: frozenset[str], generation: str | None, blocker: str | None = None
) -> LevelVerdict:
    """The level of a CPU of ``family`` with these features (or, for generation ladders, generation)."""
    rules = ladder(family)
    if blocker:
        return LevelVerdict(None, None, (), blocker)
    if rules is None:
        return LevelVerdict(
            None, None, (), f"no instruction-set level rules for {family or 'this architecture'}"
        )
    generations = generation_ladder_names(family)
    if generations:
        if generation not in generations:
            return LevelVerdict(None, None, (), f"the {family} processor generation was not recognised")
        return rules.evaluate(generations[: generations.index(generation) + 1])
    if not features:
        return LevelVerdict(None, None, (), "no CPU feature list found (missing, empty or malformed)")
    verdict = rules.evaluate(features)
    if verdict.level is None:
        reason = f"the features lack the baseline {verdict.next_level}: {', '.join(verdict.missing)}"
        return verdict._replace(reason=reason)
    return verdict


def normalize_arch(machine: str) -> str:
    """The architecture family a machine name belongs to (``AMD64`` and ``arm64`` included)."""
    lowered = machine.strip().lower()
    aliases: Mapping[str, str] = data_table("cpu_levels.json")["arch_aliases"]
    return aliases.get(lowered, lowered)


def extension_groups(family: str, features: frozenset[str]) -> Mapping[str, tuple[str, ...]]:
    """The notable groups this CPU has any member of, each with the members it has."""
    groups: Mapping[str, list[str]] = data_table("cpu_features.json")["extension_groups"].get(family, {})
    present = {name: tuple(sorted(features.intersection(members))) for name, members in groups.items()}
    return MappingProxyType({name: members for name, members in present.items() if members})
