"""``profile``: write what this host supports as a variant profile, to plan for it from elsewhere."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..display import Output
from . import UsageError, Verb

if TYPE_CHECKING:
    from ..host.facts import HostFacts


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


def _facts(path: str | None) -> HostFacts:
    """This host's facts, or those of the report another machine printed with ``cpuinfo --json``."""
    if path is None:
        from ..host import report

        return report().facts
    import json

    from ..host.facts import HostFacts, HostReportError

    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read report {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cpu"), dict):
        raise UsageError(f"{path} is not a 'pyvariant cpuinfo --json' report (it has no cpu object)")
    try:
        return HostFacts.from_dict(data)
    except HostReportError as exc:  # a report edited by hand, or another tool's
        raise UsageError(f"{path}: not a usable host report ({exc})") from None


def _run(args: argparse.Namespace, out: Output) -> int:
    from ..variants.profiles import profile_text, write_profile
    from ..variants.properties import VariantFormatError
    from ..variants.providers import host_profile

    facts = _facts(args.from_report)
    try:
        supported = host_profile(facts)
    except VariantFormatError as exc:  # a device name in the report outside the variant alphabet
        raise UsageError(f"{args.from_report or 'this host'}: not a usable host report ({exc})") from None
    comment = (
        f"pyvariant profile of {facts.system.hostname or 'unknown host'} "
        f"({facts.cpu.level or 'unknown'}).\n"
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
