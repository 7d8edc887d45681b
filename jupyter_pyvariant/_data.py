"""The knowledge tables shipped with the package, read in one place.

Each wing keeps its tables in its own ``data/`` folder (``host/data/cpu_levels.json``,
``install/data/recipes.toml``), each with a JSON Schema beside it (``cpu_levels.schema.json``). The
schemas are checked by the tests, not here: importing jsonschema would cost every cold start, and a
shipped table does not change after its tests ran. Tables are parsed once per process and shared, so
callers read them and never change them.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache

TYPE_CHECKING = False  # typing itself would cost the cold path (``%cpuinfo``) more than this module
if TYPE_CHECKING:
    from typing import Any

__all__ = ["loads_toml", "table"]

_ROOT = os.path.dirname(__file__)


@cache
def table(wing: str, name: str) -> Any:
    """The table ``name`` (JSON or TOML) in the ``data/`` folder of ``wing`` (``"host"``, ``"install"``).

    A plain file read rather than :mod:`importlib.resources`, which ``%cpuinfo`` would pay to import.
    """
    with open(os.path.join(_ROOT, wing, "data", name), encoding="utf-8") as handle:
        text = handle.read()
    return loads_toml(text) if name.endswith(".toml") else json.loads(text)


def loads_toml(text: str) -> dict[str, Any]:
    """A TOML document, by :mod:`tomllib` or, on Python 3.10, the ``tomli`` it grew from.

    Bad TOML raises their ``TOMLDecodeError``, a :class:`ValueError`; very deep nesting a
    :class:`RecursionError` (both read nested tables and arrays recursively).
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)
