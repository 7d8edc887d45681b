"""Shared plumbing for the host probes' value objects and knowledge tables.

Probes keep their facts in named tuples with tuples and read-only mappings (so a report cannot be
changed by whoever reads it, and defining the classes costs a fraction of what frozen dataclasses
cost on the report's cold path), while the JSON contract wants plain dicts and lists; ``shaped`` is
the one place that converts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Protocol


class Record(Protocol):
    """What every named tuple offers: its fields by name, in declaration order."""

    def _asdict(self) -> dict[str, Any]: ...


def plain(value: Any) -> Any:
    """Named tuples become dicts, tuples lists, mappings dicts: what ``json.dumps`` and consumers expect."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return shaped(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    return value


def shaped(record: Record) -> dict[str, Any]:
    """A record's contract JSON shape: its fields in order, each made plain."""
    return {name: plain(item) for name, item in record._asdict().items()}


@cache
def data_table(name: str) -> Any:
    """A knowledge table shipped in ``host/data`` (parsed once per process)."""
    text = Path(__file__).with_name("data").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)
