"""Which python-build-standalone target triples a host can run, best first, and uv's name for them.

The triple table is data (``data/triples.json``); this module only walks it with the host's OS,
architecture, libc and ISA level.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_LEVEL_ORDER = ("x86-64-v4", "x86-64-v3", "x86-64-v2", "x86-64-v1")


@cache
def _table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data", "triples.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class Target:
    """One triple this host can run, with the ISA level it needs (None: no level split)."""

    triple: str
    level: str | None
    libc: str | None


def runnable_targets(report: Mapping[str, Any]) -> list[Target]:
    """Triples this host runs, best first (highest x86-64 level the CPU supports first)."""
    system, cpu = report.get("system", {}), report.get("cpu", {})
    os_name = str(system.get("os", "")).lower()
    arch = str(cpu.get("arch", ""))
    entry = _table().get(os_name, {}).get(arch)
    if not entry:
        return []
    libc = str(system.get("libc", {}).get("family") or "gnu")
    libc = {"glibc": "gnu"}.get(libc, libc)
    key = "any" if "any" in entry else libc
    pattern = entry.get(key)
    if pattern is None:
        return []
    libc_name = None if key == "any" else key
    levels: dict[str, str] = entry.get("levels", {})
    if not levels:
        return [Target(pattern, None, libc_name)]
    level = str(cpu.get("isa_level", "x86-64-v1"))
    start = _LEVEL_ORDER.index(level) if level in _LEVEL_ORDER else _LEVEL_ORDER.index("x86-64-v1")
    return [
        Target(pattern.format(arch=levels[name]), name, libc_name) for name in _LEVEL_ORDER[start:] if name in levels
    ]


def uv_key(report: Mapping[str, Any], version: str, target: Target) -> str:
    """The download key a uv user would type, e.g. ``cpython-3.13-linux-x86_64_v4-gnu``."""
    table = _table()
    system = report.get("system", {})
    os_name = table["uv_os"].get(str(system.get("os", "")).lower(), "unknown")
    arch = table["uv_arch"].get(str(report.get("cpu", {}).get("arch", "")), "unknown")
    if target.level and target.level != "x86-64-v1":
        arch = f"{arch}_{target.level.removeprefix('x86-64-')}"
    libc = {"gnu": "gnu", "musl": "musl", None: "none"}.get(target.libc, "none")
    return f"cpython-{version}-{os_name}-{arch}-{libc}"
