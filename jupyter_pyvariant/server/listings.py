"""The JSON the REST API answers for pythons and kernels, made from the library's own values.

These functions block (catalog download, kernelspec scan): the handlers run them in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..host.facts import HostFacts


def provision_result(worker_json: Any) -> dict[str, Any]:
    """A provisioning job's ``result``: the new kernel as ``kernel install --json`` printed it (the
    kernel listings' shape), with its name also as ``kernel_name``."""
    if not isinstance(worker_json, Mapping) or not {"name", "display_name", "python", "usable"} <= set(
        worker_json
    ):
        raise ValueError(f"not a kernel description: {str(worker_json)[:200]}")
    return {"kernel_name": worker_json["name"], **worker_json}


def kernels_listing() -> dict[str, Any]:
    """``GET kernels``: every kernelspec this package made, by name (``kernel list --json``'s list)."""
    from ..kernels.manage import list_kernels

    return {"kernels": [info.to_dict() for info in list_kernels()]}


def pythons_listing(
    host: HostFacts, version: str | None, *, freethreaded: bool, every: bool
) -> dict[str, Any]:
    """``GET pythons``: ``python list --json``'s shape, for the requested version (default: the
    newest) on the server's host."""
    from ..pythons.catalog import load_catalog
    from ..pythons.listing import pythons_listing as listing
    from ..pythons.select import Request
    from ..pythons.store import default_store

    request = Request.parse(version, freethreaded=freethreaded)
    return listing(load_catalog(), host, default_store(), request, every=every)
