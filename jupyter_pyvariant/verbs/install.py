"""``install``, ``plan``, ``list``, ``lock``, ``sync``: best-fit variant wheels into the environment."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..display import Output, table_html, table_text
from ..install import failures as install_failures
from . import Handler, UsageError, Verb, add_trust_option, reported

if TYPE_CHECKING:
    from ..install.lock import LockedPackage
    from ..install.plan import Options, Plan
    from ..install.session import Session
    from ..install.target import Installed

TORCH_VARIANT_INDEX_ENV = "PYVARIANT_TORCH_VARIANT_INDEX"


def _target_options(parser: argparse.ArgumentParser, python_help: str = "install into") -> None:
    parser.add_argument(
        "--python", metavar="PATH", help=f"{python_help} this interpreter's environment (default: this one)"
    )
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="the main index (default: the user's uv, then pip, settings, else PyPI)",
    )
    parser.add_argument(
        "--extra-index-url",
        metavar="URL",
        action="append",
        default=[],
        help="another index, tried first (repeatable)",
    )
    parser.add_argument(
        "--find-links",
        metavar="URL|DIR",
        action="append",
        default=[],
        help="also take files from this folder or page of links, as pip does (repeatable)",
    )
    parser.add_argument(
        "--installer",
        choices=("uv", "pip"),
        help="the installer (default: $PYVARIANT_INSTALLER, else uv when installed)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="per-request network timeout"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _plan_options(
    parser: argparse.ArgumentParser, python_help: str = "install into", packages_help: str = ""
) -> None:
    parser.add_argument(
        "packages", nargs="*", metavar="REQUIREMENT", help=f'e.g. scipy "numpy>=2"{packages_help}'
    )
    parser.add_argument(
        "-r", "--requirement", action="append", default=[], metavar="FILE", help="requirements file"
    )
    parser.add_argument("--profile", metavar="FILE", help="choose for the machine this profile describes")
    parser.add_argument(
        "--no-recipes", action="store_true", help="do not apply the GPU packaging conventions"
    )
    parser.add_argument(
        "--torch-variant-index",
        action="store_true",
        help="take torch, torchvision, torchaudio from PyTorch's wheel-variant index (experimental; "
        f"or set {TORCH_VARIANT_INDEX_ENV}=1)",
    )
    parser.add_argument(
        "--strict-recipes",
        action="store_true",
        help="fail when an opt-in recipe's index does not answer, instead of falling back to the usual route",
    )
    parser.add_argument(
        "--no-gpu-check",
        action="store_true",
        help="install CUDA- or ROCm-only packages even where this host lacks the GPU stack they need",
    )
    add_trust_option(parser)
    parser.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="PROP",
        help="treat 'namespace :: feature :: value' as supported, most preferred (repeatable)",
    )
    parser.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="PROP",
        help="never use this 'namespace[ :: feature[ :: value]]' (repeatable)",
    )
    parser.add_argument(
        "--prefer",
        action="append",
        default=[],
        metavar="PROP",
        help="rank this 'namespace[ :: feature[ :: value]]' first (repeatable)",
    )
    parser.add_argument(
        "--enable-optional",
        action="append",
        default=[],
        metavar="NS",
        help="use the optional provider of this namespace (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="explain every ranking")
    _target_options(parser, python_help)


def _configure_install(parser: argparse.ArgumentParser) -> None:
    _plan_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="plan and show, change nothing")


def _configure_plan(parser: argparse.ArgumentParser) -> None:
    _plan_options(parser, "plan for")


def _configure_lock(parser: argparse.ArgumentParser) -> None:
    _plan_options(parser, "lock for", "; none: the environment as it is, as pip freeze lists it")
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


def _configure_sync(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lock", nargs="?", default="pylock.toml", help="the pylock.toml to reproduce")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what this node would get, change nothing"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="choose for the machine this profile describes, not this host"
    )
    _target_options(parser)


def _configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python", metavar="PATH", help="list this interpreter's environment (default: this one)"
    )
    parser.add_argument(
        "--variants-only", action="store_true", help="only distributions installed from variant wheels"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _session(args: argparse.Namespace) -> Session:
    """The session of these arguments; the target interpreter is asked first, so that it answers
    while the planning modules are imported."""
    from ..install.target import ask_target

    target = ask_target(args.python)
    from ..install.session import Session

    return Session(_options(args), target=target)


def _options(args: argparse.Namespace) -> Options:
    from ..install.plan import Options

    return Options(
        requirements=tuple(getattr(args, "packages", ())),
        requirement_files=tuple(getattr(args, "requirement", ())),
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(args.find_links),
        python=args.python,
        profile=getattr(args, "profile", None),
        recipes=not getattr(args, "no_recipes", False),
        installer=args.installer,
        trusted_plugins=tuple(getattr(args, "trust_provider", ())),
        force=tuple(getattr(args, "force", ())),
        forbid=tuple(getattr(args, "forbid", ())),
        prefer=tuple(getattr(args, "prefer", ())),
        enable_optional=tuple(getattr(args, "enable_optional", ())),
        opt_in=("torch-variant-index",) if _torch_variant_index(args) else (),
        strict_recipes=getattr(args, "strict_recipes", False),
        gpu_check=not getattr(args, "no_gpu_check", False),
        timeout=args.timeout,
    )


def _torch_variant_index(args: argparse.Namespace) -> bool:
    """The flag, or the setting in the environment (for kernels and servers started elsewhere)."""
    setting = os.environ.get(TORCH_VARIANT_INDEX_ENV, "").strip().lower()
    return bool(getattr(args, "torch_variant_index", False)) or setting in ("1", "true", "yes", "on")


def _reported(run: Handler) -> Handler:
    """One ``error:`` line for a failure; with ``--json``, one JSON document on stdout all the same."""
    shown = reported(install_failures)(run)

    def handler(args: argparse.Namespace, out: Output) -> int:
        if not getattr(args, "json", False):
            return shown(args, out)
        try:
            return run(args, out)
        except install_failures() as exc:
            out.json({"error": str(exc)})
            return 1

    return handler


# --------------------------------------------------------------------------------------------------
# Rendering


def _plan_rows(plan: Plan) -> list[list[str]]:
    from ..install.plan import NOT_FOUND

    rows = []
    for package in plan.packages:
        rejected = rejected_text(package.rejected)
        why = package.summary + (f" (recipe {package.recipe})" if package.recipe else "")
        label = package.variant_label or ("?" if package.summary == NOT_FOUND else "-")
        rows.append([package.name, package.version, label, ", ".join(package.properties), why, rejected])
    return rows


def rejected_text(rejected: Mapping[str, str]) -> str:
    """Labels rejected for one reason stated once: ``x8664v1-v4: the profile has no [x86_64] table``."""
    by_reason: dict[str, list[str]] = {}
    for label, reason in rejected.items():
        by_reason.setdefault(reason, []).append(label)
    return "; ".join(f"{_label_runs(labels)}: {reason}" for reason, labels in by_reason.items())


def _label_runs(labels: list[str]) -> str:
    """``x8664v1, x8664v2, x8664v3`` -> ``x8664v1-v3`` (a label has no hyphen, so this reads as a range)."""
    import re

    # (stem, letters before the number, number): labels that differ only in the number make a run
    parts = [
        (m[1] + m[2], m[2], int(m[3])) if (m := re.fullmatch(r"(.*?)([a-z_]*)(\d+)", x)) else None
        for x in labels
    ]
    runs: list[list[int]] = []
    for i, part in enumerate(parts):
        run = runs[-1] if runs else []
        if part and run and _continues([parts[j] for j in run], part):
            run.append(i)
        else:
            runs.append([i])
    texts = []
    for run in runs:
        last = parts[run[-1]]
        if len(run) > 2 and last:
            texts.append(f"{labels[run[0]]}-{last[1]}{last[2]}")
        else:
            texts += [labels[i] for i in run]
    return ", ".join(texts)


def _continues(run: list[tuple[str, str, int] | None], part: tuple[str, str, int]) -> bool:
    """Whether ``part`` extends ``run`` by one more step of the same direction (up or down by one)."""
    last = run[-1]
    if last is None or last[0] != part[0] or abs(step := part[2] - last[2]) != 1:
        return False
    before = run[-2] if len(run) > 1 else None
    return before is None or last[2] - before[2] == step


def _show_plan(plan: Plan, out: Output, verbose: bool, heading: str) -> None:
    headers = ("package", "version", "variant", "properties", "why", "rejected")
    lines = [
        heading,
        f"target: {plan.target} ({plan.installer}); supported properties from {plan.supported_from}",
    ]
    lines += [f"indexes: {', '.join(plan.indexes)}"]
    lines += [f"recipe {r.rule}: {r.original} -> {r.requirement} ({r.note})" for r in plan.requests if r.rule]
    lines += [f"note on {r.original}: {r.note}" for r in plan.requests if r.note and not r.rule]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    if plan.reinstall:
        lines.append(f"reinstalled as another variant: {', '.join(plan.reinstall)}")
    if plan.repaired:
        lines.append(f"repaired (an interrupted install had left no RECORD): {', '.join(plan.repaired)}")
    rows = _plan_rows(plan)
    body = table_text(headers, rows) if rows else "nothing to install: every requirement is already satisfied"
    details = []
    if verbose:
        for package in plan.packages:
            if package.why:
                details += [f"{package.name} {package.version}:", *(f"  {line}" for line in package.why)]
    text = "\n".join([*lines, "", body, *(["", *details] if details else [])])
    html_rows = table_html(headers, rows) if rows else f"<p>{body}</p>"
    out.rich(text, "".join(f"<p>{_escape(line)}</p>" for line in lines) + html_rows + _pre(details))


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _pre(lines: list[str]) -> str:
    return f"<pre>{_escape(chr(10).join(lines))}</pre>" if lines else ""


# --------------------------------------------------------------------------------------------------
# Handlers


def _plan(args: argparse.Namespace, out: Output) -> int:
    with _session(args) as session:
        progress = out.progress("pyvariant plan")
        plan = session.plan(progress)
        progress.close(f"{len(plan.packages)} to install")
    if args.json:
        out.json(plan.to_json())
    else:
        _show_plan(plan, out, args.verbose, "plan (nothing was changed):")
    return 0


def _install(args: argparse.Namespace, out: Output) -> int:
    from ..install import runner

    with _session(args) as session:
        progress = out.progress("pyvariant install")
        plan = session.plan(progress) if args.dry_run else session.install(progress)
        progress.close("dry run: nothing changed" if args.dry_run else f"{len(plan.packages)} installed")
        imported = (
            runner.imported_modules(p.name for p in plan.packages) if session.target.is_this_process else []
        )
    result: dict[str, Any] = {**plan.to_json(), "dry_run": args.dry_run, "restart_needed_for": imported}
    if args.json:
        out.json(result)
        return 0
    _show_plan(plan, out, args.verbose, "would install:" if args.dry_run else "installed:")
    if imported and not args.dry_run:
        out.text(
            f"Note: {', '.join(imported)} {'was' if len(imported) == 1 else 'were'} already imported here; "
            "restart the kernel to use the installed version."
        )
    return 0


def _lock(args: argparse.Namespace, out: Output) -> int:
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
    built = build_lock(_options(args), nodes, all_variants=args.all_variants, single=bool(args.profile),
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
            _show_plan(node.plan, out, True, f"{node.node} would get:")
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


def _sync(args: argparse.Namespace, out: Output) -> int:
    from dataclasses import replace

    from ..install.lock import node_name, read_lock
    from ..install.lock_sync import sync
    from ..install.target import ask_target

    target = ask_target(args.python)
    lock = read_lock(args.lock)
    progress = out.progress("pyvariant sync")
    result = sync(lock, replace(_options(args), profile=args.profile), target=target, dry_run=args.dry_run,
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


def _list(args: argparse.Namespace, out: Output) -> int:
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
    from ..variants.reader import parse_variants_json

    if dist.variant_json is None:
        return None, [], None
    where = f"{dist.name}-{dist.version}.dist-info/variant.json"
    try:
        metadata = parse_variants_json(dist.variant_json, where, package=dist.name, file=where)
    except MetadataError as exc:
        return None, [], str(exc)
    if len(metadata.variants) != 1:
        return None, [], f"{dist.name}: {where}: describes {len(metadata.variants)} variants, not one"
    label, properties = next(iter(metadata.variants.items()))
    return str(label), sorted(str(p) for p in properties), None


VERBS = (
    Verb(
        ("install",),
        "install the best-fit variant wheels (and their dependencies)",
        _configure_install,
        _reported(_install),
    ),
    Verb(
        ("plan",),
        "show which file each package would get, and why; change nothing",
        _configure_plan,
        _reported(_plan),
    ),
    Verb(("list",), "installed distributions with their variant", _configure_list, _reported(_list)),
    Verb(
        ("lock",),
        "write one pylock.toml for this host and every --for node (each node's best fit)",
        _configure_lock,
        _reported(_lock),
    ),
    Verb(
        ("sync",),
        "install this node's best fit among the files of a pylock.toml",
        _configure_sync,
        _reported(_sync),
    ),
)
