"""What an index page says: its files (:class:`FileLink`), the page itself (:class:`ProjectPage`),
and the check of a file's bytes against the hash the page promised."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from .._http import redact
from .errors import HashMismatch

__all__ = ["HASH_PREFERENCE", "FileLink", "ProjectPage", "hash_bytes", "metadata_link", "verify"]

HASH_PREFERENCE = ("sha256", "sha384", "sha512")


@dataclass(frozen=True)
class FileLink:
    """One file on an index page."""

    filename: str
    url: str
    index: str
    hashes: tuple[tuple[str, str], ...] = ()
    requires_python: str | None = None
    yanked: str | None = None
    """None when not yanked; the reason ("" when none was given) otherwise."""
    metadata_hashes: tuple[tuple[str, str], ...] | None = None
    """None when the index offers no PEP 658 metadata file; its hashes (maybe none) otherwise."""
    size: int | None = None

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")

    @property
    def strongest_hash(self) -> tuple[str, str] | None:
        known = dict(self.hashes)
        return next(((name, known[name]) for name in HASH_PREFERENCE if name in known), None)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class ProjectPage:
    """A project's files on the first index that knows it."""

    name: str
    index: str
    url: str
    files: tuple[FileLink, ...]
    fresh_until: float = 0.0
    """Until when the index lets the page be used without asking again (see :func:`.cache.fresh_until`)."""

    def variants_json(self, version: str) -> FileLink | None:
        """The ``{name}-{version}-variants.json`` link for ``version``, if the page lists one."""
        from packaging.version import InvalidVersion, Version

        for link in self.files:
            if not link.filename.endswith("-variants.json"):
                continue
            name, _, file_version = link.filename.removesuffix("-variants.json").rpartition("-")
            try:
                same = canonicalize_name(name) == self.name and Version(file_version) == Version(version)
            except InvalidVersion:
                continue
            if same:
                return link
        return None


def hash_bytes(link: FileLink, data: bytes) -> str | None:
    """The digest of ``data`` in the link's strongest algorithm (None when the link has no hash)."""
    strongest = link.strongest_hash
    return hashlib.new(strongest[0], data).hexdigest() if strongest else None


def verify(link: FileLink, project: str, digest: str | None) -> None:
    """Raise :class:`HashMismatch` when ``digest`` is not the link's promised hash."""
    strongest = link.strongest_hash
    if strongest and digest != strongest[1]:
        raise HashMismatch(
            f"{project}: {link.filename} from {redact(link.url)} has {strongest[0]} {digest}, "
            f"but {link.index} promised {strongest[1]}"
        )


def metadata_link(link: FileLink) -> FileLink:
    """The PEP 658 metadata file of ``link``, with the hashes its page gave for it."""
    return FileLink(
        f"{link.filename}.metadata", f"{link.url}.metadata", link.index, link.metadata_hashes or ()
    )
