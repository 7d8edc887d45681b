"""One published python-build-standalone archive: what it is (from its name), where to get it."""

from __future__ import annotations

__all__ = ["Build"]

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from .names import ArchiveName, parse_archive_name, pbs_data


@dataclass(frozen=True)
class Build:
    """One published archive: what it is (from its name) and where to get it (url, sha256)."""

    version: str
    release: str
    triple: str
    flavour: str
    url: str
    sha256: str
    filename: str
    level: str | None
    libc: str | None

    @classmethod
    def from_name(cls, name: ArchiveName, url: str, sha256: str) -> Build:
        return cls(
            version=name.version,
            release=name.release,
            triple=name.triple,
            flavour=name.flavour,
            url=url,
            sha256=sha256.lower(),
            filename=name.filename,
            level=name.level,
            libc=name.libc,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Build:
        """The inverse of :meth:`to_dict` (markers and JSON output carry builds this way)."""
        values: dict[str, Any] = {f: data.get(f) for f in cls.__dataclass_fields__}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @cached_property
    def name(self) -> ArchiveName:
        return parse_archive_name(self.filename)

    @property
    def stem(self) -> str:
        """The store folder name of this build (the file name without ``.tar.*``)."""
        return self.name.stem

    @property
    def minor(self) -> str:
        return self.name.minor

    @property
    def freethreaded(self) -> bool:
        return self.name.freethreaded

    @property
    def debug(self) -> bool:
        return self.name.debug

    @property
    def full(self) -> bool:
        return self.name.full

    @property
    def static(self) -> bool:
        return self.name.static

    @property
    def optimizations(self) -> str:
        """How the interpreter was compiled, for display: ``"PGO+LTO"``, ``"LTO"``, ``"debug"``…"""
        data = pbs_data()
        tokens = self.name.tokens
        if tokens & {"install_only", "install_only_stripped"}:
            tokens = frozenset(_install_only_optimizations(self.triple).split("+"))
        labels: dict[str, str] = data["optimization_labels"]
        return "+".join(label for token, label in labels.items() if token in tokens) or "default"

    def describe(self) -> str:
        """A short human label: ``"CPython 3.13.5 · x86-64-v3 · PGO+LTO · free-threaded"``."""
        parts = [f"CPython {self.version}", self.level or self.triple.split("-")[0], self.optimizations]
        if self.freethreaded:
            parts.append("free-threaded")
        return " · ".join(parts)


def _install_only_optimizations(triple: str) -> str:
    """install_only archives do not say how they were built; the project documents it per platform."""
    from fnmatch import fnmatchcase

    table: dict[str, str] = pbs_data()["install_only_optimizations"]
    return next((opts for pattern, opts in table.items() if fnmatchcase(triple, pattern)), "")
