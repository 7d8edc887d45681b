"""What a host supports for one package: namespace -> feature -> values, and where each came from.

The one value the providers, profiles and overrides produce and the ordering reads; immutable, so a
session shares one answer between packages.
"""

from __future__ import annotations

__all__ = ["Preferences", "SupportedProperties", "Table", "freeze_table"]

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from .properties import VariantFeature, VariantProperty, check_name, check_value

Table = Mapping[str, Mapping[str, tuple[str, ...]]]
"""namespace -> feature -> values, most preferred first."""


def freeze_table(table: Mapping[str, Mapping[str, Iterable[str]]]) -> Table:
    return MappingProxyType(
        {
            ns: MappingProxyType({f: tuple(v) for f, v in feats.items() if v})
            for ns, feats in table.items()
            if any(feats.values())
        }
    )


@dataclass(frozen=True)
class Preferences:
    """User reorderings; the ordering applies them ahead of the package's default priorities."""

    namespaces: tuple[str, ...] = ()
    features: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    values: Table = field(default_factory=dict)


@dataclass(frozen=True)
class SupportedProperties:
    """namespace -> feature -> supported values (most preferred first), and where each came from."""

    table: Table = field(default_factory=dict)
    preferences: Preferences = field(default_factory=Preferences)
    origins: Mapping[str, str] = field(default_factory=dict)
    """namespace -> the source that answered it (shown by ``explain()``)."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """``ns`` / ``ns :: feature`` / ``ns :: feature :: value`` -> why it is not supported."""
    memo: dict[object, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Results of pure functions of this (immutable) instance, kept by them (the ordering's keys)."""

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Mapping[str, Iterable[str]]], origin: str = "given"
    ) -> SupportedProperties:
        """Validated properties from a plain nested mapping (a profile, a plugin's answer, a test)."""
        for namespace, features in table.items():
            check_name("namespace", namespace)
            for feature, values in features.items():
                check_name("feature name", feature)
                for value in values:
                    check_value(value)
        frozen = freeze_table(table)
        return cls(frozen, origins={ns: origin for ns in frozen})

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(self.table)

    def features(self, namespace: str) -> tuple[str, ...]:
        return tuple(self.table.get(namespace, {}))

    def values(self, namespace: str, feature: str) -> tuple[str, ...]:
        return self.table.get(namespace, {}).get(feature, ())

    def __contains__(self, item: object) -> bool:
        if isinstance(item, VariantProperty):
            return item.value in self.values(item.namespace, item.feature)
        if isinstance(item, VariantFeature):
            return bool(self.values(item.namespace, item.feature))
        return isinstance(item, str) and item in self.table

    def properties(self) -> Iterator[VariantProperty]:
        """Every supported property, namespace by namespace, in preference order."""
        for namespace, features in self.table.items():
            for feature, values in features.items():
                for value in values:
                    yield VariantProperty(namespace, feature, value)

    def to_dict(self) -> dict[str, dict[str, list[str]]]:
        return {ns: {f: list(v) for f, v in feats.items()} for ns, feats in self.table.items()}

    def why_not(self, prop: VariantProperty) -> str | None:
        """The recorded reason a property, its feature or its namespace is unsupported, if any."""
        for key in (str(prop), str(prop.key), prop.namespace):
            if key in self.notes:
                return self.notes[key]
        return None

    def with_namespace(
        self, namespace: str, features: Mapping[str, Iterable[str]], origin: str
    ) -> SupportedProperties:
        table = {**self.to_dict(), namespace: {f: list(v) for f, v in features.items()}}
        return replace(self, table=freeze_table(table), origins={**self.origins, namespace: origin})

    def with_note(self, key: str, note: str) -> SupportedProperties:
        return replace(self, notes={**self.notes, key: note})
