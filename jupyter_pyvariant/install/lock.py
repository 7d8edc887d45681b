"""PEP 751 ``pylock.toml`` with PEP 825's ``[packages.variants-json]``, and reading it back for ``sync``.

A lock lists, per package, exactly the file the plan chose (its upstream name with the variant
label, URL and sha256) plus the index-level variant metadata it was chosen by. ``sync`` serves those
files, and only those, through the view, so the environment gets the very same bytes. A lock made
with ``--profile`` records the variants another machine would get. URLs never carry credentials:
``sync`` finds them again in the index URLs or netrc, as the plan did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..index.models import FileLink
from ..index.names import strip_credentials
from ..index.view import PresentedFile, PresentedProject
from . import runner
from .plan import Plan
from .session import Session, installed_label

if TYPE_CHECKING:
    from ..display import Progress

LOCK_VERSION = "1.0"
TOOL = "jupyter_pyvariant"


class LockError(ValueError):
    """A lock file that cannot be used, naming the file and the package."""


@dataclass(frozen=True)
class LockedFile:
    filename: str
    url: str
    sha256: str


@dataclass(frozen=True)
class LockedPackage:
    """One package of a lock: the one file to install, and the variant it is."""

    name: str
    version: str
    index: str | None
    file: LockedFile
    is_wheel: bool
    variants_json: LockedFile | None
    variant_label: str | None
    properties: tuple[str, ...]

    def presented(self) -> PresentedProject:
        """The view's page for this package: the locked file alone, under its base filename."""
        from ..variants.properties import WheelName

        shown = WheelName.parse(self.file.filename).base_filename if self.is_wheel else self.file.filename
        link = FileLink(self.file.filename, self.file.url, self.index or "", (("sha256", self.file.sha256),))
        return PresentedProject(self.name, (PresentedFile(shown, link),))


@dataclass(frozen=True)
class Lock:
    path: str
    packages: tuple[LockedPackage, ...]
    supported_from: str | None

    def presented(self, project: str) -> PresentedProject | None:
        """The selector ``sync`` gives the view: locked projects only."""
        return next((p.presented() for p in self.packages if p.name == project), None)


# --------------------------------------------------------------------------------------------------
# The environment as it is


def _unlisted(target: runner.Target) -> frozenset[str]:
    """What ``pip freeze`` leaves out (pip 26.3): pip, and the build backends before Python 3.12."""
    backends = ("setuptools", "distribute", "wheel")
    older = tuple(int(x) for x in target.version.split(".")[:2]) < (3, 12)
    return frozenset(("pip", *(backends if older else ())))


def environment_requirements(target: runner.Target) -> tuple[list[str], list[str]]:
    """Pins of what ``pip freeze`` lists in ``target`` that an index can serve, and the names of
    those it cannot (installed from a folder or URL: an index has no file to lock for them)."""
    unlisted = _unlisted(target)
    listed = sorted((d for d in target.distributions if d.project not in unlisted), key=lambda d: d.project)
    pins = [f"{d.name}=={d.version}" for d in listed if not d.direct_url]
    return pins, [d.name for d in listed if d.direct_url]


# --------------------------------------------------------------------------------------------------
# Writing


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
    return key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key)


def _table(header: str, values: Mapping[str, Any]) -> list[str]:
    lines = [header]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items() if v is not None]
    return [*lines, ""]


def lock_text(plan: Plan, requires_python: str | None = None) -> str:
    """The ``pylock.toml`` text for a plan (every package it installs, with hashes)."""
    lines = [
        f"# Written by {TOOL}: the files chosen for {plan.supported_from}.",
        f"lock-version = {_toml_value(LOCK_VERSION)}",
        f"created-by = {_toml_value(TOOL)}",
    ]
    if requires_python:
        lines.append(f"requires-python = {_toml_value(requires_python)}")
    lines.append("")
    for package in plan.packages:
        if package.filename is None or package.url is None or package.sha256 is None:
            raise LockError(
                f"{package.name} {package.version}: no file with a sha256 to lock ({package.summary})"
            )
        lines += _table(
            "[[packages]]",
            {"name": package.name, "version": package.version, "index": _clean(package.index)},
        )
        file = {"name": package.filename, "url": _clean(package.url), "hashes": {"sha256": package.sha256}}
        lines += _table(
            "[[packages.wheels]]" if package.filename.endswith(".whl") else "[packages.sdist]", file
        )
        variants = package.variants_json
        if variants is not None and variants.sha256:
            lines += _table(
                "[packages.variants-json]",
                {"url": _clean(variants.url), "hashes": {"sha256": variants.sha256}},
            )
        if package.variant_label is not None:
            tool = {"variant-label": package.variant_label, "properties": list(package.properties)}
            lines += _table(f"[packages.tool.{TOOL}]", tool)
    lines += _table(f"[tool.{TOOL}]", {"supported-from": plan.supported_from, "installer": plan.installer})
    return "\n".join(lines)


