"""python-build-standalone archive names, current and legacy, parsed into one value.

Current: ``cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-install_only_stripped.tar.gz``.
Legacy (until mid 2021): ``cpython-3.8.2-x86_64-unknown-linux-gnu-pgo-20200518T0154.tar.zst``.
The name is the only place some facts live (install_only archives carry no marker of their triple),
so everything downstream (selection, the store's folder names, markers) starts here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..host.triples import target_for_triple

# cpython-{version}+{YYYYMMDD}-{triple}-{flavour}.{ext}; the flavour is '+'-joined tokens ending in
# install_only / install_only_stripped, or '+'-joined build options followed by '-full'.
_CURRENT = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\+(?P<release>\d{8})-(?P<rest>.+)"
    r"\.(?P<ext>tar\.gz|tar\.zst)$"
)
_CURRENT_FLAVOUR = re.compile(
    r"-(?P<flavour>(?:[a-z]+\+)*(?:install_only_stripped|install_only)|(?:[a-z]+\+)*[a-z]+-full)$"
)
_LEGACY = re.compile(
    r"^cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)-(?P<rest>.+)-(?P<release>\d{8})T\d{4}"
    r"\.(?P<ext>tar\.gz|tar\.zst)$"
)
_LEGACY_LINKAGE = ("shared", "static")


class InvalidArchiveName(ValueError):
    """A file name that is not a python-build-standalone CPython archive."""


@cache
def pbs_data() -> dict[str, Any]:
    """The python-build-standalone knowledge table (``data/pbs.json``)."""
    text = resources.files(__package__).joinpath("data").joinpath("pbs.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class ArchiveName:
    """What an archive's name says: version, release tag, target triple, flavour, compression."""

    filename: str
    version: str
    release: str
    triple: str
    flavour: str
    extension: str
    legacy: bool = False

    @property
    def stem(self) -> str:
        """The name without its compression suffix: the store's folder name for this build."""
        return self.filename.removesuffix("." + self.extension)

    @property
    def tokens(self) -> frozenset[str]:
        """The flavour's build options: ``{"freethreaded", "pgo", "lto"}`` for freethreaded+pgo+lto-full."""
        return flavour_tokens(self.flavour)

    @property
    def full(self) -> bool:
        """Full archives unpack to ``python/install/…`` beside ``python/PYTHON.json``."""
        return self.flavour.endswith("-full")

    @property
    def freethreaded(self) -> bool:
        return "freethreaded" in self.tokens

    @property
    def debug(self) -> bool:
        return "debug" in self.tokens

    @property
    def static(self) -> bool:
        """A statically linked interpreter: it cannot load extension modules (no pyzmq, so no kernel)."""
        if "static" in self.tokens:
            return True
        # musl builds were static, unmarked, until python-build-standalone switched them to dynamic.
        return self.libc == "musl" and (self.legacy or self.release < str(pbs_data()["musl_dynamic_since"]))

    @property
    def level(self) -> str | None:
        """The x86-64 psABI level the build needs (``"x86-64-v3"``); None where no levels are published."""
        target = target_for_triple(self.triple)
        return target.level if target else None

    @property
    def libc(self) -> str | None:
        """``"gnu"``, ``"musl"``, or None (macOS, Windows)."""
        target = target_for_triple(self.triple)
        if target:
            return target.libc
        return next((libc for libc in ("musl", "gnu") if f"-linux-{libc}" in self.triple), None)

    @property
    def minor(self) -> str:
        """``"3.13"`` for 3.13.5: the name of the interpreter binary's suffix."""
        return ".".join(self.version.split(".")[:2])


def flavour_tokens(flavour: str) -> frozenset[str]:
    """The build options a flavour spells; ``install_only`` variants count as one option each."""
    return frozenset(flavour.removesuffix("-full").split("+"))


def parse_archive_name(filename: str) -> ArchiveName:
    """Parse a current or legacy archive name; :class:`InvalidArchiveName` names what did not fit."""
    current = _CURRENT.match(filename)
    if current:
        flavour = _CURRENT_FLAVOUR.search(current["rest"])
        if flavour is None:
            raise InvalidArchiveName(
                f"{filename}: no known flavour (install_only… or …-full) after the triple"
            )
        triple = current["rest"][: flavour.start()]
        return ArchiveName(
            filename, current["version"], current["release"], triple, flavour["flavour"], current["ext"]
        )
    legacy = _LEGACY.match(filename)
    if legacy:
        return _parse_legacy(filename, legacy)
    raise InvalidArchiveName(
        f"{filename}: not a python-build-standalone archive name "
        "(expected cpython-VERSION+YYYYMMDD-TRIPLE-FLAVOUR.tar.gz|tar.zst)"
    )


def _parse_legacy(filename: str, match: re.Match[str]) -> ArchiveName:
    """Legacy names put the flavour before a timestamp and spell linkage as a triple suffix."""
    triple, _, flavour = match["rest"].rpartition("-")
    bare_triple, _, linkage = triple.rpartition("-")
    if linkage in _LEGACY_LINKAGE:
        flavour, triple = f"{linkage}-{flavour}", bare_triple
    normalized = pbs_data()["legacy_flavours"].get(flavour)
    if not triple or normalized is None:
        raise InvalidArchiveName(f"{filename}: legacy archive name with an unknown flavour {flavour!r}")
    return ArchiveName(
        filename, match["version"], match["release"], triple, normalized, match["ext"], legacy=True
    )


def is_archive_name(filename: str) -> bool:
    """True for names :func:`parse_archive_name` accepts (SHA256SUMS also lists non-CPython files)."""
    try:
        parse_archive_name(filename)
    except InvalidArchiveName:
        return False
    return True


__all__ = [
    "ArchiveName",
    "InvalidArchiveName",
    "flavour_tokens",
    "is_archive_name",
    "parse_archive_name",
    "pbs_data",
]
