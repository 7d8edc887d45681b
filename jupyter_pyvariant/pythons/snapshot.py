"""The catalog snapshot shipped in the package: what answers when no catalog does, and what a mirror
serves when no catalog is named (as uv ships its own list for ``UV_PYTHON_INSTALL_MIRROR``).

``scripts/make_python_snapshot.py`` makes it from a catalog in any format :mod:`.catalog` reads.
It keeps only what selection could choose, so it stays small: CPython builds for the triples the
project knows (Linux, macOS, Windows), never static ones, only the flavours selection ranks, and per
minor version, triple and kind (plain, free-threaded, debug, free-threaded debug) only the build
:func:`.select.select` would take there: the newest version, its newest release, the preferred flavour.
It is written in the release index's own format (NDJSON, one line per release, newest first), holding
only each archive's url and sha256 (no catalog format publishes sizes).

The shipped one was made from uv's download-metadata.json (astral-sh/uv 26a9dd4b, releases up to
20260814). pbs-installer's versions.json is newer (20261021) but lists only baseline x86-64 glibc
builds and no debug ones: a snapshot of it would hand every x86-64 host the baseline build.
"""

from __future__ import annotations

__all__ = ["FILENAME", "SOURCE", "builds", "made_at", "to_ndjson", "trim"]

import calendar
import json
import time
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

from ..host.triples import target_for_triple
from .build import Build
from .formats import parse_catalog_text
from .names import pbs_data

FILENAME = "catalog-snapshot.ndjson"
SOURCE = f"jupyter_pyvariant/pythons/data/{FILENAME}"


@cache
def builds() -> tuple[Build, ...]:
    """The snapshot's builds, newest release first (read once per process)."""
    text = resources.files(__package__).joinpath("data").joinpath(FILENAME).read_text(encoding="utf-8")
    return tuple(parse_catalog_text(text, base_url=SOURCE))


def made_at(snapshot: Sequence[Build]) -> float | None:
    """When the newest release in ``snapshot`` was tagged (seconds since the epoch): its age."""
    newest = max((b.release for b in snapshot), default=None)
    return calendar.timegm(time.strptime(newest, "%Y%m%d")) if newest else None


def trim(catalog: Iterable[Build]) -> list[Build]:
    """The builds selection could choose, one per minor version, triple and kind; newest release first."""
    from packaging.version import Version

    kinds: dict[str, list[str]] = pbs_data()["flavour_preference"]
    rank = {flavour: index for preference in kinds.values() for index, flavour in enumerate(preference)}
    best: dict[tuple[str, str, bool, bool], Build] = {}
    for build in catalog:
        if build.static or build.flavour not in rank or target_for_triple(build.triple) is None:
            continue
        key = (build.minor, build.triple, build.freethreaded, build.debug)
        held = best.get(key)
        order = (Version(build.version), build.release, -rank[build.flavour])
        if held is None or order > (Version(held.version), held.release, -rank[held.flavour]):
            best[key] = build
    return sorted(best.values(), key=lambda b: (b.release, b.filename), reverse=True)


def to_ndjson(snapshot: Sequence[Build]) -> str:
    """The release index format: one ``{"release", "artifacts": [{url, sha256}]}`` line per release."""
    lines = []
    for release in sorted({b.release for b in snapshot}, reverse=True):
        artifacts = [{"url": b.url, "sha256": b.sha256} for b in snapshot if b.release == release]
        lines.append(json.dumps({"release": release, "artifacts": artifacts}, separators=(",", ":")))
    return "\n".join(lines) + "\n"
