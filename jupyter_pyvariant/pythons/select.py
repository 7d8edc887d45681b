"""Which published build fits a host best, and why.

The host is given by its facts (``HostFacts``), not probed here, so a kernel's host, a replayed
machine or another node of a cluster can be asked about the same way. Order of
preference: the requested version (newest matching, stable before pre-release), the newest release
that has it, the highest x86-64 level the CPU runs, then the flavour (optimized and stripped first).
Statically linked builds never qualify: they cannot load extension modules, so no kernel runs on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..host.cpu_levels import level_family, level_names, runs_on
from ..host.triples import BuildTarget, level_flag, platform_targets, runnable_targets
from .build import Build
from .catalog import Catalog
from .errors import NoMatchingBuild, PythonsError
from .names import pbs_data

if TYPE_CHECKING:
    from ..host.facts import HostFacts

_REQUEST = re.compile(
    r"^(?:cpython-?|python)?(?P<version>\d+(?:\.\d+){0,2}(?:(?:a|b|rc)\d+)?)?"
    r"(?P<suffix>t|\+freethreaded|\+debug|\+freethreaded\+debug|td)?$"
)
_LATEST = ("", "latest", "cpython", "python")
# A version range as uv and pip spell them: ">=3.12,<3.14", "~=3.13.2", "!=3.13.0".
_RANGE = re.compile(r"[<>=!~]")
# Request suffix → (free-threaded, debug), as uv spells them.
_SUFFIXES = {
    "": (False, False),
    "t": (True, False),
    "+freethreaded": (True, False),
    "+debug": (False, True),
    "td": (True, True),
    "+freethreaded+debug": (True, True),
}


class InvalidRequest(PythonsError, ValueError):
    """A version request or level that cannot be understood."""


@dataclass(frozen=True)
class Request:
    """What the user asked for: a version prefix (None: latest stable) or a range (``specifier``),
    flavour wishes, a release pin."""

    version: str | None = None
    freethreaded: bool = False
    debug: bool = False
    release: str | None = None
    specifier: str | None = None

    @classmethod
    def parse(
        cls,
        text: str | None = None,
        *,
        freethreaded: bool = False,
        debug: bool = False,
        release: str | None = None,
    ) -> Request:
        """``"3.13"``, ``"3.13.5"``, ``"3.14t"``, ``"3.13+debug"``, ``">=3.12,<3.14"``, ``"latest"``, None."""
        spelled = (text or "").strip().lower()
        if release is not None and not re.fullmatch(r"\d{8}", release):
            raise InvalidRequest(f"release tag {release!r} is not a python-build-standalone tag (YYYYMMDD)")
        if _RANGE.search(spelled):
            return cls(
                freethreaded=freethreaded, debug=debug, release=release, specifier=_specifier(text or "")
            )
        match = None if spelled in _LATEST else _REQUEST.match(spelled)
        if spelled not in _LATEST and (match is None or not match["version"]):
            raise InvalidRequest(
                f"cannot read the Python version request {text!r}: use e.g. 3.13, 3.13.5, 3.14t or latest"
            )
        wants_freethreaded, wants_debug = _SUFFIXES[(match["suffix"] or "") if match else ""]
        return cls(
            version=match["version"] if match else None,
            freethreaded=freethreaded or wants_freethreaded,
            debug=debug or wants_debug,
            release=release,
        )

    @property
    def flavour_kind(self) -> str:
        """The key of the flavour preference table this request uses."""
        return "+".join(
            k for k, wanted in (("freethreaded", self.freethreaded), ("debug", self.debug)) if wanted
        ) or ("default")

    def matches(self, build: Build) -> bool:
        """Version prefix and release pin (flavour is ranked separately)."""
        if self.release and build.release != self.release:
            return False
        if self.specifier is not None:
            from packaging.specifiers import SpecifierSet

            return SpecifierSet(self.specifier).contains(build.version, prereleases=True)
        if self.version is None:
            return True
        return build.version == self.version or build.version.startswith(self.version + ".")

    @property
    def wants_prerelease(self) -> bool:
        """A request that names a pre-release (``3.15.0rc1``, ``>=3.15.0a1``) prefers the newest one."""
        from packaging.specifiers import SpecifierSet
        from packaging.version import Version

        if self.specifier is not None:
            return bool(SpecifierSet(self.specifier).prereleases)
        return self.version is not None and Version(self.version).is_prerelease

    def __str__(self) -> str:
        text = self.specifier or self.version or "latest"
        text += "t" if self.freethreaded else ""
        text += "+debug" if self.debug else ""
        return text + (f" (release {self.release})" if self.release else "")


def _specifier(text: str) -> str:
    """A version range, normalised (``>=3.12, <3.14`` → ``<3.14,>=3.12``), or :class:`InvalidRequest`."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return str(SpecifierSet(text.strip()))
    except InvalidSpecifier:
        raise InvalidRequest(
            f"cannot read the Python version range {text!r}: use e.g. '>=3.12,<3.14' or '~=3.13.2'"
        ) from None


