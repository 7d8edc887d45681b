"""The target interpreter: asked once, in a subprocess, what it is and what it has installed.

Its answer (tags, prefix, installed distributions with their ``variant.json``) is what the plan
compares with the best fit; the question starts as early as the interpreter is known, and whoever
needs the answer first waits for it.
"""

from __future__ import annotations

__all__ = ["Installed", "PendingTarget", "Target", "ask_target", "inspect_target", "set_aside"]

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runner import InstallerError

if TYPE_CHECKING:
    from ..variants.metadata import VariantMetadata

_INSPECT = r"""
import json, os, sys


def read(folder, name, errors="strict"):
    try:
        with open(os.path.join(folder, name), encoding="utf-8", errors=errors) as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError):
        return None


def headers(text):
    found = {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            break
        key, sep, value = line.partition(":")
        if sep and line[0] not in " \t":
            found.setdefault(key.strip().lower(), []).append(value.strip())
    return found


def scan():
    # .dist-info folders read directly: importlib.metadata costs ~40 ms of imports (email, zipfile)
    # on every install. Anything else (.egg-info, zipped entries) is left to importlib.metadata.
    dists = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except FileNotFoundError:
            continue
        except OSError:
            return None
        for name in names:
            if name.endswith((".egg-info", ".egg")):
                return None
            folder = os.path.join(entry or ".", name)
            text = read(folder, "METADATA") if name.endswith(".dist-info") else None
            found = headers(text) if text else {}
            if found.get("name"):
                dists.append({"name": found["name"][0], "version": found.get("version", [""])[0],
                              # not UTF-8: still there, for the reader to call unreadable
                              "variant_json": read(folder, "variant.json", "replace"),
                              "requires": found.get("requires-dist", []),
                              "direct_url": read(folder, "direct_url.json") is not None,
                              "folder": os.path.abspath(folder),
                              "complete": os.path.isfile(os.path.join(folder, "RECORD"))})
    return dists


def from_importlib():
    import importlib.metadata as metadata
    dists = []
    for dist in metadata.distributions():
        try:
            variant = dist.read_text("variant.json")
            direct = dist.read_text("direct_url.json") is not None
            complete = dist.read_text("RECORD") is not None
        except Exception:
            variant, direct, complete = None, False, True
        name = dist.metadata["Name"]
        if name:
            dists.append({"name": name, "version": dist.version, "variant_json": variant,
                          "requires": dist.requires or [], "direct_url": direct, "folder": None,
                          "complete": complete})
    return dists


dists = scan()
if dists is None:
    dists = from_importlib()
sys.path.append(sys.argv[1])
try:
    from packaging import tags
    tag_list = [str(t) for t in tags.sys_tags()]
except Exception:
    tag_list = None
import sysconfig
sites = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
print(json.dumps({"executable": sys.executable, "prefix": sys.prefix,
                  "version": ".".join(map(str, sys.version_info[:3])), "tags": tag_list,
                  "has_pip": any(d["name"].lower() == "pip" for d in dists), "distributions": dists,
                  "site_dirs": sites}))
"""


@dataclass(frozen=True)
class Installed:
    """A distribution in the target environment, with its variant label when it has one."""

    name: str
    version: str
    variant_json: str | None
    requires: tuple[str, ...] = ()
    direct_url: bool = False
    """Installed from a folder or URL (PEP 610 ``direct_url.json``), not from an index."""
    folder: str | None = None
    """Its ``.dist-info`` folder (None where importlib.metadata answered)."""
    complete: bool = True
    """Whether it has its RECORD: an installer killed mid-install leaves one without, which pip
    then cannot uninstall."""

    @property
    def project(self) -> str:
        from packaging.utils import canonicalize_name

        return str(canonicalize_name(self.name))

    def variant(self) -> VariantMetadata | None:
        """Its ``variant.json`` as read (None: a plain wheel); one that cannot be read raises
        :class:`.metadata.MetadataError` naming the distribution."""
        if self.variant_json is None:
            return None
        from ..variants.reader import parse_variants_json

        where = f"{self.name}-{self.version}.dist-info/variant.json"
        return parse_variants_json(self.variant_json, where, package=self.name, file=where)

    @property
    def label(self) -> str | None:
        """The label its ``variant.json`` records (None: a plain wheel, or no readable label)."""
        from ..variants.metadata import MetadataError

        try:
            metadata = self.variant()
        except MetadataError:
            return None
        return None if metadata is None else str(next(iter(metadata.variants), "")) or None


