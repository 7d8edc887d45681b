"""The JSON the REST API answers for pythons and kernels, made from the library's own values.

These functions block (catalog download, kernelspec scan): the handlers run them in a thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..pythons.catalog import Build


def kernel_summary(info: Mapping[str, Any]) -> dict[str, Any]:
    """One kernel as the picker shows it, from ``KernelInfo.to_dict()`` (also the worker's result)."""
    facts = info.get("pyvariant") or {}
    return {
        "name": info["name"],
        "display_name": info["display_name"],
        "argv0": info["python"],
        "level": facts.get("level"),
        "flavour": facts.get("flavour"),
        "version": facts.get("version"),
        "freethreaded": bool(facts.get("freethreaded")),
        "python_root": facts.get("prefix"),
        "ok": bool(info["usable"]),
        "warnings": list(info.get("warnings") or ()),
    }


def provision_result(worker_json: Any) -> dict[str, Any]:
    """A provisioning job's ``result``: the new kernel, from ``kernel install --json``."""
    if not isinstance(worker_json, Mapping) or not {"name", "display_name", "python", "usable"} <= set(
        worker_json
    ):
        raise ValueError(f"not a kernel description: {str(worker_json)[:200]}")
    return {"kernel_name": worker_json["name"], **kernel_summary(worker_json)}


def kernels_listing() -> dict[str, Any]:
    """``GET kernels``: every kernelspec this package made, by name."""
    from ..kernels.manage import list_kernels

    return {"kernels": [kernel_summary(info.to_dict()) for info in list_kernels()]}


def host_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The three facts a build is chosen by."""
    cpu, system = report.get("cpu") or {}, report.get("system") or {}
    return {
        "isa_level": cpu.get("isa_level", "unknown"),
        "arch": cpu.get("arch", "unknown"),
        "libc": (system.get("libc") or {}).get("family", "unknown"),
    }


def pythons_listing(
    report: Mapping[str, Any], version: str | None, *, freethreaded: bool, every: bool
) -> dict[str, Any]:
    """``GET pythons``: the builds of the requested version that fit ``report``'s host, best first
    (with ``every``: every build the host runs), the best one, and why."""
    from ..pythons.catalog import load_catalog
    from ..pythons.errors import NoMatchingBuild
    from ..pythons.select import Request, fitting_builds, select
    from ..pythons.store import default_store

    request = Request.parse(version, freethreaded=freethreaded)
    catalog = load_catalog()
    installed = {python.build.sha256 for python in default_store().installed()}
    explain = [f"catalog: {note}" for note in catalog.notes]
    try:
        selection = select(catalog, report, request)
    except NoMatchingBuild as exc:
        best, shown = None, []
        explain.append(str(exc))
    else:
        best, shown = selection.best, list(selection.candidates)
        explain += selection.explain()
    if every:
        shown = fitting_builds(catalog, report)
    return {
        "host": host_summary(report),
        "catalog": catalog.to_dict(),
        "builds": _entries(shown, installed),
        "best": _entries([best], installed)[0] if best else None,
        "explain": explain,
    }


def _entries(builds: Iterable[Build], installed: set[str]) -> list[dict[str, Any]]:
    return [{**build.to_dict(), "installed": build.sha256 in installed} for build in builds]