def normalize_level(level: str) -> str:
    """``"auto"`` or a psABI level name: accepts ``v3``, ``x86-64-v3``, ``x86_64_v3``, ``v1``/``baseline``."""
    spelled = level.strip().lower().replace("_", "-")
    if spelled == "auto":
        return "auto"
    known = level_names("x86_64")
    by_flag = {level_flag(name): name for name in known}
    name = known[0] if spelled == "baseline" else by_flag.get(spelled, spelled)
    if name not in known:
        short = list(by_flag)
        raise InvalidRequest(f"unknown level {level!r}: use auto, {', '.join(short[:-1])} or {short[-1]}")
    return name


@dataclass(frozen=True)
class Selection:
    """Builds that fit, best first; ``candidates[0]`` is the choice, the rest are fallbacks."""

    request: Request
    candidates: tuple[Build, ...]
    notes: tuple[str, ...]
    host_level: str | None = None

    @property
    def best(self) -> Build:
        return self.candidates[0]

    def runs_here(self, build: Build) -> bool:
        """False for a level above the host's (installed for other machines; cannot be smoke-tested)."""
        if build.level is None or self.host_level is None:
            return True
        return runs_on(build.level, self.host_level) is not False

    def fallbacks(self, failed: Build) -> list[Build]:
        """Candidates of the same version, release and flavour at lower levels (after a SIGILL)."""
        if failed.level is None:
            return []
        same = (failed.version, failed.release, failed.flavour)
        return [
            b
            for b in self.candidates
            if (b.version, b.release, b.flavour) == same
            and b.level not in (None, failed.level)
            and runs_on(b.level, failed.level)
        ]

    def explain(self) -> list[str]:
        """Why this build: the host, the version, the level, the flavour, what was skipped."""
        best = self.best
        lines = list(self.notes)
        lines.append(f"chosen: {best.filename}")
        lines.append(f"flavour: {best.flavour} — {_flavour_note(best.flavour)}")
        fallbacks = self.fallbacks(best)
        if fallbacks:
            names = ", ".join(b.triple for b in fallbacks)
            lines.append(f"if it dies with an illegal instruction at its first start: falls back to {names}")
        return lines


def select(
    catalog: Catalog | Sequence[Build],
    facts: HostFacts,
    request: Request | None = None,
    *,
    level: str = "auto",
) -> Selection:
    """The best builds of ``catalog`` for the host; :class:`NoMatchingBuild` when none fits."""
    request = request or Request()
    level = normalize_level(level)
    host_level = facts.cpu.level
    notes = [catalog.describe()] if isinstance(catalog, Catalog) else []
    notes.append(_host_line(facts))
    targets = _targets(facts, level, notes)
    rank = {t.triple: i for i, t in enumerate(targets)}
    flavours: list[str] = pbs_data()["flavour_preference"][request.flavour_kind]
    on_platform = [b for b in catalog if b.triple in rank]
    static = [b for b in on_platform if b.static]
    if static:
        notes.append(
            f"skipped {len(static)} statically linked build(s): a static interpreter cannot load extension "
            "modules (no pyzmq), so no kernel runs on it"
        )
    usable = [b for b in on_platform if not b.static]
    matching = [b for b in usable if request.matches(b) and b.flavour in flavours]
    if not matching:
        raise NoMatchingBuild(_nothing_fits(request, targets, usable, flavours))
    version = _best_version([b.version for b in matching], request)
    chosen = _ordered([b for b in matching if b.version == version], rank, flavours)
    notes.append(_version_line(request, version, chosen[0]))
    notes.append(_level_line(chosen[0], targets, facts, level))
    known_level = host_level if host_level and level_family(host_level) else None
    return Selection(request, tuple(chosen), tuple(notes), known_level)


def fitting_builds(catalog: Catalog | Sequence[Build], facts: HostFacts) -> list[Build]:
    """Every non-static build this host runs, newest version first, then release, level, flavour."""
    rank = {t.triple: i for i, t in enumerate(runnable_targets(facts))}
    preference = [f for kind in pbs_data()["flavour_preference"].values() for f in kind]
    return _ordered([b for b in catalog if b.triple in rank and not b.static], rank, preference)


