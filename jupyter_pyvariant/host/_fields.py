"""Reading the fields of a host report that crossed a process boundary, each checked for its type.

Every failure is a :class:`.facts.HostReportError` naming the field; a missing field is None (or
empty), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # typing itself would cost the cold path (``%cpuinfo``) more than this module
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from .facts import HostReportError

    T = TypeVar("T")


def _refused(message: str) -> HostReportError:
    from .facts import HostReportError  # on the error path only: facts imports this module

    return HostReportError(message)


def section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _refused(f"{where}{key} must be an object, not {type(value).__name__}")
    return value


def items(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise _refused(f"{where}{key} must be a list, not {type(value).__name__}")
    return list(value)


def objects(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    found = items(data, key, where)
    for index, item in enumerate(found):
        if not isinstance(item, Mapping):
            raise _refused(f"{where}{key}[{index}] must be an object, not {type(item).__name__}")
    return found


def text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    return _scalar(data, key, where, str, "a string")


def texts(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    found = items(data, key, where)
    if not all(isinstance(item, str) for item in found):
        raise _refused(f"{where}{key} must be a list of strings")
    return tuple(found)


def number(data: Mapping[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _refused(f"{where}{key} must be a number, not {type(value).__name__}")
    try:
        as_float = float(value)
    except OverflowError:  # an integer past what a float holds
        as_float = float("inf")
    if as_float != as_float or as_float in (float("inf"), float("-inf")):  # also JSON's NaN, Infinity
        raise _refused(f"{where}{key} must be a finite number, not {str(value)[:20]}")
    return value


def flag(data: Mapping[str, Any], key: str, where: str) -> bool | None:
    return _scalar(data, key, where, bool, "true or false")


def _scalar(data: Mapping[str, Any], key: str, where: str, kind: type[T], words: str) -> T | None:
    value = data.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise _refused(f"{where}{key} must be {words}, not {type(value).__name__}")
