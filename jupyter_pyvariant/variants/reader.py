"""Reading variant metadata: ``*.dist-info/variant.json`` and ``{name}-{version}-variants.json``.

Three dialects are served today, and no single reader accepts them all:

- schema 0.0.x (PEP 817 era): providers with ``enable-if`` / ``install-time``, a top-level
  ``static-properties``, and ``default-priorities.feature`` / ``.property``;
- schema 0.1.x (PEP 825): priorities and variants only, no providers;
- schema 0.2.x (PEP 850, variantlib 0.2): providers with exactly one of ``requires``,
  ``static-properties`` or ``builtin``, plus ``plugin-api``, ``optional`` and ``feature-order``.

Each is read into one immutable :class:`.metadata.VariantMetadata`. Unknown keys are ignored (PEP 817
asks for that), an unknown major schema version is refused; anything else wrong is a
:class:`.metadata.MetadataError` that names the package, the file and where it came from.
"""

from __future__ import annotations

__all__ = ["parse_variants_json"]

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urlsplit

from .metadata import (
    ABI_DEPENDENCY,
    PEP817,
    PEP825,
    PEP850,
    DefaultPriorities,
    FeatureValues,
    MetadataError,
    Provider,
    VariantMetadata,
    file_basename,
    frozen_mapping,
    show_properties,
)
from .properties import (
    NULL,
    VariantFormatError,
    VariantLabel,
    VariantProperty,
    WheelName,
    check_name,
    check_value,
    variant_label,
)

_DIALECT_BY_MINOR = {0: PEP817, 1: PEP825, 2: PEP850}
_CANONICAL_SCHEMA = {
    PEP817: "https://variants-schema.wheelnext.dev/v0.0.3.json",
    PEP825: "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
    PEP850: "https://variants-schema.wheelnext.dev/v0.2.0.json",
}
_SCHEMA_VERSION = re.compile(r"/v(\d+)\.(\d+)(?:\.(\d+))?\.json$")
_PLUGIN_API = re.compile(r"[\w.]+(\s*:\s*[\w.]+)?")
_VARIANTS_FILE = re.compile(r"(?P<name>.+)-(?P<version>[^-]+)-variants\.json$")

_NAMESPACE = partial(check_name, "namespace")
_FEATURE = partial(check_name, "feature name")


def parse_variants_json(
    data: Mapping[str, Any] | bytes | str,
    source: str,
    *,
    package: str | None = None,
    file: str | None = None,
) -> VariantMetadata:
    """Read variant metadata in any known dialect; ``source`` is the URL or path it came from."""
    file = file or file_basename(source)
    reader = _Reader(package or _package_from_filename(file), file, source)
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data, object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            reader.fail(f"key {exc} appears twice in one object (a label may map to one property set only)")
        except (ValueError, UnicodeDecodeError) as exc:
            reader.fail(f"not valid JSON: {exc}")
        except RecursionError:
            reader.fail("not valid JSON: nested too deeply")
    return reader.read(reader.mapping(data, "the document"))