def _ordered(builds: list[Build], rank: Mapping[str, int], flavours: Sequence[str]) -> list[Build]:
    """Newest version, newest release, best level, preferred flavour first (stable sorts, last key first)."""
    from packaging.version import Version

    ordered = sorted(
        builds,
        key=lambda b: (rank[b.triple], flavours.index(b.flavour) if b.flavour in flavours else len(flavours)),
    )
    ordered.sort(key=lambda b: b.release, reverse=True)
    ordered.sort(key=lambda b: Version(b.version), reverse=True)
    return ordered


def _best_version(versions: Sequence[str], request: Request) -> str:
    """The newest version, stable preferred unless the request names a pre-release or only those fit."""
    from packaging.version import Version

    parsed = sorted({Version(v) for v in versions}, reverse=True)
    stable = [v for v in parsed if not v.is_prerelease]
    return str((stable or parsed)[0] if not request.wants_prerelease else parsed[0])


def _targets(facts: HostFacts, level: str, notes: list[str]) -> list[BuildTarget]:
    """The triples to consider, best first: the runnable ones, or one forced level."""
    if level == "auto":
        return runnable_targets(facts)
    every = platform_targets(facts)
    forced = [t for t in every if t.level == level]
    if not forced:
        notes.append(f"level {level} asked for, but this platform has no x86-64 levels: ignoring it")
        return every
    if forced[0] not in runnable_targets(facts):
        notes.append(
            f"level {level} is above what this CPU runs: the build is for other machines and is not "
            "smoke-tested here"
        )
    return forced


def _host_line(facts: HostFacts) -> str:
    system, cpu = facts.system, facts.cpu
    libc_text = " ".join(p for p in (system.libc_family, system.libc_version) if p)
    line = f"host: {system.os or 'unknown'} {cpu.arch or 'unknown'}"
    line += f", libc {libc_text}" if libc_text else ""
    if cpu.level:
        line += f", CPU level {cpu.level}"
    if cpu.next_level and cpu.missing:
        line += f" ({cpu.next_level} would need {', '.join(cpu.missing[:6])})"
    return line


def _version_line(request: Request, version: str, best: Build) -> str:
    asked = request.specifier or request.version or "latest stable"
    return f"version: {asked} → {version}, newest with a build here (release {best.release})"


def _level_line(best: Build, targets: Sequence[BuildTarget], facts: HostFacts, level: str) -> str:
    if best.level is None:
        return f"platform: {best.triple} (no x86-64 level split on this platform)"
    if level != "auto":
        return f"level: {best.level} as asked ({best.triple})"
    top = targets[0].level if targets else None
    if top == best.level:
        return f"level: {best.level}, the highest this CPU runs ({best.triple})"
    if runs_on(best.level, facts.cpu.level or "unknown") is None:
        return f"level: {best.level}: the CPU level is unknown, so only the baseline is safe ({best.triple})"
    return f"level: {best.level}: no {top} build of {best.version} is published, this is the next one down"


def _flavour_note(flavour: str) -> str:
    notes: dict[str, str] = pbs_data()["flavour_notes"]
    return notes.get(flavour.removeprefix("freethreaded+"), flavour) + (
        " (free-threaded, no GIL)" if flavour.startswith("freethreaded+") else ""
    )


def _nothing_fits(
    request: Request, targets: Sequence[BuildTarget], usable: Sequence[Build], flavours: list[str]
) -> str:
    """Say what was asked, for which platform, and what does exist there."""
    if not targets:
        return "python-build-standalone publishes no build for this host's OS, architecture and libc"
    platform = targets[0].triple if len(targets) == 1 else f"{targets[0].triple} (or lower levels)"
    if not usable:
        return f"the catalog has no build for {platform}"
    if request.release and not any(b.release == request.release for b in usable):
        releases = sorted({b.release for b in usable}, reverse=True)[:5]
        return (
            f"release {request.release} has no build for {platform}; newest releases: {', '.join(releases)}"
        )
    from packaging.version import Version

    versions = sorted({b.version for b in usable if b.flavour in flavours}, key=Version, reverse=True)
    if not versions:
        return f"no {request.flavour_kind} build ({', '.join(flavours)}) is published for {platform}"
    shown = ", ".join(versions[:12]) + (" …" if len(versions) > 12 else "")
    return f"no CPython {request} build for {platform}; versions published here: {shown}"


__all__ = ["InvalidRequest", "Request", "Selection", "fitting_builds", "normalize_level", "select"]
