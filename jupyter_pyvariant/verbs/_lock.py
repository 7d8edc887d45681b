"""``lock`` and ``sync``: one pylock.toml for every node, and each node's best fit among its files."""

from __future__ import annotations

__all__ = ["configure_lock", "configure_sync", "lock", "sync"]

import argparse
from typing import TYPE_CHECKING

from ..display import Output, table_html, table_text
from . import UsageError
from ._install_options import options, plan_options, target_options
from ._plan_text import show_plan

if TYPE_CHECKING:
    from ..install.lock import LockedPackage


def configure_lock(parser: argparse.ArgumentParser) -> None:
    plan_options(parser, "lock for", "; none: the environment as it is, as pip freeze lists it")
    parser.add_argument(
        "--for",
        dest="nodes",
        action="append",
        default=[],
        metavar="PROFILE.toml|this",
        help="also lock what the machine this profile describes gets ('this': this host); repeatable, "
        "one lock for every node (default: this host)",
    )
    parser.add_argument(
        "--all-variants",
        action="store_true",
        help="lock every variant of each package, not only those the nodes choose",
    )
    parser.add_argument(
        "-o", "--output", default="pylock.toml", metavar="FILE", help="where to write the lock"
    )


def configure_sync(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lock", nargs="?", default="pylock.toml", help="the pylock.toml to reproduce")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what this node would get, change nothing"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="choose for the machine this profile describes, not this host"
    )
    target_options(parser)


def lock(args: argparse.Namespace, out: Output) -> int:
    """Lock the packages named, or with none, the target environment as it is: for every ``--for``
    node (this host by default), or exactly one ``--profile`` machine's files."""
    from ..install.lock_build import build_lock, installed_elsewhere
    from ..install.lock_write import environment_requirements, write_lock
    from ..install.target import ask_target

    if args.profile and (args.nodes or args.all_variants):
        raise UsageError(
            "--profile locks exactly one machine's files, which sync then installs anywhere; for a lock "
            "each node chooses from, name every machine with --for (that one too)"
        )
    target = ask_target(args.python)
    unlocked: list[str] = []
    as_is = not (args.packages or args.requirement)
    if as_is:
        args.packages, unlocked = environment_requirements(target.result())
    nodes = [args.profile] if args.profile else args.nodes or [None]
    progress = out.progress("pyvariant lock")
    built = build_lock(options(args), nodes, all_variants=args.all_variants, single=bool(args.profile),
                       target=target, progress=progress)  # fmt: skip
    lock = write_lock(built.lock, args.output)
    count = len(built.nodes)
    progress.close(f"{len(lock.packages)} packages locked for {count} node{'s' if count > 1 else ''}")
    present = target.result().distributions
    other = installed_elsewhere(built, ((d.name, d.label) for d in present)) if as_is else {}
    packages = [
        {
            "name": p.name,
            "version": p.version,
            "files": [{"filename": f.filename, "variant_label": f.label} for f in p.files],
            "needed_by": [{"name": r.name, "variants": list(r.labels)} for r in p.needed_by],
        }
        for p in lock.packages
    ]
    if args.json:
        out.json(
            {
                "lock": lock.path,
                "nodes": [{"node": n.node, **n.plan.to_json()} for n in built.nodes],
                "packages": packages,
                "warnings": list(built.warnings),
                "unlocked": unlocked,
                "installed_as": other,
            }
        )
        return 0
    if args.verbose:
        for node in built.nodes:
            show_plan(node.plan, out, True, f"{node.node} would get:")
    headers = ("package", "version", "locked variants", "needed by")
    rows = [
        [
            p.name,
            p.version,
            ", ".join(_label(f.label) for f in p.files) if p.has_variants else p.variant_label or "-",
            _needed_text(p) or "every node",
        ]
        for p in lock.packages
    ]
    out.rich(
        f"locked in {lock.path} for {', '.join(n.node for n in built.nodes)}:\n\n{table_text(headers, rows)}",
        table_html(headers, rows),
    )
    for warning in built.warnings:
        out.text(f"warning: {warning}")
    if unlocked:
        out.text(f"not locked (installed from a folder or URL, not an index): {', '.join(unlocked)}")
    for name, label in other.items():
        out.text(f"{name} is installed as {label or 'the plain wheel'}; the lock holds the nodes' best fits")
    return 0


def _label(label: str | None) -> str:
    return "plain" if label is None else label


def _needed_text(package: LockedPackage) -> str:
    return "; ".join(map(str, package.needed_by))


def sync(args: argparse.Namespace, out: Output) -> int:
    from dataclasses import replace

    from ..install.lock import node_name, read_lock
    from ..install.lock_sync import sync
    from ..install.target import ask_target

    target = ask_target(args.python)
    lock = read_lock(args.lock)
    progress = out.progress("pyvariant sync")
    result = sync(lock, replace(options(args), profile=args.profile), target=target, dry_run=args.dry_run,
                  progress=progress)  # fmt: skip
    progress.close("dry run: nothing changed" if args.dry_run else f"{len(result.changes)} installed")
    node = node_name(args.profile)
    data = {
        "lock": lock.path,
        "node": node,
        "dry_run": args.dry_run,
        "changes": [{"name": n, "version": v} for n, v in result.changes],
        "reinstall": list(result.reinstall),
        "packages": [
            {
                "name": c.package.name,
                "version": c.package.version,
                "filename": c.file.filename if c.file else None,
                "variant_label": c.label,
                "installs": c.installs,
                "reason": c.reason,
            }
            for c in result.choices
        ],
    }
    if args.json:
        out.json(data)
        return 0
    rows = [
        [
            c.package.name,
            c.package.version,
            _label(c.label) if c.installs and c.package.has_variants else c.label or "-",
            c.reason,
        ]
        for c in result.choices
    ]
    headers = ("package", "version", "variant", "why")
    verb = "would change" if args.dry_run else "changed"
    changed = ", ".join(f"{n}=={v}" for n, v in result.changes) or "nothing (already in sync)"
    text = f"{lock.path} for {node}: {verb} {changed}\n\n{table_text(headers, rows)}"
    out.rich(text, table_html(headers, rows))
    return 0
