"""Shared plumbing for the host probes' value objects and knowledge tables.

Probes keep their facts in frozen dataclasses with tuples and read-only mappings (so a report
cannot be changed by whoever reads it), while the JSON contract wants plain dicts and lists;
``JsonShaped.to_dict`` is the one place that converts.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any


def plain(value: Any) -> Any:
    """Dataclasses become dicts, tuples lists, mappings dicts: what ``json.dumps`` and consumers expect."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    return value


class JsonShaped:
    """Mixin for frozen dataclasses: ``to_dict()`` gives the contract's JSON shape."""

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = plain(self)
        return result


@cache
def data_table(name: str) -> Any:
    """A knowledge table shipped in ``host/data`` (parsed once per process)."""
    text = Path(__file__).with_name("data").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)
