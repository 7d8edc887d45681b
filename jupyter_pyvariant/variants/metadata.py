"""Variant metadata: ``*.dist-info/variant.json`` and ``{name}-{version}-variants.json``, every dialect.

Three dialects are served today, and no single reader accepts them all:

- schema 0.0.x (PEP 817 era): providers with ``enable-if`` / ``install-time``, a top-level
  ``static-properties``, and ``default-priorities.feature`` / ``.property``;
- schema 0.1.x (PEP 825): priorities and variants only, no providers;
- schema 0.2.x (PEP 850, variantlib 0.2): providers with exactly one of ``requires``,
  ``static-properties`` or ``builtin``, plus ``plugin-api``, ``optional`` and ``feature-order``.

Each is read into one immutable :class:`VariantMetadata`; files of one release merge per PEP 825.
Unknown keys are ignored (PEP 817 asks for that), an unknown major schema version is refused.
"""

from __future__ import annotations

__all__ = [
    "ABI_DEPENDENCY",
    "PEP817",
    "PEP825",
    "PEP850",
    "MetadataError",
    "Provider",
    "VariantMetadata",
    "merge_metadata",
    "parse_variants_json",
    "read_wheel_variant_json",
]

import json
import os
import re
import zipfile
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial
from os import PathLike
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

from ..errors import VariantError
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

ABI_DEPENDENCY = "abi_dependency"
"""The reserved namespace for builds against different versions of a dependency; it has no provider,
its supported values come from the versions installed in the target environment."""

PEP817 = "pep817"
PEP825 = "pep825"
PEP850 = "pep850"

_DIALECT_BY_MINOR = {0: PEP817, 1: PEP825, 2: PEP850}
_CANONICAL_SCHEMA = {
    PEP817: "https://variants-schema.wheelnext.dev/v0.0.3.json",
    PEP825: "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
    PEP850: "https://variants-schema.wheelnext.dev/v0.2.0.json",
}
_SCHEMA_VERSION = re.compile(r"/v(\d+)\.(\d+)(?:\.(\d+))?\.json$")
_PLUGIN_API = re.compile(r"[\w.]+(\s*:\s*[\w.]+)?")
_VARIANTS_FILE = re.compile(r"(?P<name>.+)-(?P<version>[^-]+)-variants\.json$")

K = TypeVar("K")
V = TypeVar("V")
_NAMESPACE = partial(check_name, "namespace")
_FEATURE = partial(check_name, "feature name")

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


def _frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
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
    features: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _frozen({}))
    values: Mapping[str, FeatureValues] = field(default_factory=lambda: _frozen({}))

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
                    f"{_show(variants[label])} and {_show(properties)}"
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
            providers=_frozen(providers),
            variants=_frozen(variants),
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


VariantsFile = VariantMetadata
"""The index-side ``{name}-{version}-variants.json`` reads into the same model."""


def merge_metadata(items: Iterable[VariantMetadata]) -> VariantMetadata:
    """Fold several files of one release into one (order does not change the result)."""
    merged: VariantMetadata | None = None
    for item in items:
        merged = item if merged is None else merged.merge(item)
    if merged is None:
        raise ValueError("merge_metadata() needs at least one metadata file")
    return merged


def parse_variants_json(
    data: Mapping[str, Any] | bytes | str,
    source: str,
    *,
    package: str | None = None,
    file: str | None = None,
) -> VariantMetadata:
    """Read variant metadata in any known dialect; ``source`` is the URL or path it came from."""
    file = file or _basename(source)
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


def read_wheel_variant_json(
    wheel: str | PathLike[str] | IO[bytes], *, source: str | None = None, filename: str | None = None
) -> VariantMetadata:
    """The ``*.dist-info/variant.json`` of a wheel; it must describe exactly the wheel's own label.

    ``filename``: the wheel's name where the local file is named otherwise (a download's spool copy).
    """
    name = os.fspath(wheel) if isinstance(wheel, str | os.PathLike) else str(getattr(wheel, "name", "wheel"))
    filename = filename or _basename(name)
    source = source or name
    try:
        wheel_name: WheelName | None = WheelName.parse(filename)
    except VariantFormatError:
        wheel_name = None
    package = wheel_name.name if wheel_name else None
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/variant\.json", m)]
            if len(members) != 1:
                found = "none" if not members else ", ".join(members)
                raise MetadataError(
                    f"expected one *.dist-info/variant.json, found {found}",
                    package=package,
                    file=filename,
                    source=source,
                )
            raw = archive.read(members[0])
    except (OSError, zipfile.BadZipFile) as exc:
        raise MetadataError(
            f"cannot read the wheel: {exc}", package=package, file=filename, source=source
        ) from None
    metadata = parse_variants_json(raw, source, package=package, file=f"{filename}!{members[0]}")
    reader = _Reader(package, f"{filename}!{members[0]}", source)
    if len(metadata.variants) != 1:
        reader.fail(f"variant.json must describe exactly one variant, it describes {len(metadata.variants)}")
    label = next(iter(metadata.variants))
    if wheel_name is not None and wheel_name.label not in (None, label):
        reader.fail(f"variant.json describes label {label!r} but the filename carries {wheel_name.label!r}")
    return metadata


# --- reading ---------------------------------------------------------------------------------------


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
            providers=_frozen(providers),
            variants=_frozen(variants),
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
            self.checked(_NAMESPACE, ns, "default-priorities.property"): _frozen(
                self.feature_values(feats, f"default-priorities.property.{ns}", non_empty=False)
            )
            for ns, feats in self.mapping(table.get("property", {}), "default-priorities.property").items()
        }
        return DefaultPriorities(namespaces, _frozen(features), _frozen(values))

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
                    f"label 'null' is reserved for the variant without properties, got {_show(properties)}"
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
                features = _frozen({f: found[f] for f in [*order, *(f for f in found if f not in order)]})
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
                features = _frozen({f: found[f] for f in order})
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


def _basename(source: str) -> str:
    path = urlsplit(source).path if "://" in source else source.replace("\\", "/")
    return PurePosixPath(path).name or source


def _package_from_filename(file: str) -> str | None:
    if match := _VARIANTS_FILE.match(file):
        return match["name"]
    try:
        return WheelName.parse(file.split("!")[0]).name
    except VariantFormatError:
        return None


# --- merging and writing ---------------------------------------------------------------------------


def _merge_failure(first: VariantMetadata, second: VariantMetadata) -> Any:
    def fail(message: str) -> None:
        raise MetadataError(
            f"cannot combine with {', '.join(second.sources) or 'another file'}: {message}",
            package=first.package or second.package,
            file=", ".join(_basename(s) for s in first.sources),
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
    return _frozen(merged)


def _show(properties: Iterable[VariantProperty]) -> str:
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
