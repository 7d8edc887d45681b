"""Shared plumbing for the host probes' value objects and knowledge tables.

Probes keep their facts in ``Record`` values holding tuples and read-only mappings (so a report
cannot be changed by whoever reads it), while the JSON contract wants plain dicts and lists;
``shaped`` is the one place that converts.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._data import table

# Importing typing (with re, enum and collections behind it) would cost a report run from a terminal
# a third of its time, so its names exist for type checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import sys
    from typing import Any, ClassVar

    if sys.version_info >= (3, 11):
        from typing import Self, dataclass_transform
    else:  # mypy --python-version 3.10: the same names, from the backport mypy brings
        from typing_extensions import Self, dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        """Type checkers read the decorator; at run time it has nothing to do."""
        return lambda cls: cls


@dataclass_transform(frozen_default=True)
class Record:
    """An immutable value whose fields, in order and with optional defaults, are its annotations.

    It offers what the probes used named tuples for (``_fields``, ``_asdict``, ``_replace``, value
    equality and hashing) at a small fraction of the cost of defining one: the first report defines
    some forty of these classes, and ``typing.NamedTuple`` alone made a fifth of its time.
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls) -> None:
        # Postponed annotations are strings: reading their names costs nothing, evaluating would
        # (and importing inspect for get_annotations would cost more than the whole class).
        declared = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        own = [name for name, kind in declared.items() if not str(kind).startswith("ClassVar")]
        cls._fields = (*cls._fields, *own)
        defaults = {name: cls.__dict__[name] for name in own if name in cls.__dict__}
        cls._defaults = {**cls._defaults, **defaults}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields, defaults, values = self._fields, self._defaults, self.__dict__
        values.update(zip(fields, args, strict=False))  # fewer args than fields: the rest by name
        taken = 0
        for name in fields[len(args) :]:
            if name in kwargs:
                values[name] = kwargs[name]
                taken += 1
            elif name in defaults:
                values[name] = defaults[name]
            else:
                raise TypeError(f"{type(self).__name__}() is missing the field {name!r}")
        if len(args) > len(fields) or taken != len(kwargs):
            raise TypeError(f"{type(self).__name__}() takes the fields {', '.join(fields)}, each once")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use _replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def _asdict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def _replace(self, **changes: Any) -> Self:
        return type(self)(**{**self.__dict__, **changes})


def plain(value: Any) -> Any:
    """Records become dicts, tuples lists, mappings dicts: what ``json.dumps`` and consumers expect."""
    if value is None or isinstance(value, _SCALARS):
        return value  # most values: answered before the Mapping ABC's first, costly, subclass checks
    if isinstance(value, Record):
        return shaped(value)
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    return value


_SCALARS = (str, int, float)


def shaped(record: Record) -> dict[str, Any]:
    """A record's contract JSON shape: its fields in order, each made plain."""
    return {name: plain(item) for name, item in record.__dict__.items()}


def data_table(name: str) -> Any:
    """A knowledge table shipped in ``host/data`` (parsed once per process, by :mod:`.._data`)."""
    return table("host", name)
