"""The one model of variant metadata, whatever dialect it was written in (see :mod:`.reader`).

A :class:`VariantMetadata` is immutable; the files of one release merge into one per PEP 825, and a
model writes itself back as JSON in its own dialect (for ``pylock.toml``'s ``variants-json``).
"""

from __future__ import annotations

__all__ = [
    "ABI_DEPENDENCY",
    "PEP817",
    "PEP825",
    "PEP850",
    "DefaultPriorities",
    "FeatureValues",
    "MetadataError",
    "Provider",
    "VariantMetadata",
    "file_basename",
    "frozen_mapping",
    "merge_metadata",
    "show_properties",
]

import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import VariantError
from .properties import (
    VariantLabel,
    VariantProperty,
)

ABI_DEPENDENCY = "abi_dependency"
"""The reserved namespace for builds against different versions of a dependency; it has no provider,
its supported values come from the versions installed in the target environment."""

PEP817 = "pep817"
PEP825 = "pep825"
PEP850 = "pep850"

K = TypeVar("K")
V = TypeVar("V")
FeatureValues = Mapping[str, tuple[str, ...]]
"""feature -> values, in preference order."""


class MetadataError(VariantError):
    """Variant metadata that cannot be used, with the package, the file and where it came from."""

    def __init__(self, message: str, *, package: str | None, file: str, source: str) -> None:
        self.message = message
        self.package = package
        self.file = file
        self.source = source
        where = file if source in (file, "") else f"{file} from {source}"
        super().__init__(f"{package or 'unknown package'}: {where}: {message}")


def frozen_mapping(mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Provider:
    """How a namespace's supported properties are obtained.

    ``kind`` is ``"static"`` (the metadata lists them), ``"builtin"`` (the installer computes them),
    ``"plugin"`` (a provider package answers) or ``"unspecified"`` (PEP 825 metadata names none).
    """

    namespace: str
    requires: tuple[str, ...] = ()
    plugin_api: str | None = None
    optional: bool = False
    builtin: str | None = None
    static_properties: FeatureValues | None = None
    enable_if: str | None = None
    install_time: bool = True

    @property
    def kind(self) -> str:
        if self.static_properties is not None:
            return "static"
        if self.builtin is not None:
            return "builtin"
        return "plugin" if self.requires else "unspecified"

    @property
    def package(self) -> str | None:
        """The normalized name of the first requirement: the provider package."""
        if not self.requires:
            return None
        from packaging.requirements import InvalidRequirement, Requirement
        from packaging.utils import canonicalize_name

        try:
            return canonicalize_name(Requirement(self.requires[0]).name)
        except InvalidRequirement:
            return None

    @property
    def object_reference(self) -> str | None:
        """``plugin-api``, or the module named after the provider package, as the PEPs default it."""
        if self.plugin_api is not None:
            return re.sub(r"\s+", "", self.plugin_api)
        package = self.package
        return None if package is None else package.replace("-", "_")


@dataclass(frozen=True)
class DefaultPriorities:
    """``default-priorities``: namespaces in order, and (older dialects) feature and value overrides."""

    namespaces: tuple[str, ...]
    features: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: frozen_mapping({}))
    values: Mapping[str, FeatureValues] = field(default_factory=lambda: frozen_mapping({}))

    @cached_property
    def key(self) -> Hashable:
        """Equal for equal priorities (the mappings themselves do not hash): packages share orders."""
        values = tuple((ns, tuple(feats.items())) for ns, feats in self.values.items())
        return (self.namespaces, tuple(self.features.items()), values)


