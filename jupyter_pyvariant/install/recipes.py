"""Today's GPU packaging conventions (``recipes.toml``) applied to requested packages.

Until projects ship variants, CUDA builds hide behind other project names (``cupy-cuda12x``),
extras (``jax[cuda12]``) or index URLs (``download.pytorch.org/whl/cu128``). The rules are data;
this module only evaluates them against what the target supports, so a profile for another
machine gets that machine's recipes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from .._data import loads_toml, table
from ..errors import InstallError

if TYPE_CHECKING:
    from ..host.properties import Supported

__all__ = [
    "Facts",
    "RecipeError",
    "Refusal",
    "Rewrite",
    "Rule",
    "apply",
    "load_refusals",
    "load_rules",
    "refusal",
]


class RecipeError(InstallError, ValueError):
    """A malformed recipes file."""


@dataclass(frozen=True)
class Rule:
    """One convention: which packages, under which condition, rewritten how."""

    name: str
    packages: frozenset[str]
    when: Mapping[str, Any]
    index: str | None = None
    extra_index: str | None = None
    rename: str | None = None
    extras: tuple[str, ...] = ()
    note: str | None = None
    fallback: bool = False
    """When its index does not answer, the next rule that holds fires instead, with a warning."""

    @property
    def switch(self) -> str:
        """How the user turns this rule off."""
        if "opt-in" in self.when:
            return f"leave out --{self.when['opt-in']}"
        return "--no-recipes"


@dataclass(frozen=True)
class Facts:
    """What the rules' conditions test: the driver's CUDA version and the ROCm version, if any, and
    the experimental routes the user opted in to."""

    cuda: str | None
    rocm: str | None
    opted_in: frozenset[str] = frozenset()

    @classmethod
    def from_supported(cls, supported: Supported, opted_in: Iterable[str] = ()) -> Facts:
        return cls(
            _highest(supported.get("nvidia", {}).get("cuda_version_lower_bound", ())),
            _highest(supported.get("amd", {}).get("rocm_version", ())),
            frozenset(opted_in),
        )

    def describe(self) -> str:
        parts = [f"CUDA {self.cuda}" if self.cuda else "", f"ROCm {self.rocm}" if self.rocm else ""]
        return ", ".join(p for p in parts if p) or "no usable GPU"


@dataclass(frozen=True)
class Rewrite:
    """A requested requirement after the recipes: what to install, from where, and why."""

    original: str
    requirement: str
    rule: str | None = None
    indexes: tuple[str, ...] = ()
    """Indexes for the routed projects ahead of (``exclusive`` False) or instead of the usual ones."""
    exclusive: bool = False
    note: str | None = None
    routed: tuple[str, ...] = ()
    """The projects ``indexes`` apply to: the requested one and, unless the rule renames, every
    package of the rule (a CUDA build of torch wants torchvision from the same index)."""
    switch: str = "--no-recipes"
    """How to turn the rule off (shown with every error that follows from it)."""
    fallback: bool = False
    """Whether another route may stand in when this one's index does not answer."""

    def blame(self) -> str:
        """Which recipe chose what, and how to turn it off: appended to errors that follow from it."""
        chose = f" chose {', '.join(self.indexes)}" if self.indexes else f" asked for {self.requirement}"
        return f"recipe {self.rule}{chose} for {self.original} (to turn it off: {self.switch})"

    @property
    def project(self) -> str:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name

        return str(canonicalize_name(Requirement(self.requirement).name))


def _highest(values: Sequence[str]) -> str | None:
    from packaging.version import InvalidVersion, Version

    versions = []
    for value in values:
        try:
            versions.append((Version(value), value))
        except InvalidVersion:
            continue
    return max(versions)[1] if versions else None


_CONDITIONS = ("gpu", "cuda", "rocm", "opt-in")


def _holds(when: Mapping[str, Any], facts: Facts) -> bool:
    from packaging.specifiers import SpecifierSet

    for key, expected in when.items():
        if key == "gpu":
            if bool(facts.cuda or facts.rocm) != bool(expected):
                return False
        elif key == "opt-in":
            if str(expected) not in facts.opted_in:
                return False
        elif key in ("cuda", "rocm"):
            found = getattr(facts, key)
            if found is None or not SpecifierSet(str(expected)).contains(found, prereleases=True):
                return False
        else:
            raise RecipeError(f"unknown condition {key!r}")
    return True


_Entry = TypeVar("_Entry")


def _entries(
    what: str, text: str | None, key: str, noun: str, build: Callable[[Mapping[str, Any]], _Entry]
) -> tuple[_Entry, ...]:
    """Each ``[[key]]`` table of ``text`` (TOML), or of the packaged ``{what}.toml``, built by
    ``build``: a field it lacks or cannot read is a :class:`RecipeError` naming the entry."""
    if text is None:
        data = table("install", f"{what}.toml")
    else:
        try:
            data = loads_toml(text)
        except ValueError as exc:  # tomllib's TOMLDecodeError
            raise RecipeError(f"{what}: not valid TOML: {exc}") from None
    raws = data.get(key, [])
    if not isinstance(raws, list):
        raise RecipeError(f"{what}: [[{key}]] must be an array of tables")
    entries = []
    for position, raw in enumerate(raws, 1):
        try:
            entries.append(build(raw))
        except RecipeError:
            raise
        except (KeyError, TypeError) as exc:
            raise RecipeError(f"{what}: {noun} {position} lacks or misspells {exc}") from None
        except ValueError as exc:  # a field of the wrong shape, e.g. `when = "x"`
            raise RecipeError(f"{what}: {noun} {position} has a field of the wrong shape ({exc})") from None
    return tuple(entries)


