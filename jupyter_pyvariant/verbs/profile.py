"""``profile``: write what this host supports as a variant profile, to plan for it from elsewhere."""

from __future__ import annotations

import argparse

from ..display import Output
from . import UsageError, Verb


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the profile TOML here instead of showing it"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the supported properties as one JSON object"
    )


def _run(args: argparse.Namespace, out: Output) -> int:
    from ..host import report
    from ..variants.providers import host_profile, profile_text, write_profile

    data = report().to_dict()
    supported = host_profile(data)
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