def _clean(url: str | None) -> str | None:
    return None if url is None else strip_credentials(url)[0]


def write_lock(plan: Plan, path: str | os.PathLike[str], requires_python: str | None = None) -> Path:
    """Write the lock atomically (a reader never sees half a file), readable as the umask allows."""
    from .._atomic import write_text_atomic

    target = Path(path)
    write_text_atomic(target, lock_text(plan, requires_python), create_parents=False, shared=True)
    return target


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


def _file(raw: Any, where: str) -> LockedFile:
    table = _mapping(raw, where)
    url, sha256 = table.get("url"), _mapping(table.get("hashes") or {}, f"{where} hashes").get("sha256")
    if not isinstance(url, str) or not isinstance(sha256, str):
        raise LockError(f"{where}: needs a url and hashes.sha256")
    filename = table.get("name") or url.rstrip("/").rsplit("/", 1)[-1]
    return LockedFile(str(filename), url, sha256.lower())


def _tool(raw: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """This project's ``[tool.pyvariant]`` table of ``raw`` (empty when absent)."""
    return _mapping(_mapping(raw.get("tool", {}), f"{where} tool").get(TOOL, {}), f"{where} tool.{TOOL}")


def _package(raw: Any, where: str) -> LockedPackage:
    table = _mapping(raw, where)
    wheels = _list(table.get("wheels") or [], f"{where} wheels")
    if len(wheels) > 1:
        raise LockError(f"{where}: lists {len(wheels)} wheels; sync needs the one chosen file per package")
    if wheels:
        file, is_wheel = _file(wheels[0], f"{where} wheel"), True
    elif "sdist" in table:
        file, is_wheel = _file(table["sdist"], f"{where} sdist"), False
    else:
        raise LockError(f"{where}: has neither a wheel nor an sdist")
    name, version = table.get("name"), table.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise LockError(f"{where}: needs name and version")
    tool = _tool(table, where)
    properties = _list(tool.get("properties", []), f"{where} tool.{TOOL}.properties")
    if not all(isinstance(p, str) for p in properties):
        raise LockError(f"{where}: tool.{TOOL}.properties must be strings")
    variants = table.get("variants-json")
    return LockedPackage(
        name=name,
        version=version,
        index=_optional_string(table.get("index"), f"{where} index"),
        file=file,
        is_wheel=is_wheel,
        variants_json=_file(variants, f"{where} variants-json") if variants else None,
        variant_label=_optional_string(tool.get("variant-label"), f"{where} tool.{TOOL}.variant-label"),
        properties=tuple(properties),
    )


def read_lock(path: str | os.PathLike[str]) -> Lock:
    """A lock written by :func:`lock_text` (or any PEP 751 lock listing one wheel per package).

    Any other content raises :class:`LockError` naming the file and the part that is wrong.
    """
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    name = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"cannot read lock {name}: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise LockError(f"cannot read lock {name}: nested too deeply") from None
    version = str(data.get("lock-version", ""))
    if version.split(".")[0] != "1":
        raise LockError(f"{name}: lock-version {version!r} is not supported (expected 1.x)")
    packages = []
    for position, raw in enumerate(_list(data.get("packages", []), f"{name}: packages"), 1):
        label = raw.get("name") if isinstance(raw, Mapping) and isinstance(raw.get("name"), str) else position
        packages.append(_package(raw, f"{name}: package {label}"))
    supported_from = _optional_string(_tool(data, name).get("supported-from"), f"{name}: supported-from")
    return Lock(name, tuple(packages), supported_from)


# --------------------------------------------------------------------------------------------------
# Syncing


@dataclass(frozen=True)
class SyncResult:
    changes: tuple[tuple[str, str], ...]
    """(name, version) the installer installs (or would, in a dry run)."""
    reinstall: tuple[str, ...]
    """Locked packages installed at the locked version but as another variant."""


def sync(
    session: Session, lock: Lock, *, dry_run: bool = False, progress: Progress | None = None
) -> SyncResult:
    """Make the target hold exactly the locked files: pinned, without dependencies, through the view."""
    from packaging.version import Version

    session.view.selector = lock.presented
    reinstall = []
    for package in lock.packages:
        installed = session.target.installed(package.name)
        same_version = installed is not None and Version(installed.version) == Version(package.version)
        if installed is not None and same_version and installed_label(installed) != package.variant_label:
            reinstall.append(package.name)
    pins = [f"{p.name}=={p.version}" for p in lock.packages]
    problems = session.view.problems
    changes = runner.install(
        session.installer,
        session.view.installer_url,
        pins,
        problems,
        dry_run=dry_run,
        reinstall=reinstall,
        no_deps=True,
        progress=progress,
    )
    return SyncResult(tuple(changes), tuple(reinstall))