@cache
def load_rules(text: str | None = None) -> tuple[Rule, ...]:
    """The rules of ``text`` (TOML), or of the packaged ``recipes.toml``."""
    return _entries("recipes", text, "rule", "rule", _rule)


def _rule(raw: Mapping[str, Any]) -> Rule:
    from packaging.utils import canonicalize_name

    rule = Rule(
        name=str(raw["name"]),
        packages=frozenset(canonicalize_name(p) for p in raw["packages"]),
        when=dict(raw.get("when", {})),
        index=raw.get("index"),
        extra_index=raw.get("extra-index"),
        rename=raw.get("rename"),
        extras=tuple(raw.get("extras", ())),
        note=raw.get("note"),
        fallback=bool(raw.get("fallback", False)),
    )
    if unknown := sorted(set(rule.when) - set(_CONDITIONS)):
        raise RecipeError(f"recipes: rule {rule.name!r}: unknown condition {unknown[0]!r}")
    return rule


def apply(
    requirement: str,
    supported: Supported | Callable[[], Supported],
    rules: Sequence[Rule] | None = None,
    opted_in: Iterable[str] = (),
    skip: Iterable[str] = (),
) -> Rewrite:
    """``requirement`` rewritten by the first rule that fires for its project (or unchanged).

    ``supported`` may be a function that works it out: it is called only when a rule names the
    project, so that installing anything else never waits for what the host supports.
    ``opted_in`` names the experimental routes the user asked for (rules with an ``opt-in`` condition);
    ``skip`` names rules not to fire (a fallback route: the next rule that holds fires instead).
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    parsed = Requirement(requirement)
    project = canonicalize_name(parsed.name)
    skipped = set(skip)
    naming = [
        rule
        for rule in (load_rules() if rules is None else rules)
        if project in rule.packages and rule.name not in skipped
    ]
    if not naming:
        return Rewrite(requirement, requirement)
    facts = Facts.from_supported(supported() if callable(supported) else supported, opted_in)
    for rule in naming:
        if not _holds(rule.when, facts):
            continue
        if rule.rename:
            parsed.name = rule.rename.format(name=project)
        parsed.extras = set(parsed.extras) | set(rule.extras)
        indexes = tuple(url for url in (rule.index, rule.extra_index) if url)
        note = rule.note or _describe(rule, facts)
        renamed = str(canonicalize_name(parsed.name))
        routed = (renamed,) if rule.rename else (renamed, *sorted(rule.packages - {renamed}))
        return Rewrite(
            requirement,
            str(parsed),
            rule.name,
            indexes,
            rule.index is not None,
            note,
            routed if indexes else (),
            rule.switch,
            rule.fallback,
        )
    return Rewrite(requirement, requirement)


def _describe(rule: Rule, facts: Facts) -> str:
    did = []
    if rule.rename:
        did.append("renamed")
    if rule.extras:
        did.append("extras " + ",".join(rule.extras))
    if rule.index or rule.extra_index:
        did.append("index " + (rule.index or rule.extra_index or ""))
    return f"{facts.describe()}: " + ("; ".join(did) or "unchanged")


# --------------------------------------------------------------------------------------------------
# Refusals: packages that cannot work without a GPU stack (refusals.toml)


@dataclass(frozen=True)
class Refusal:
    """Packages that need a GPU stack, and what to do where it is missing."""

    name: str
    packages: tuple[str, ...]
    """Canonical names; ``*`` matches any run of characters."""
    needs: str
    lacks: str
    instead: str

    def names(self, project: str) -> bool:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(project, pattern) for pattern in self.packages)

    def holds(self, facts: Facts) -> bool:
        """Whether the stack this package needs is there."""
        return getattr(facts, self.needs) is not None

    def message(self, project: str, found: str) -> str:
        return f"{project} needs {self.lacks}, and {found}: {self.instead}"


@cache
def load_refusals(text: str | None = None) -> tuple[Refusal, ...]:
    """The refusals of ``text`` (TOML), or of the packaged ``refusals.toml``."""
    return _entries("refusals", text, "refusal", "entry", _refusal)


def _refusal(raw: Mapping[str, Any]) -> Refusal:
    refusal = Refusal(
        str(raw["name"]),
        tuple(str(p).lower() for p in raw["packages"]),
        str(raw["needs"]),
        str(raw["lacks"]),
        str(raw["instead"]),
    )
    if refusal.needs not in ("cuda", "rocm"):
        raise RecipeError(f"refusals: {refusal.name!r}: needs must be 'cuda' or 'rocm'")
    return refusal


def refusal(
    requirement: str,
    supported: Supported | Callable[[], Supported],
    refusals: Sequence[Refusal] | None = None,
) -> Refusal | None:
    """The refusal of ``requirement``'s project where the stack it needs is missing, else None.

    ``supported`` may be a function: it is called only when a refusal names the project.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = canonicalize_name(Requirement(requirement).name)
    naming = [r for r in (load_refusals() if refusals is None else refusals) if r.names(project)]
    if not naming:
        return None
    facts = Facts.from_supported(supported() if callable(supported) else supported)
    return next((r for r in naming if not r.holds(facts)), None)
