"""``cpuinfo``: what this kernel's host really is."""

from __future__ import annotations

import argparse

from ..display import MAGIC_PROG, Output
from . import Verb

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
        data = _hints_in_face(data, out)
        out.rich(to_text(data, args.verbose), to_html(data, args.verbose))
    return 0


def _hints_in_face(data: dict[str, Any], out: Output) -> dict[str, Any]:
    """The report with its next step written for this face (the JSON keeps the magic's spelling)."""
    recommendations = data.get("recommendations") or {}
    interpreter = recommendations.get("interpreter")
    if not interpreter:
        return data
    words = str(interpreter["command"]).removeprefix(f"{MAGIC_PROG} ")
    interpreter = {**interpreter, "command": out.command(words)}
    return {**data, "recommendations": {**recommendations, "interpreter": interpreter}}


VERBS = (
    Verb(
        ("cpuinfo",),
        "what this host really is: ISA level, cores, memory, GPUs, interpreter",
        _configure,
        _run,
    ),
)