@dataclass(frozen=True)
class Target:
    """The interpreter whose environment is installed into."""

    executable: str
    prefix: str
    version: str
    tags: tuple[str, ...] | None
    """``packaging.tags.sys_tags()`` of the target, best first (None if it could not say)."""
    has_pip: bool
    distributions: tuple[Installed, ...]
    site_dirs: tuple[str, ...] = ()
    """Where installers put distributions (purelib, platlib)."""

    @property
    def is_this_process(self) -> bool:
        return os.path.realpath(self.prefix) == os.path.realpath(sys.prefix)

    def installed(self, project: str) -> Installed | None:
        return next((d for d in self.distributions if d.project == project), None)

    def incomplete(self, installed: Iterable[tuple[str, str]]) -> list[str]:
        """Those of ``installed`` (name, version) whose ``.dist-info`` has no RECORD where the
        installer put it: read from the folders themselves, after an install."""
        from packaging.utils import canonicalize_name, canonicalize_version

        if not self.site_dirs:
            return []

        folders: dict[tuple[str, str], str] = {}
        for site in self.site_dirs:
            try:
                names = os.listdir(site)
            except OSError:
                continue
            for name in names:
                if name.endswith(".dist-info") and "-" in name:
                    project, _, version = name.removesuffix(".dist-info").rpartition("-")
                    key = (canonicalize_name(project), canonicalize_version(version))
                    folders[key] = os.path.join(site, name)
        missing = []
        for name, version in installed:
            folder = folders.get((canonicalize_name(name), canonicalize_version(version)))
            if folder is None or not os.path.isfile(os.path.join(folder, "RECORD")):
                missing.append(f"{name} {version}")
        return missing


def inspect_target(python: str | None = None) -> Target:
    """Ask the target interpreter about itself (tags, prefix, installed distributions)."""
    return ask_target(python).result()


class PendingTarget:
    """The target interpreter's answer: asked at once in a subprocess, read when first needed.

    Thread-safe: whoever needs the answer first waits for it; everyone gets the same one.
    """

    def __init__(self, executable: str, process: subprocess.Popen[str] | OSError | Target) -> None:
        self.executable = executable
        self._process = process
        self._lock = threading.Lock()
        self._answer: Target | InstallerError | None = process if isinstance(process, Target) else None

    def result(self) -> Target:
        with self._lock:
            if self._answer is None:
                self._answer = self._read()
        if isinstance(self._answer, InstallerError):
            raise self._answer
        return self._answer

    def _read(self) -> Target | InstallerError:
        executable, process = self.executable, self._process
        if isinstance(process, Target):
            return process
        if isinstance(process, OSError):
            return InstallerError(f"cannot run the target interpreter {executable}: {process}")
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return InstallerError(f"the target interpreter {executable} did not answer in 120 s")
        if process.returncode != 0:
            return InstallerError(f"the target interpreter {executable} failed: {stderr.strip()[-2000:]}")
        return _target_from(executable, json.loads(stdout))


def ask_target(python: str | None = None) -> PendingTarget:
    """Start asking the target interpreter about itself; the answer is read by ``result()``."""
    import packaging

    executable = python or sys.executable
    helper_path = str(Path(packaging.__file__).parent.parent)
    try:
        process: subprocess.Popen[str] | OSError = subprocess.Popen(
            [executable, "-c", _INSPECT, helper_path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as exc:
        process = exc
    return PendingTarget(executable, process)


def _target_from(executable: str, data: dict[str, Any]) -> Target:
    return Target(
        executable=executable,
        prefix=data["prefix"],
        version=data["version"],
        tags=tuple(data["tags"]) if data["tags"] is not None else None,
        has_pip=bool(data["has_pip"]),
        distributions=tuple(
            Installed(
                d["name"],
                d["version"],
                d["variant_json"],
                tuple(d["requires"]),
                d["direct_url"],
                d.get("folder"),
                d.get("complete", True),
            )
            for d in data["distributions"]
        ),
        site_dirs=tuple(data.get("site_dirs", ())),
    )


@contextmanager
def set_aside(broken: Sequence[Installed]) -> Iterator[None]:
    """Move the ``.dist-info`` folders of incomplete distributions out of the installer's sight (it
    cannot uninstall what has no RECORD), so that it installs them whole; put them back if the
    install fails, drop them once it succeeded."""
    import shutil

    moved = []
    try:
        for dist in broken:
            assert dist.folder is not None
            aside = f"{dist.folder}.pyvariant-incomplete"
            os.replace(dist.folder, aside)
            moved.append((dist.folder, aside))
        yield
    except BaseException:
        for folder, aside in reversed(moved):
            with suppress(OSError):
                os.replace(aside, folder)
        raise
    for _, aside in moved:
        shutil.rmtree(aside, ignore_errors=True)