class _DuplicateKey(Exception):
    """A JSON object repeating a key, which ``json`` would otherwise resolve silently (last wins)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    table = dict(pairs)
    if len(table) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:  # linear: a big document with one late repeat must not cost seconds
            if key in seen:
                raise _DuplicateKey(repr(key))
            seen.add(key)
    return table


@dataclass(frozen=True)
class _Reader:
    """Parses one document, turning every problem into a MetadataError that says where."""

    package: str | None
    file: str
    source: str

    def fail(self, message: str) -> Any:
        raise MetadataError(message, package=self.package, file=self.file, source=self.source)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if type(value) is not dict and not isinstance(value, Mapping):
            self.fail(f"{where} must be an object, got {type(value).__name__}")
        return value  # type: ignore[no-any-return]

    def strings(self, value: Any, where: str, *, non_empty: bool = True) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where} must be a list of strings")
        if non_empty and not value:
            self.fail(f"{where} must not be empty")
        if len(set(value)) != len(value):
            self.fail(f"{where} lists a value twice: {value}")
        return tuple(value)

    def names(self, value: Any, where: str, kind: str, *, non_empty: bool = True) -> tuple[str, ...]:
        items = self.strings(value, where, non_empty=non_empty)
        return tuple(self.checked(partial(check_name, kind), item, where) for item in items)

    def values(self, value: Any, where: str, *, non_empty: bool = True) -> tuple[str, ...]:
        items = self.strings(value, where, non_empty=non_empty)
        return tuple(self.checked(check_value, item, where) for item in items)

    def checked(self, check: Callable[[str], str], text: str, where: str) -> str:
        try:
            return check(text)
        except VariantFormatError as exc:
            return str(self.fail(f"{where}: {exc}"))

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(f"{where} must be true or false")
        return bool(value)

    def feature_values(self, value: Any, where: str, *, non_empty: bool = True) -> dict[str, tuple[str, ...]]:
        table = self.mapping(value, where)
        return {
            self.checked(_FEATURE, feature, where): self.values(
                values, f"{where}.{feature}", non_empty=non_empty
            )
            for feature, values in table.items()
        }

    def version(self, data: Mapping[str, Any]) -> tuple[str, tuple[int, int, int]]:
        schema = data.get("$schema")
        if schema is None:
            return "", _guess_version(data)
        if not isinstance(schema, str) or not (match := _SCHEMA_VERSION.search(urlsplit(schema).path)):
            return "", self.fail(
                f"$schema {schema!r} names no version (expected a URL ending in /vX.Y.Z.json)"
            )
        major, minor, patch = (int(part or 0) for part in match.groups())
        if major != 0:
            self.fail(
                f"schema version {major}.{minor}.{patch} ({schema}) has an unsupported major version; "
                "supported: 0.0.x (PEP 817), 0.1.x (PEP 825), 0.2.x (PEP 850)"
            )
        return schema, (major, minor, patch)

    def read(self, data: Mapping[str, Any]) -> VariantMetadata:
        schema, version = self.version(data)
        dialect = _DIALECT_BY_MINOR.get(version[1], PEP850)  # a newer minor is read as the newest we know
        priorities = self.priorities(data.get("default-priorities"))
        variants = self.variants(data.get("variants"))
        used = {prop.namespace for props in variants.values() for prop in props}
        if missing := sorted(used - set(priorities.namespaces) - {ABI_DEPENDENCY}):
            self.fail(f"default-priorities.namespace does not list namespaces used by variants: {missing}")
        if dialect == PEP817:
            providers = self.providers_817(data, priorities)
        elif dialect == PEP850 or "providers" in data:
            providers = self.providers_850(data.get("providers", {}), priorities)
        else:
            providers = {}
        return VariantMetadata(
            package=self.package,
            schema=schema or _CANONICAL_SCHEMA[dialect],
            schema_version=version,
            dialect=dialect,
            priorities=priorities,
            providers=frozen_mapping(providers),
            variants=frozen_mapping(variants),
            sources=(self.source,),
        )

    def priorities(self, value: Any) -> DefaultPriorities:
        if value is None:
            self.fail("default-priorities is missing")
        table = self.mapping(value, "default-priorities")
        if "namespace" not in table:
            self.fail("default-priorities.namespace is missing")
        namespaces = self.names(table["namespace"], "default-priorities.namespace", "namespace")
        features = {
            self.checked(_NAMESPACE, ns, "default-priorities.feature"): self.names(
                names, f"default-priorities.feature.{ns}", "feature name", non_empty=False
            )
            for ns, names in self.mapping(table.get("feature", {}), "default-priorities.feature").items()
        }
        values = {
            self.checked(_NAMESPACE, ns, "default-priorities.property"): frozen_mapping(
                self.feature_values(feats, f"default-priorities.property.{ns}", non_empty=False)
            )
            for ns, feats in self.mapping(table.get("property", {}), "default-priorities.property").items()
        }
        return DefaultPriorities(namespaces, frozen_mapping(features), frozen_mapping(values))

    def variants(self, value: Any) -> dict[VariantLabel, frozenset[VariantProperty]]:
        if value is None:
            self.fail("variants is missing")
        variants: dict[VariantLabel, frozenset[VariantProperty]] = {}
        for label_text, namespaces in self.mapping(value, "variants").items():
            try:
                label = variant_label(label_text)
            except VariantFormatError as exc:
                return self.fail(f"variants: {exc}")  # type: ignore[no-any-return]
            found: list[VariantProperty] = []
            # type() before mapping(): the place names are only worth formatting for an error message
            if type(namespaces) is not dict:
                self.mapping(namespaces, f"variants.{label}")
            for ns, feats in namespaces.items():
                if type(feats) is not dict:
                    self.mapping(feats, f"variants.{label}.{ns}")
                for feature, values in feats.items():
                    found += self.properties(ns, feature, values, label)
            properties = frozenset(found)
            if label == NULL and properties:
                self.fail(
                    "label 'null' is reserved for the variant without properties, "
                    f"got {show_properties(properties)}"
                )
            if not properties and label != NULL:
                self.fail(f"label {label!r} has no properties; only 'null' may be empty")
            variants[label] = properties
        return variants

    def properties(
        self, namespace: Any, feature: Any, values: Any, label: str
    ) -> tuple[VariantProperty, ...]:
        """One label's ``namespace.feature`` list; a list seen before costs one lookup."""
        if type(values) is list:
            try:
                return _properties(namespace, feature, tuple(values))
            except (VariantFormatError, TypeError):
                pass  # the checks below name what is wrong
        where = f"variants.{label}.{namespace}.{feature}"
        texts = self.strings(values, where)
        try:
            return tuple(_property(namespace, feature, text) for text in texts)
        except (VariantFormatError, TypeError) as exc:
            return self.fail(f"{where}: {exc}")  # type: ignore[no-any-return]

    def providers_817(self, data: Mapping[str, Any], priorities: DefaultPriorities) -> dict[str, Provider]:
        table = self.mapping(data.get("providers", {}), "providers")
        static = self.mapping(data.get("static-properties", {}), "static-properties")
        providers: dict[str, Provider] = {}
        for namespace, value in table.items():
            where = f"providers.{namespace}"
            self.checked(_NAMESPACE, namespace, where)
            info = self.mapping(value, where)
            install_time = self.flag(info.get("install-time", True), f"{where}.install-time")
            requires = self.strings(info.get("requires", []), f"{where}.requires", non_empty=install_time)
            enable_if = info.get("enable-if")
            if enable_if is not None and not isinstance(enable_if, str):
                self.fail(f"{where}.enable-if must be a string")
            features: FeatureValues | None = None
            if not install_time:
                if namespace not in static:
                    self.fail(
                        f"{where} is an ahead-of-time provider but static-properties.{namespace} is missing"
                    )
                found = self.feature_values(static[namespace], f"static-properties.{namespace}")
                order = [f for f in priorities.features.get(namespace, ()) if f in found]
                features = frozen_mapping(
                    {f: found[f] for f in [*order, *(f for f in found if f not in order)]}
                )
            providers[namespace] = Provider(
                namespace=namespace,
                requires=requires,
                plugin_api=self.plugin_api(info.get("plugin-api"), where),
                optional=self.flag(info.get("optional", False), f"{where}.optional"),
                static_properties=features,
                enable_if=enable_if,
                install_time=install_time,
            )
        self.every_namespace_has_provider(priorities, providers)
        return providers

    def providers_850(self, value: Any, priorities: DefaultPriorities) -> dict[str, Provider]:
        providers: dict[str, Provider] = {}
        for namespace, raw in self.mapping(value, "providers").items():
            where = f"providers.{namespace}"
            self.checked(_NAMESPACE, namespace, where)
            info = self.mapping(raw, where)
            if "build-requires" in info:
                self.fail(f"{where}.build-requires belongs in pyproject.toml, not in published metadata")
            sources = [key for key in ("requires", "static-properties", "builtin") if key in info]
            if len(sources) != 1:
                self.fail(
                    f"{where} must have exactly one of requires, static-properties, builtin; has {sources}"
                )
            if "plugin-api" in info and "requires" not in info:
                self.fail(f"{where}.plugin-api is valid only with requires")
            if "feature-order" in info and "static-properties" not in info:
                self.fail(f"{where}.feature-order is valid only with static-properties")
            features: FeatureValues | None = None
            if "static-properties" in info:
                found = self.feature_values(info["static-properties"], f"{where}.static-properties")
                if not found:
                    self.fail(f"{where}.static-properties must not be empty")
                order = self.names(
                    info.get("feature-order", list(found)), f"{where}.feature-order", "feature name"
                )
                if set(order) != set(found):
                    self.fail(f"{where}.feature-order {list(order)} must list exactly {sorted(found)}")
                features = frozen_mapping({f: found[f] for f in order})
            builtin = info.get("builtin")
            if builtin is not None and (not isinstance(builtin, str) or not builtin):
                self.fail(f"{where}.builtin must be a non-empty string")
            providers[namespace] = Provider(
                namespace=namespace,
                requires=self.strings(
                    info.get("requires", []), f"{where}.requires", non_empty="requires" in info
                ),
                plugin_api=self.plugin_api(info.get("plugin-api"), where),
                optional=self.flag(info.get("optional", False), f"{where}.optional"),
                builtin=builtin,
                static_properties=features,
            )
        self.every_namespace_has_provider(priorities, providers)
        return providers

    def plugin_api(self, value: Any, where: str) -> str | None:
        if value is not None and (not isinstance(value, str) or not _PLUGIN_API.fullmatch(value.strip())):
            self.fail(f"{where}.plugin-api {value!r} is not an object reference like 'module.sub:Class'")
        return value  # type: ignore[no-any-return]

    def every_namespace_has_provider(
        self, priorities: DefaultPriorities, providers: Mapping[str, Provider]
    ) -> None:
        if missing := [ns for ns in priorities.namespaces if ns not in providers and ns != ABI_DEPENDENCY]:
            self.fail(f"providers has no entry for namespaces {missing}")
        if ABI_DEPENDENCY in providers:
            self.fail(f"providers.{ABI_DEPENDENCY}: that namespace is reserved and has no provider")
        if extra := sorted(set(providers) - set(priorities.namespaces)):
            self.fail(f"default-priorities.namespace does not list provider namespaces {extra}")


