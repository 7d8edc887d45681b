"""``profile``: write what this host supports as a variant profile, to plan for it from elsewhere."""

from __future__ import annotations

import argparse
from typing import Any

from ..display import Output
from . import UsageError, Verb


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the profile TOML here instead of showing it"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the supported properties as one JSON object"
    )
    parser.add_argument(
        "--from-report",
        metavar="REPORT.json",
        help="the profile of the machine that printed this 'pyvariant cpuinfo --json' (GPUs included)",
    )


def _report(path: str | None) -> dict[str, Any]:
    """This host's report, or the one another machine printed with ``cpuinfo --json``."""
    if path is None:
        from ..host import report

        return report().to_dict()
    import json

    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read report {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cpu"), dict):
        raise UsageError(f"{path} is not a 'pyvariant cpuinfo --json' report (it has no cpu object)")
    return data


def _run(args: argparse.Namespace, out: Output) -> int:
    from ..variants.providers import host_profile, profile_text, write_profile

    data = _report(args.from_report)
    try:
        supported = host_profile(data)
    except (AttributeError, TypeError, ValueError) as exc:  # a report edited by hand, or another tool's
        raise UsageError(f"{args.from_report or 'this host'}: not a usable host report ({exc})") from None
    system = data.get("system", {})
    comment = (
        f"pyvariant profile of {system.get('hostname', 'unknown host')} "
        f"({data.get('cpu', {}).get('isa_level', 'unknown')}).\n"
        "Use with --profile FILE to plan, install or lock for this machine from another one."
    )
    if args.output:
        try:
            write_profile(supported, args.output, comment)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        out.text(f"wrote {args.output}: {len(supported.namespaces)} namespaces")
    elif args.json:
        out.json(supported.to_dict())
    else:
        out.text(profile_text(supported, comment))
    return 0


VERBS = (
    Verb(
        ("profile",), "write this host's variant profile (for --profile on another machine)", _configure, _run
    ),
)
