"""``list``: the target's installed distributions, each with the variant it was installed as."""

from __future__ import annotations

__all__ = ["configure_list", "list_installed"]

import argparse
from typing import TYPE_CHECKING, Any

from ..display import Output, table_html, table_text

if TYPE_CHECKING:
    from ..install.target import Installed


def configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python", metavar="PATH", help="list this interpreter's environment (default: this one)"
    )
    parser.add_argument(
        "--variants-only", action="store_true", help="only distributions installed from variant wheels"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def list_installed(args: argparse.Namespace, out: Output) -> int:
    from ..install.target import inspect_target

    target = inspect_target(args.python)
    entries: list[dict[str, Any]] = []
    for dist in sorted(target.distributions, key=lambda d: d.project):
        label, properties, error = _installed_variant(dist)
        if label is None and error is None and args.variants_only:
            continue
        entry = {"name": dist.name, "version": dist.version, "variant_label": label, "properties": properties}
        entries.append(entry if error is None else {**entry, "variant_json_error": error})
    if args.json:
        out.json({"target": target.executable, "distributions": entries})
        return 0
    headers = ("package", "version", "variant", "properties")
    rows = [
        [e["name"], e["version"], "?", f"unreadable variant.json: {e['variant_json_error']}"]
        if "variant_json_error" in e
        else [e["name"], e["version"], e["variant_label"] or "-", ", ".join(e["properties"])]
        for e in entries
    ]
    out.rich(f"{target.executable}\n\n{table_text(headers, rows)}", table_html(headers, rows))
    return 0


def _installed_variant(dist: Installed) -> tuple[str | None, list[str], str | None]:
    """(label, properties, why its variant.json cannot be read) of an installed distribution: an
    installed file is the user's, whatever it holds, so a broken one is named, never fatal."""
    from ..variants.metadata import MetadataError

    try:
        metadata = dist.variant()
    except MetadataError as exc:
        return None, [], str(exc)
    if metadata is None:
        return None, [], None
    if len(metadata.variants) != 1:
        where = metadata.sources[0]
        return None, [], f"{dist.name}: {where}: describes {len(metadata.variants)} variants, not one"
    label, properties = next(iter(metadata.variants.items()))
    return str(label), sorted(str(p) for p in properties), None
