"""A PEP 751 ``pylock.toml`` as values, and reading one back: what ``sync`` installs from.

A lock made here serves every node it was made for (and, through its fallbacks, others): each
variant-enabled package lists every wheel a listed node would choose, the null variant and the plain
wheel when the index has them, and, inline in ``[packages.variants-json]``, the index's variant
metadata cut down to exactly the locked labels, so that each node ranks them without an index. A
package only some variants need (a CUDA runtime under a CUDA variant) names them in
``[packages.tool.jupyter_pyvariant] needed-by``: PEP 751 markers cannot speak of variants. A lock
of one machine's files (``lock --profile``, and every lock made before: one file per package, its
label in the tool table) reads into the same values, and ``sync`` installs those files as they are.

Writing is :mod:`.lock_write`, making one from the nodes' plans :mod:`.lock_build`, choosing and
installing on a node :mod:`.lock_sync`.
"""

from __future__ import annotations

__all__ = [
    "LOCK_VERSION",
    "PLAIN",
    "THIS_HOST",
    "TOOL",
    "Lock",
    "LockError",
    "LockedFile",
    "LockedPackage",
    "Requirer",
    "node_name",
    "read_lock",
]

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._data import loads_toml
from ..errors import InstallError

if TYPE_CHECKING:
    from ..variants.metadata import VariantMetadata

LOCK_VERSION = "1.0"
TOOL = "jupyter_pyvariant"
PLAIN = ""
"""The label a ``needed-by`` entry gives the plain (non-variant) wheel, as PEP 825's
``variant_label`` marker does."""
_FILE_KEYS = ("url", "path", "hashes", "name")
"""Keys of ``[packages.variants-json]`` that locate the index's file; the rest is its document."""


THIS_HOST = "this"
"""What ``lock --for`` names this host by."""


def node_name(target: str | None) -> str:
    """A node as locks and ``sync`` name it: ``this host`` or ``profile FILE``."""
    return "this host" if target in (None, THIS_HOST) else f"profile {target}"


class LockError(InstallError, ValueError):
    """A lock file that cannot be used, naming the file and the package."""


@dataclass(frozen=True)
class LockedFile:
    filename: str
    url: str
    sha256: str

    @property
    def label(self) -> str | None:
        """The wheel's variant label (None: a plain wheel or an sdist)."""
        from ..variants.properties import VariantFormatError, WheelName

        if not self.filename.endswith(".whl"):
            return None
        try:
            return WheelName.parse(self.filename).label
        except VariantFormatError:
            return None


@dataclass(frozen=True)
class Requirer:
    """A locked package whose install needs another one, when installed as one of ``labels``
    (:data:`PLAIN` for its plain wheel; none listed: however it is installed)."""

    name: str
    labels: tuple[str, ...] = ()

    def __str__(self) -> str:
        """``gpukit as cu12 or the plain wheel``; ``gpukit`` when however it is installed."""
        shown = ["the plain wheel" if label == PLAIN else label for label in self.labels]
        return f"{self.name} as {' or '.join(shown)}" if shown else self.name


@dataclass(frozen=True)
class LockedPackage:
    """One package of a lock: the files a node chooses among, and what they stand for."""

    name: str
    version: str
    index: str | None
    files: tuple[LockedFile, ...]
    is_wheel: bool
    variants_json: LockedFile | None = None
    """The index's ``variants.json`` the labels were read from (None where only inline)."""
    metadata: VariantMetadata | None = None
    """The variant metadata of exactly the locked labels (None: a lock made for one target)."""
    variant_label: str | None = None
    """In a lock made for one target: the label of its one file."""
    properties: tuple[str, ...] = ()
    """In a lock made for one target: the properties of that label."""
    needed_by: tuple[Requirer, ...] = ()
    """Empty: every node installs it; else only a node installing one of these."""
    unlocked: Mapping[str, tuple[str, ...]] | None = None
    """Wheel filename -> the dependencies it names that the lock lacks (no listed node needed
    them): a node must not choose that wheel."""

    @property
    def has_variants(self) -> bool:
        return self.metadata is not None


@dataclass(frozen=True)
class Lock:
    path: str
    packages: tuple[LockedPackage, ...]
    supported_from: str | None = None
    nodes: tuple[str, ...] = ()
    """The machines it was made for (``this host``, ``profile FILE``); empty in older locks."""


# --------------------------------------------------------------------------------------------------
# Reading


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise LockError(f"{where}: must be a table")
    return raw


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise LockError(f"{where}: must be an array")
    return raw


def _optional_string(raw: Any, where: str) -> str | None:
    if raw is not None and not isinstance(raw, str):
        raise LockError(f"{where}: must be a string")
    return raw


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    items = _list(raw, where)
    if not all(isinstance(item, str) for item in items):
        raise LockError(f"{where}: must be strings")
    return tuple(items)


def _file(raw: Any, where: str) -> LockedFile:
    table = _mapping(raw, where)
    url, sha256 = table.get("url"), _mapping(table.get("hashes") or {}, f"{where} hashes").get("sha256")
    if not isinstance(url, str) or not isinstance(sha256, str):
        raise LockError(f"{where}: needs a url and hashes.sha256")
    filename = table.get("name") or url.rstrip("/").rsplit("/", 1)[-1]
    if not isinstance(filename, str):
        raise LockError(f"{where}: name must be a string")
    return LockedFile(filename, url, sha256.lower())


