"""``cpuinfo``: what this kernel's host really is."""

from __future__ import annotations

import argparse

from ..display import Output
from . import Verb


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument("-v", "--verbose", action="store_true", help="add per-probe diagnostics")
    parser.add_argument(
        "--refresh", action="store_true", help="probe again instead of using this process's cache"
    )


def _run(args: argparse.Namespace, out: Output) -> int:
    from ..host import report
    from ..host.render import to_html, to_text

    data = report(refresh=args.refresh).to_dict()
    if args.json:
        out.json(data)
    else:
        out.rich(to_text(data, args.verbose), to_html(data, args.verbose))
    return 0


VERBS = (
    Verb(
        ("cpuinfo",),
        "what this host really is: ISA level, cores, memory, GPUs, interpreter",
        _configure,
        _run,
    ),
)
