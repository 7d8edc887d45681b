"""python-build-standalone archive names, current and legacy, parsed into one value.

Current: ``cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz``.
Legacy (until late 2021): ``cpython-3.8.2-x86_64-pc-windows-msvc-shared-pgo-20200518T0154.tar.zst``.
The name is the only place some facts live (install_only archives carry no marker of their triple),
so everything downstream (selection, the store's folder names, markers) starts here.

Triples and flavours both contain dashes (``x86_64_v4-unknown-linux-gnu`` + ``freethreaded-install_only``),
so the flavour is read from the right: the trailing parts made only of known flavour tokens.
"""

from __future__ import annotations

__all__ = ["ArchiveName", "InvalidArchiveName", "is_archive_name", "parse_archive_name", "pbs_data"]

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import PythonsError
from ..host.triples import target_for_triple

# Matched whole (``fullmatch``) and in ASCII only: a name becomes a folder name and a URL path, so
# a trailing newline, a non-ASCII digit or a stray byte is refused here, not downstream.
_CURRENT = re.compile(
    r"cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\+(?P<release>\d{8})-(?P<rest>[\w.+-]+)"
    r"\.(?P<ext>tar\.gz|tar\.zst)",
    re.ASCII,
)
_LEGACY = re.compile(
    r"cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)-(?P<rest>[\w.+-]+)-(?P<stamp>(?P<release>\d{8})T\d{4})"
    r"\.(?P<ext>tar\.gz|tar\.zst)",
    re.ASCII,
)


class InvalidArchiveName(PythonsError, ValueError):
    """A file name that is not a python-build-standalone CPython archive."""


def pbs_data() -> dict[str, Any]:
    """The python-build-standalone knowledge table (``data/pbs.json``)."""
    from .._data import table

    data: dict[str, Any] = table("pythons", "pbs.json")
    return data


@dataclass(frozen=True)
class ArchiveName:
    """What an archive's name says: version, release tag, target triple, flavour, compression.

    ``flavour`` is the one spelling selection and markers use; ``spelling`` is the flavour as this
    name writes it, and ``stamp`` the legacy build time, so that :attr:`filename` gives the name back.
    """

    version: str
    release: str
    triple: str
    flavour: str
    extension: str
    spelling: str
    stamp: str | None = None

    @property
    def legacy(self) -> bool:
        return self.stamp is not None

    @property
    def filename(self) -> str:
        if self.stamp is not None:
            flavour = f"-{self.spelling}" if self.spelling else ""
            return f"cpython-{self.version}-{self.triple}{flavour}-{self.stamp}.{self.extension}"
        return f"cpython-{self.version}+{self.release}-{self.triple}-{self.spelling}.{self.extension}"

    @property
    def stem(self) -> str:
        """The name without its compression suffix: the store's folder name for this build."""
        return self.filename.removesuffix("." + self.extension)

    @property
    def tokens(self) -> frozenset[str]:
        """Every flavour token the name carries: ``{"freethreaded", "pgo", "lto", "full"}``."""
        parts = frozenset(re.split(r"[+-]", self.spelling)) - {""}
        return parts if "install_only" in parts or "install_only_stripped" in parts else parts | {"full"}

    @property
    def full(self) -> bool:
        """Full archives unpack to ``python/install/…`` beside ``python/PYTHON.json``."""
        return "full" in self.tokens

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


def parse_archive_name(filename: str) -> ArchiveName:
    """Parse a current or legacy archive name; :class:`InvalidArchiveName` names what did not fit."""
    current = _CURRENT.fullmatch(filename)
    if current:
        triple, spelling = _split_flavour(filename, current["rest"])
        return ArchiveName(
            current["version"],
            current["release"],
            triple,
            _flavour(filename, spelling),
            current["ext"],
            spelling,
        )
    legacy = _LEGACY.fullmatch(filename)
    if legacy:
        if legacy["rest"] in pbs_data()["first_platforms"]:
            triple, spelling, flavour = legacy["rest"], "", "full"
        else:
            triple, spelling = _split_flavour(filename, legacy["rest"])
            flavour = pbs_data()["legacy_flavours"].get(spelling)
        if flavour is None:
            raise InvalidArchiveName(f"{filename}: legacy archive name with an unknown flavour {spelling!r}")
        return ArchiveName(
            legacy["version"], legacy["release"], triple, flavour, legacy["ext"], spelling, legacy["stamp"]
        )
    raise InvalidArchiveName(
        f"{filename}: not a python-build-standalone archive name "
        "(expected cpython-VERSION+YYYYMMDD-TRIPLE-FLAVOUR.tar.gz|tar.zst)"
    )


@cache
def _known_tokens() -> frozenset[str]:
    table = pbs_data()["flavour_tokens"]
    return frozenset(table["layouts"]) | frozenset(table["options"])


def _split_flavour(filename: str, rest: str) -> tuple[str, str]:
    """``x86_64_v4-unknown-linux-gnu-freethreaded-install_only`` → the triple and the flavour's spelling."""
    segments = rest.split("-")
    known = _known_tokens()
    cut = len(segments)
    while cut > 1 and set(segments[cut - 1].split("+")) <= known:
        cut -= 1
    if cut == len(segments):
        raise InvalidArchiveName(
            f"{filename}: no known flavour after the triple (flavour tokens: {', '.join(sorted(known))})"
        )
    return "-".join(segments[:cut]), "-".join(segments[cut:])


def _flavour(filename: str, spelling: str) -> str:
    """The flavour's one spelling: ``freethreaded-install_only`` → ``freethreaded+install_only``."""
    table = pbs_data()["flavour_tokens"]
    parts = re.split(r"[+-]", spelling)
    layouts = [p for p in parts if p in table["layouts"]]
    if len(layouts) != 1 or parts[-1] != layouts[0]:
        raise InvalidArchiveName(
            f"{filename}: the flavour {spelling!r} does not end in one of {', '.join(table['layouts'])}"
        )
    options = [p for p in parts[:-1] if p not in table["dropped"]]
    if layouts[0] == "full":
        return "+".join(options) + "-full"
    return "+".join([*options, layouts[0]])


def is_archive_name(filename: str) -> bool:
    """True for names :func:`parse_archive_name` accepts (SHA256SUMS also lists non-CPython files)."""
    try:
        parse_archive_name(filename)
    except InvalidArchiveName:
        return False
    return True