@lru_cache(maxsize=1 << 16)
def _property(namespace: str, feature: str, value: str) -> VariantProperty:
    """Validated once per distinct triple: a plan reads the same properties in many packages."""
    return VariantProperty(namespace, feature, value)


@lru_cache(maxsize=1 << 14)
def _properties(namespace: str, feature: str, values: tuple[str, ...]) -> tuple[VariantProperty, ...]:
    """One feature's value list, validated once per distinct list (labels repeat them many times).

    Raises for anything but a non-empty list of distinct valid strings; the caller then says why.
    """
    if not values or len(set(values)) != len(values) or not all(type(v) is str for v in values):
        raise VariantFormatError("not a non-empty list of distinct strings")
    return tuple(_property(namespace, feature, value) for value in values)


def _guess_version(data: Mapping[str, Any]) -> tuple[int, int, int]:
    """The dialect of a document without ``$schema``, from the keys only one dialect uses."""
    providers = data.get("providers")
    infos = list(providers.values()) if isinstance(providers, Mapping) else []
    infos = [info for info in infos if isinstance(info, Mapping)]
    if "static-properties" in data or any({"install-time", "enable-if"} & set(info) for info in infos):
        return (0, 0, 3)
    if providers is not None:
        return (0, 2, 0)
    return (0, 1, 1)


def _package_from_filename(file: str) -> str | None:
    if match := _VARIANTS_FILE.match(file):
        return match["name"]
    try:
        return WheelName.parse(file.split("!")[0]).name
    except VariantFormatError:
        return None
