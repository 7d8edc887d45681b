"""The four catalog formats python-build-standalone's users have, recognised by content.

The release index (one JSON object per line, newest release first, each with ``artifacts`` of url
and sha256), a release's ``SHA256SUMS`` (``<hex>  <filename>``), uv's ``download-metadata.json``
(one object keyed ``cpython-3.13.15-linux-x86_64_v3-gnu``) and pbs-installer's ``versions.json`` (a
list of ``{"files": [...]}``): all end up as :class:`.build.Build` values.
"""

from __future__ import annotations

__all__ = ["FORMATS", "parse_catalog_text"]

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from .build import Build
from .errors import CatalogError
from .names import ArchiveName, InvalidArchiveName, parse_archive_name

FORMATS = (
    "the python-build-standalone release index (NDJSON), a release's SHA256SUMS, "
    "uv's download-metadata.json or pbs-installer's versions.json"
)
_SUMS_LINE = re.compile(r"^(?P<sha256>[0-9a-fA-F]{64})\s+\*?(?P<filename>\S+)\s*$")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def parse_catalog_text(text: str, base_url: str) -> list[Build]:
    """Builds, newest release first, from text in any of :data:`FORMATS` (recognised by content).

    SHA256SUMS names resolve against ``base_url``; :class:`CatalogError` names the formats accepted.
    """
    stripped = text.lstrip()
    if stripped.startswith("["):
        builds = _parse_pbs_installer(_json_document(stripped))
    elif stripped.startswith("{"):
        try:
            document: Any = json.loads(stripped)
        except RecursionError:
            raise _refused("JSON nested too deeply") from None
        except ValueError:
            document = None  # several JSON lines: the release index
        if isinstance(document, dict) and "artifacts" not in document:
            builds = _parse_uv(document)
        else:
            builds = _parse_ndjson(stripped)
    else:
        builds = _parse_sums(stripped, base_url)
    builds.sort(key=lambda b: b.release, reverse=True)
    return builds


def _json_document(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _refused(f"not valid JSON ({exc})") from None


def _refused(problem: str) -> CatalogError:
    return CatalogError(f"{problem}: this is none of the catalog formats read here ({FORMATS})")


def _parse_ndjson(text: str) -> list[Build]:
    builds: list[Build] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            artifacts = json.loads(line)["artifacts"]
            pairs = [(a.get("url"), a.get("sha256")) for a in artifacts]
        except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
            raise _refused(f"line {number} is not a release object with artifacts (url, sha256)") from None
        builds += _builds(pairs)
    return builds


def _parse_uv(document: Mapping[str, Any]) -> list[Build]:
    """uv's ``download-metadata.json``: other implementations and entries without a sha256 are skipped."""
    pairs = []
    for key, entry in document.items():
        if not isinstance(entry, Mapping) or "url" not in entry:
            raise _refused(f"entry {key!r} is not a download object with a url and a sha256")
        pairs.append((entry.get("url"), entry.get("sha256")))
    return _builds(pairs)


def _parse_pbs_installer(document: Any) -> list[Build]:
    """pbs-installer's ``versions.json``: a list of ``{"python_version": …, "files": [{url, sha256}]}``."""
    pairs = []
    for number, entry in enumerate(document if isinstance(document, list) else [None], 1):
        try:
            pairs += [(file.get("url"), file.get("sha256")) for file in entry["files"]]
        except (KeyError, TypeError, AttributeError):
            raise _refused(f"item {number} is not an object with files (url, sha256)") from None
    return _builds(pairs)


def _builds(pairs: list[tuple[Any, Any]]) -> list[Build]:
    """Builds from (url, sha256) pairs; pairs without both (a URL and a hex sha256), or not naming a
    CPython archive, are skipped."""
    builds: list[Build] = []
    for url, sha256 in pairs:
        if not isinstance(url, str) or not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            continue
        try:
            path = urlsplit(url).path
        except ValueError:  # not a URL (an unclosed IPv6 bracket)
            continue
        name = _archive_name_or_none(unquote(path.rsplit("/", 1)[-1]))
        if name is not None:
            builds.append(Build.from_name(name, url, sha256))
    return builds


def _parse_sums(text: str, base_url: str) -> list[Build]:
    builds: list[Build] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line)
        if match is None:
            raise _refused(f"line {number} {line[:80]!r} is neither JSON nor '<sha256>  <filename>'")
        name = _archive_name_or_none(match["filename"])
        if name is not None:
            builds.append(Build.from_name(name, urljoin(base_url, quote(name.filename)), match["sha256"]))
    return builds


def _archive_name_or_none(filename: str) -> ArchiveName | None:
    """Catalogs also list non-CPython files (PyPy, GraalPy, SBOMs, .sha256); those are not builds."""
    try:
        return parse_archive_name(filename)
    except InvalidArchiveName:
        return None
