"""The text of a ``pylock.toml`` (PEP 751 with PEP 825's ``[packages.variants-json]``), written
atomically; and the environment as it is, as requirements to lock.

URLs never carry credentials: ``sync`` finds them again in the index URLs or netrc, as the plan did.
"""

from __future__ import annotations

__all__ = ["environment_requirements", "lock_text", "write_lock"]

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..index.names import strip_credentials
from .lock import LOCK_VERSION, TOOL, Lock, LockedFile, LockedPackage

if TYPE_CHECKING:
    from .target import Target


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    bare = key and key.replace("-", "").replace("_", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _table(header: str, values: Mapping[str, Any]) -> list[str]:
    lines = [header]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items() if v is not None]
    return [*lines, ""]


def _clean(url: str | None) -> str | None:
    return None if url is None else strip_credentials(url)[0]


def _file(file: LockedFile) -> dict[str, Any]:
    return {"name": file.filename, "url": _clean(file.url), "hashes": {"sha256": file.sha256}}


def _package(package: LockedPackage) -> list[str]:
    lines = _table(
        "[[packages]]", {"name": package.name, "version": package.version, "index": _clean(package.index)}
    )
    header = "[[packages.wheels]]" if package.is_wheel else "[packages.sdist]"
    for file in package.files:
        lines += _table(header, _file(file))
    variants: dict[str, Any] = {}
    if package.variants_json is not None:
        variants |= {
            "url": _clean(package.variants_json.url),
            "hashes": {"sha256": package.variants_json.sha256},
        }
    if package.metadata is not None:
        variants |= package.metadata.to_json()
    if variants:
        lines += _table("[packages.variants-json]", variants)
    tool: dict[str, Any] = {}
    if package.variant_label is not None:  # a lock for one target, as older versions wrote it
        tool |= {"variant-label": package.variant_label, "properties": list(package.properties)}
    if package.needed_by:
        tool["needed-by"] = [
            {"name": r.name, **({"variants": list(r.labels)} if r.labels else {})} for r in package.needed_by
        ]
    if package.unlocked:
        tool["unlocked-dependencies"] = {name: list(deps) for name, deps in package.unlocked.items()}
    if tool:
        lines += _table(f"[packages.tool.{TOOL}]", tool)
    return lines


def lock_text(lock: Lock, requires_python: str | None = None) -> str:
    """The ``pylock.toml`` text of a lock (every file with its hash); :func:`.lock.read_lock`
    reads it back to an equal value."""
    nodes = ", ".join(lock.nodes) or lock.supported_from or "this host"
    lines = [
        f"# Written by {TOOL}: the files chosen for {nodes}; each node installs its best fit.",
        f"lock-version = {_toml_value(LOCK_VERSION)}",
        f"created-by = {_toml_value(TOOL)}",
    ]
    if requires_python:
        lines.append(f"requires-python = {_toml_value(requires_python)}")
    lines.append("")
    for package in lock.packages:
        lines += _package(package)
    lines += _table(
        f"[tool.{TOOL}]", {"supported-from": lock.supported_from, "nodes": list(lock.nodes) or None}
    )
    return "\n".join(lines)


def write_lock(lock: Lock, path: str | os.PathLike[str], requires_python: str | None = None) -> Lock:
    """Write the lock atomically (a reader never sees half a file), readable as the umask allows;
    the lock as written (its path)."""
    from .._atomic import write_text_atomic

    target = Path(path)
    write_text_atomic(target, lock_text(lock, requires_python), create_parents=False, shared=True)
    return replace(lock, path=os.fspath(target))


# --------------------------------------------------------------------------------------------------
# The environment as it is


def _unlisted(target: Target) -> frozenset[str]:
    """What ``pip freeze`` leaves out (pip 26.3): pip, and the build backends before Python 3.12."""
    backends = ("setuptools", "distribute", "wheel")
    older = tuple(int(x) for x in target.version.split(".")[:2]) < (3, 12)
    return frozenset(("pip", *(backends if older else ())))


def environment_requirements(target: Target) -> tuple[list[str], list[str]]:
    """Pins of what ``pip freeze`` lists in ``target`` that an index can serve, and the names of
    those it cannot (installed from a folder or URL: an index has no file to lock for them)."""
    unlisted = _unlisted(target)
    listed = sorted((d for d in target.distributions if d.project not in unlisted), key=lambda d: d.project)
    pins = [f"{d.name}=={d.version}" for d in listed if not d.direct_url]
    return pins, [d.name for d in listed if d.direct_url]
