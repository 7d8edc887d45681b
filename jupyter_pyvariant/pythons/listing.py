"""The pythons listing: one shape for ``python list --json`` and ``GET pythons``.

Both faces call :func:`pythons_listing`, so a build, the host it was chosen for and the reasons
read the same whichever face asked.
"""

from __future__ import annotations

__all__ = ["best_per_version", "host_summary", "pythons_listing"]

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..host.facts import HostFacts
    from .build import Build
    from .catalog import Catalog
    from .select import Request
    from .store import Store


def host_summary(facts: HostFacts) -> dict[str, Any]:
    """The three facts a build is chosen by."""
    return {
        "isa_level": facts.cpu.level or "unknown",
        "arch": facts.cpu.arch or "unknown",
        "libc": facts.system.libc_family or "unknown",
    }


def best_per_version(builds: list[Build], facts: HostFacts) -> list[Build]:
    """For each minor version: the build ``python install`` would choose, plain and free-threaded."""
    from .errors import NoMatchingBuild
    from .select import Request, select

    chosen: list[Build] = []
    for minor in dict.fromkeys(b.minor for b in builds):
        for freethreaded in (False, True):
            try:
                chosen.append(select(builds, facts, Request(minor, freethreaded=freethreaded)).best)
            except NoMatchingBuild:
                continue
    return chosen


def pythons_listing(
    catalog: Catalog, facts: HostFacts, store: Store, request: Request | None, *, every: bool
) -> dict[str, Any]:
    """The builds that fit the host, best first, the one chosen for ``request`` and why.

    ``builds`` holds every build the host runs (``every``), else the candidates for ``request``,
    else (no request) the best build of each minor version; ``installed`` lists the store.
    """
    from .errors import NoMatchingBuild
    from .select import fitting_builds, select

    installed = store.installed()
    here = {python.build.sha256 for python in installed}
    explain = [f"catalog: {note}" for note in catalog.notes]
    best: Build | None = None
    shown: list[Build] = []
    if request is not None:
        try:
            selection = select(catalog, facts, request)
        except NoMatchingBuild as exc:
            explain.append(str(exc))
        else:
            best, shown = selection.best, list(selection.candidates)
            explain += selection.explain()
    if every or request is None:
        fitting = fitting_builds(catalog, facts)
        shown = fitting if every else best_per_version(fitting, facts)
    return {
        "host": host_summary(facts),
        "catalog": catalog.to_dict(),
        "builds": _entries(shown, here),
        "best": _entries([best], here)[0] if best else None,
        "explain": explain,
        "installed": [python.to_dict() for python in installed],
    }


def _entries(builds: Iterable[Build], installed: set[str]) -> list[dict[str, Any]]:
    return [{**build.to_dict(), "installed": build.sha256 in installed} for build in builds]
