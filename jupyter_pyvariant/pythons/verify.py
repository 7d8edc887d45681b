"""Ask an unpacked interpreter how it was built, so that its kernel is named for what it is.

An archive's name is the catalog's promise; the interpreter's own build configuration is the fact.
One short subprocess reports the version, the implementation and the sysconfig variables that say
how it was compiled (configure's arguments and compiler flags for ``-march`` and PGO/LTO,
``Py_DEBUG``, ``Py_GIL_DISABLED``); the host wing's parsers (``host.interpreter``) turn them into
the same facts the kernel's own ``%cpuinfo`` will show, and ``host.recommend`` names every
disagreement with the archive's name. The answer doubles as the smoke test: a SIGILL here means
the CPU lacks an instruction of the build's level.
"""

from __future__ import annotations

__all__ = ["BuildFacts", "Verification", "ask"]

import json
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..host.interpreter import FLAG_VARS, build_flags, isa_level
from ..host.recommend import build_disagreements, optimization_label
from .build import Build
from .errors import IllegalInstruction, SmokeTestFailed

_CONFIG_VARS = (*FLAG_VARS, "Py_DEBUG", "Py_GIL_DISABLED")
_QUERY = (
    "import json, platform, sys, sysconfig; v = sysconfig.get_config_vars(); print(json.dumps({"
    "'version': platform.python_version(), 'implementation': sys.implementation.name, "
    "'prefix': sys.base_prefix, 'platform': sysconfig.get_platform(), "
    "'freethreaded': bool(v.get('Py_GIL_DISABLED')), "
    "'debug': bool(v.get('Py_DEBUG')) or hasattr(sys, 'gettotalrefcount'), "
    f"'config': {{k: v.get(k) for k in {_CONFIG_VARS!r}}}}}))"
)
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")


@dataclass(frozen=True)
class BuildFacts:
    """How an interpreter was built, keyed like the host report's ``python`` section (None: unknown)."""

    version: str
    implementation: str | None
    free_threaded: bool
    debug: bool
    pgo: bool | None
    lto: bool | None
    march: str | None
    isa_level: str | None

    @classmethod
    def claimed_by(cls, build: Build) -> BuildFacts:
        """What the archive's name promises (the catalog's word)."""
        labels = set(build.optimizations.split("+"))
        return cls(
            version=build.version,
            implementation="cpython",
            free_threaded=build.freethreaded,
            debug=build.debug,
            pgo="PGO" in labels,
            lto="LTO" in labels,
            march=None,
            isa_level=build.level,
        )

    @classmethod
    def reported(cls, answer: Mapping[str, Any]) -> BuildFacts:
        """Facts from the interpreter's answer to the query; an answer without sysconfig leaves the
        build flags unknown."""
        config = answer.get("config")
        flags = build_flags(config if isinstance(config, Mapping) else {})
        machine = str(answer.get("platform") or "").rsplit("-", 1)[-1]
        implementation = answer.get("implementation")
        return cls(
            version=str(answer.get("version")),
            implementation=str(implementation) if implementation else None,
            free_threaded=bool(answer.get("freethreaded")),
            debug=bool(answer.get("debug")),
            pgo=flags.pgo,
            lto=flags.lto,
            march=flags.march,
            isa_level=isa_level(flags.march, machine) if isinstance(config, Mapping) else None,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildFacts:
        values: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def or_else(self, other: BuildFacts) -> BuildFacts:
        """These facts, with what they do not know taken from ``other``."""
        known = {name: value for name, value in self.to_dict().items() if value is not None}
        return replace(other, **known)

    @property
    def short_version(self) -> str:
        """``3.13`` or ``3.13t``: how people name a kernel's Python."""
        return ".".join(self.version.split(".")[:2]) + ("t" if self.free_threaded else "")

    @property
    def optimizations(self) -> str | None:
        """``debug``, ``PGO+LTO``, ``LTO``…; None when the build shows none or does not say."""
        if self.debug:
            return "debug"
        if not (self.pgo or self.lto):
            return None
        return optimization_label(self.pgo, self.lto)


@dataclass(frozen=True)
class Verification:
    """What an interpreter said about itself, against its archive's name.

    ``verified`` is False when the interpreter was not asked (a build for other machines, which
    may not start here): its facts are then the name's promise, as are the facts an asked
    interpreter could not tell.
    """

    facts: BuildFacts
    verified: bool
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, build: Build, answer: Mapping[str, Any] | None) -> Verification:
        claimed = BuildFacts.claimed_by(build)
        if answer is None:
            return cls(claimed, verified=False)
        facts = BuildFacts.reported(answer)
        warnings = build_disagreements({"archive": build.filename, **claimed.to_dict()}, facts.to_dict())
        return cls(facts.or_else(claimed), verified=True, warnings=tuple(warnings))

    @classmethod
    def recorded(cls, build: Build, marker: Mapping[str, Any]) -> Verification:
        """The verification a store marker holds; markers written before verification existed, or
        damaged ones, give the unverified promise."""
        data = marker.get("verification")
        facts = data.get("facts") if isinstance(data, Mapping) else None
        if not isinstance(data, Mapping) or not isinstance(facts, Mapping) or not facts.get("version"):
            return cls.of(build, None)
        warnings = tuple(str(warning) for warning in data.get("warnings") or ())
        return cls(BuildFacts.from_dict(facts), verified=bool(data.get("verified")), warnings=warnings)

    def to_dict(self) -> dict[str, Any]:
        return {"facts": self.facts.to_dict(), "verified": self.verified, "warnings": list(self.warnings)}


def ask(executable: Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """Start the interpreter once, isolated from the caller's environment, and return its answer."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT}
    try:
        result = subprocess.run(
            [str(executable), "-I", "-c", _QUERY],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SmokeTestFailed(f"{executable} did not finish starting within {timeout_s:.0f} s") from None
    except OSError as exc:
        raise SmokeTestFailed(f"{executable} cannot be started here: {exc.strerror or exc}") from None
    if result.returncode == -signal.SIGILL:
        raise IllegalInstruction(f"{executable} died with an illegal instruction (SIGILL) at start")
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-400:]
        raise SmokeTestFailed(f"{executable} exited with status {result.returncode} at start: {tail}")
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = None
    if not isinstance(answer, dict):
        raise SmokeTestFailed(f"{executable} started but printed {result.stdout[-200:]!r}")
    return answer