def _wheel(raw: Any, where: str) -> LockedFile:
    from ..variants.properties import VariantFormatError, WheelName

    file = _file(raw, where)
    try:
        WheelName.parse(file.filename)
    except VariantFormatError as exc:
        raise LockError(f"{where}: {exc}") from None
    return file


def _tool(raw: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """This project's ``[tool.jupyter_pyvariant]`` table of ``raw`` (empty when absent)."""
    return _mapping(_mapping(raw.get("tool", {}), f"{where} tool").get(TOOL, {}), f"{where} tool.{TOOL}")


def _variants(raw: Any, name: str, where: str) -> tuple[LockedFile | None, VariantMetadata | None]:
    """``[packages.variants-json]``: the index file it names, and the inline document if any."""
    from ..variants.metadata import MetadataError
    from ..variants.reader import parse_variants_json

    table = _mapping(raw, f"{where} variants-json")
    located = "url" in table or "hashes" in table
    file = _file(table, f"{where} variants-json") if located else None
    document = {key: value for key, value in table.items() if key not in _FILE_KEYS}
    if not document:
        if file is None:
            raise LockError(f"{where} variants-json: needs a url and hashes.sha256, or the variants")
        return file, None
    try:
        metadata = parse_variants_json(document, f"[packages.variants-json] of {name}", package=name)
    except MetadataError as exc:
        raise LockError(f"{where} variants-json: {exc}") from None
    return file, metadata


def _needed_by(raw: Any, where: str) -> tuple[Requirer, ...]:
    requirers = []
    for entry in _list(raw, where):
        table = _mapping(entry, where)
        name = table.get("name")
        if not isinstance(name, str):
            raise LockError(f"{where}: every entry needs a name")
        requirers.append(Requirer(name, _strings(table.get("variants", []), f"{where} variants")))
    return tuple(requirers)


def _unlocked(raw: Any, where: str) -> Mapping[str, tuple[str, ...]] | None:
    if raw is None:
        return None
    return {str(key): _strings(value, f"{where} {key}") for key, value in _mapping(raw, where).items()}


def _package(raw: Any, where: str) -> LockedPackage:
    table = _mapping(raw, where)
    name, version = table.get("name"), table.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise LockError(f"{where}: needs name and version")
    wheels = _list(table.get("wheels") or [], f"{where} wheels")
    if wheels:
        files, is_wheel = tuple(_wheel(w, f"{where} wheel") for w in wheels), True
    elif "sdist" in table:
        files, is_wheel = (_file(table["sdist"], f"{where} sdist"),), False
    else:
        raise LockError(f"{where}: has neither a wheel nor an sdist")
    tool = _tool(table, where)
    variants_file, metadata = (
        _variants(table["variants-json"], name, where) if table.get("variants-json") else (None, None)
    )
    _check_labels(files, metadata, where)
    return LockedPackage(
        name=name,
        version=version,
        index=_optional_string(table.get("index"), f"{where} index"),
        files=files,
        is_wheel=is_wheel,
        variants_json=variants_file,
        metadata=metadata,
        variant_label=_optional_string(tool.get("variant-label"), f"{where} tool.{TOOL}.variant-label"),
        properties=_strings(tool.get("properties", []), f"{where} tool.{TOOL}.properties"),
        needed_by=_needed_by(tool.get("needed-by", []), f"{where} tool.{TOOL}.needed-by"),
        unlocked=_unlocked(tool.get("unlocked-dependencies"), f"{where} tool.{TOOL}.unlocked-dependencies"),
    )


def _check_labels(files: tuple[LockedFile, ...], metadata: VariantMetadata | None, where: str) -> None:
    """Every labelled wheel is described by the inline metadata; without it, at most one file is
    a variant (the one a lock for one target chose)."""
    labels = [label for file in files if (label := file.label) is not None]
    if metadata is None:
        if labels and len(files) > 1:
            raise LockError(
                f"{where}: lists {len(files)} wheels, variants among them, but its variants-json "
                "holds no variants to choose by"
            )
        return
    described = {str(label) for label in metadata.variants} | {"null"}
    for file in files:
        if file.label is not None and file.label not in described:
            raise LockError(f"{where}: {file.filename} has label {file.label!r}, which variants-json lacks")


def read_lock(path: str | os.PathLike[str]) -> Lock:
    """A lock written by :mod:`.lock_write` (or any PEP 751 lock of wheels and sdists).

    Any other content raises :class:`LockError` naming the file and the part that is wrong.
    """
    name = os.fspath(path)
    try:
        data = loads_toml(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError, TOMLDecodeError
        raise LockError(f"cannot read lock {name}: {exc}") from None
    except RecursionError:  # nested arrays and tables are read recursively
        raise LockError(f"cannot read lock {name}: nested too deeply") from None
    version = str(data.get("lock-version", ""))
    if version.split(".")[0] != "1":
        raise LockError(f"{name}: lock-version {version!r} is not supported (expected 1.x)")
    packages = []
    for position, raw in enumerate(_list(data.get("packages", []), f"{name}: packages"), 1):
        label = raw.get("name") if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) else position
        packages.append(_package(raw, f"{name}: package {label}"))
    tool = _tool(data, name)
    supported_from = _optional_string(tool.get("supported-from"), f"{name}: supported-from")
    nodes = _strings(tool.get("nodes", []), f"{name}: tool.{TOOL}.nodes")
    return Lock(name, tuple(packages), supported_from, nodes)