@dataclass(frozen=True)
class VariantMetadata:
    """The combined variant metadata of one package version, whatever dialect it was written in."""

    package: str | None
    schema: str
    schema_version: tuple[int, int, int]
    dialect: str
    priorities: DefaultPriorities
    providers: Mapping[str, Provider]
    variants: Mapping[VariantLabel, frozenset[VariantProperty]]
    sources: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[VariantLabel, ...]:
        return tuple(self.variants)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Namespaces in priority order, with ``abi_dependency`` last when a variant uses it."""
        used = any(p.namespace == ABI_DEPENDENCY for props in self.variants.values() for p in props)
        extra = (ABI_DEPENDENCY,) if used and ABI_DEPENDENCY not in self.priorities.namespaces else ()
        return self.priorities.namespaces + extra

    def properties(self, label: str) -> frozenset[VariantProperty]:
        """The properties a label stands for; ``null`` always stands for none."""
        if label == "null":
            return frozenset()
        return self.variants[VariantLabel(label)]

    def merge(self, other: VariantMetadata) -> VariantMetadata:
        """Combine the metadata of one release from two files, as PEP 825 specifies.

        Namespace lists must be equal or one a prefix of the other (the longer wins); a label must
        mean the same properties everywhere; a provider must be described the same way everywhere.
        """
        fail = _merge_failure(self, other)
        short, long = sorted((self.priorities.namespaces, other.priorities.namespaces), key=len)
        if long[: len(short)] != short:
            fail(f"default-priorities.namespace {list(short)} and {list(long)} disagree")
        variants = dict(self.variants)
        for label, properties in other.variants.items():
            if variants.setdefault(label, properties) != properties:
                fail(
                    f"label {label!r} maps to two property sets: "
                    f"{show_properties(variants[label])} and {show_properties(properties)}"
                )
        providers = dict(self.providers)
        for namespace, provider in other.providers.items():
            if providers.setdefault(namespace, provider) != provider:
                fail(f"provider for namespace {namespace!r} is described in two different ways")
        features = _merge_keys(self.priorities.features, other.priorities.features, "feature", fail)
        values = _merge_keys(self.priorities.values, other.priorities.values, "property", fail)
        newest = max(self, other, key=lambda m: m.schema_version)
        return replace(
            newest,
            package=self.package or other.package,
            priorities=DefaultPriorities(long, features, values),
            providers=frozen_mapping(providers),
            variants=frozen_mapping(variants),
            sources=self.sources + tuple(s for s in other.sources if s not in self.sources),
        )

    def to_json(self) -> dict[str, Any]:
        """The metadata as a JSON object in its own dialect (for ``pylock.toml``'s ``variants-json``)."""
        priorities: dict[str, Any] = {"namespace": list(self.priorities.namespaces)}
        if self.priorities.features:
            priorities["feature"] = {ns: list(f) for ns, f in self.priorities.features.items()}
        if self.priorities.values:
            priorities["property"] = {
                ns: {feature: list(v) for feature, v in feats.items()}
                for ns, feats in self.priorities.values.items()
            }
        data: dict[str, Any] = {"$schema": self.schema, "default-priorities": priorities}
        if self.dialect == PEP817:
            data["providers"] = {ns: _provider_817_json(p) for ns, p in self.providers.items()}
            static = {
                ns: p.static_properties for ns, p in self.providers.items() if p.static_properties is not None
            }
            if static:
                data["static-properties"] = {
                    ns: {f: list(v) for f, v in s.items()} for ns, s in static.items()
                }
        elif self.providers:
            data["providers"] = {ns: _provider_850_json(p) for ns, p in self.providers.items()}
        data["variants"] = {label: _properties_json(props) for label, props in sorted(self.variants.items())}
        return data


def merge_metadata(items: Iterable[VariantMetadata]) -> VariantMetadata:
    """Fold several files of one release into one (order does not change the result)."""
    merged: VariantMetadata | None = None
    for item in items:
        merged = item if merged is None else merged.merge(item)
    if merged is None:
        raise ValueError("merge_metadata() needs at least one metadata file")
    return merged


def file_basename(source: str) -> str:
    path = urlsplit(source).path if "://" in source else source.replace("\\", "/")
    return PurePosixPath(path).name or source


def _merge_failure(first: VariantMetadata, second: VariantMetadata) -> Any:
    def fail(message: str) -> None:
        raise MetadataError(
            f"cannot combine with {', '.join(second.sources) or 'another file'}: {message}",
            package=first.package or second.package,
            file=", ".join(file_basename(s) for s in first.sources),
            source=", ".join(first.sources),
        )

    return fail


def _merge_keys(
    first: Mapping[str, Any], second: Mapping[str, Any], key: str, fail: Any
) -> Mapping[str, Any]:
    merged = dict(first)
    for namespace, value in second.items():
        if merged.setdefault(namespace, value) != value:
            fail(f"default-priorities.{key}.{namespace} differs between the files")
    return frozen_mapping(merged)


def show_properties(properties: Iterable[VariantProperty]) -> str:
    return "{" + ", ".join(str(p) for p in sorted(properties)) + "}"


def _properties_json(properties: Iterable[VariantProperty]) -> dict[str, dict[str, list[str]]]:
    table: dict[str, dict[str, list[str]]] = {}
    for prop in sorted(properties):
        table.setdefault(prop.namespace, {}).setdefault(prop.feature, []).append(prop.value)
    return table


def _provider_817_json(provider: Provider) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if provider.enable_if is not None:
        info["enable-if"] = provider.enable_if
    if not provider.install_time:
        info["install-time"] = False
    if provider.optional:
        info["optional"] = True
    if provider.plugin_api is not None:
        info["plugin-api"] = provider.plugin_api
    if provider.requires:
        info["requires"] = list(provider.requires)
    return info


def _provider_850_json(provider: Provider) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if provider.requires:
        info["requires"] = list(provider.requires)
    if provider.plugin_api is not None:
        info["plugin-api"] = provider.plugin_api
    if provider.static_properties is not None:
        info["static-properties"] = {f: list(v) for f, v in provider.static_properties.items()}
        if len(provider.static_properties) > 1:
            info["feature-order"] = list(provider.static_properties)
    if provider.builtin is not None:
        info["builtin"] = provider.builtin
    if provider.optional:
        info["optional"] = True
    return info
