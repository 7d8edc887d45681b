"""What a host supports, per variant namespace (draft PEP 850 providers).

Each namespace a package uses is answered by the first source that applies:

1. static properties written in the metadata (they do not depend on the host);
2. a profile file standing in for another machine (``--profile``), when one is given;
3. a provider plugin the user trusts by name, run in an isolated environment in a subprocess
   (:mod:`.plugins`), never imported here: trusting it is asking it, even where a built-in
   provider exists for its namespace;
4. a built-in provider computed from the host's facts, for the namespaces whose provider packages
   we know (x86_64, aarch64, nvidia, amd: :mod:`jupyter_pyvariant.host.properties` owns them), so
   no plugin code runs for them.

The reserved ``abi_dependency`` namespace is answered from the versions installed in the target
environment, when the caller gives them.

User overrides then force, forbid or reorder properties. Every namespace left without support gets
a note saying why, which the ordering quotes when it rejects a variant.
"""

from __future__ import annotations

__all__ = [
    "Overrides",
    "Preferences",
    "ProfileError",
    "SupportedProperties",
    "Table",
    "example_profiles",
    "host_profile",
    "host_supported",
    "load_profile",
    "profile_text",
    "write_profile",
]

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._data import loads_toml
from ..errors import HostError
from .metadata import ABI_DEPENDENCY, Provider, VariantMetadata
from .properties import VariantFeature, VariantFormatError, VariantProperty, check_name, check_value

if TYPE_CHECKING:
    from ..host.facts import HostFacts
    from .plugins import PluginOptions

Table = Mapping[str, Mapping[str, tuple[str, ...]]]
"""namespace -> feature -> values, most preferred first."""


def _freeze(table: Mapping[str, Mapping[str, Iterable[str]]]) -> Table:
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
        frozen = _freeze(table)
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
        return replace(self, table=_freeze(table), origins={**self.origins, namespace: origin})

    def with_note(self, key: str, note: str) -> SupportedProperties:
        return replace(self, notes={**self.notes, key: note})


# --- overrides ------------------------------------------------------------------------------------


def _selector(text: str) -> tuple[str, ...]:
    """``ns``, ``ns :: feature`` or ``ns :: feature :: value``, validated, as a tuple of 1-3 parts."""
    parts = tuple(re.split(r"\s*::\s*", text.strip()))
    if not 1 <= len(parts) <= 3:
        raise VariantFormatError(f"invalid selector {text!r}: expected 'namespace[ :: feature[ :: value]]'")
    check_name("namespace", parts[0])
    if len(parts) > 1:
        check_name("feature name", parts[1])
    if len(parts) > 2:
        check_value(parts[2])
    return parts


@dataclass(frozen=True)
class Overrides:
    """What the user says about support, over what the providers say.

    ``force``: properties to treat as supported (most preferred first); ``forbid``: namespaces,
    features or properties never to use; ``prefer``: namespaces, features or properties to move to
    the front of their order; ``profile``: supported properties of another machine, replacing this
    host's built-in and plugin answers; ``enable_optional``: optional providers to use.
    """

    force: tuple[VariantProperty, ...] = ()
    forbid: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()
    profile: SupportedProperties | None = None
    enable_optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for text in (*self.forbid, *self.prefer):
            _selector(text)

    @classmethod
    def parse(
        cls,
        *,
        force: Iterable[str] = (),
        forbid: Iterable[str] = (),
        prefer: Iterable[str] = (),
        profile: str | os.PathLike[str] | None = None,
        enable_optional: Iterable[str] = (),
    ) -> Overrides:
        """Overrides from command-line strings; raises VariantFormatError / ProfileError on bad input."""
        return cls(
            force=tuple(VariantProperty.parse(text) for text in force),
            forbid=tuple(forbid),
            prefer=tuple(prefer),
            profile=None if profile is None else load_profile(profile),
            enable_optional=tuple(enable_optional),
        )

    def apply(self, supported: SupportedProperties) -> SupportedProperties:
        table = supported.to_dict()
        origins = dict(supported.origins)
        notes = dict(supported.notes)
        for prop in reversed(self.force):
            values = table.setdefault(prop.namespace, {}).setdefault(prop.feature, [])
            table[prop.namespace][prop.feature] = [prop.value, *(v for v in values if v != prop.value)]
            origins.setdefault(prop.namespace, "forced by the user")
        for text in self.forbid:
            parts = _selector(text)
            features = table.get(parts[0], {})
            if len(parts) == 1:
                table.pop(parts[0], None)
            elif len(parts) == 2:
                features.pop(parts[1], None)
            elif parts[1] in features:
                features[parts[1]] = [v for v in features[parts[1]] if v != parts[2]]
            notes[" :: ".join(parts)] = f"{' :: '.join(parts)} is forbidden by the user"
        return replace(
            supported, table=_freeze(table), origins=origins, notes=notes, preferences=self._preferences()
        )

    def _preferences(self) -> Preferences:
        namespaces: list[str] = []
        features: dict[str, list[str]] = {}
        values: dict[str, dict[str, list[str]]] = {}
        for parts in map(_selector, self.prefer):
            if len(parts) == 1:
                namespaces.append(parts[0])
            elif len(parts) == 2:
                features.setdefault(parts[0], []).append(parts[1])
            else:
                values.setdefault(parts[0], {}).setdefault(parts[1], []).append(parts[2])
        return Preferences(tuple(namespaces), {ns: tuple(f) for ns, f in features.items()}, _freeze(values))


# --- the host ---------------------------------------------------------------------------------------


def _builtin_serves(namespace: str, provider: Provider | None) -> bool:
    """Whether our built-in provider stands for the one the package names for this namespace."""
    from ..host.properties import builtin_provider

    known = builtin_provider(namespace)
    if known is None:
        return False
    if provider is None or provider.kind in ("builtin", "unspecified"):
        return True
    return known.stands_for(provider.package, provider.object_reference)


def _marker_environment(facts: HostFacts) -> dict[str, str]:
    """PEP 508 marker values for the reported host (``enable-if`` of PEP 817 providers)."""
    from packaging.markers import default_environment

    environment: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    if facts.cpu.arch:
        environment["platform_machine"] = facts.cpu.arch
    if facts.system.os:
        environment["platform_system"] = facts.system.os
    return environment


def _enabled(provider: Provider | None, facts: HostFacts) -> str | None:
    """None when the provider's ``enable-if`` marker holds for the host, else the reason it does not."""
    if provider is None or provider.enable_if is None:
        return None
    from packaging.markers import InvalidMarker, Marker

    try:
        if Marker(provider.enable_if).evaluate(_marker_environment(facts)):
            return None
    except InvalidMarker as exc:
        return f"enable-if {provider.enable_if!r} is not a valid marker: {exc}"
    return f"enable-if {provider.enable_if!r} is false on this host"


def _trusted(provider: Provider, trusted: Iterable[str]) -> bool:
    from packaging.utils import canonicalize_name

    names = {canonicalize_name(name) for name in trusted}
    candidates = (provider.package, provider.namespace, provider.object_reference)
    return any(c is not None and canonicalize_name(c) in names for c in candidates)


def host_supported(
    facts: HostFacts | None,
    metadata: VariantMetadata,
    *,
    builtin: SupportedProperties | None = None,
    trusted_plugins: Iterable[str] = (),
    overrides: Overrides | None = None,
    plugin_options: PluginOptions | None = None,
    installed: Mapping[str, str] | None = None,
) -> SupportedProperties:
    """What the reported host (or the override profile) supports for the namespaces of one package.

    ``builtin`` is what the built-in providers say about the host (:func:`host_profile`), when the
    caller has it already (a session asks it once for every package); ``trusted_plugins`` names
    provider packages (or namespaces, or plugin APIs) the user allows to run; ``plugin_options`` (a
    :class:`.plugins.PluginOptions`) says where and how to install them. ``installed`` maps the
    target environment's distributions to their versions, for ``abi_dependency``.
    """
    from ..host.facts import HostFacts

    overrides = overrides or Overrides()
    facts = facts or HostFacts()
    if builtin is None:
        builtin = host_profile(facts) if overrides.profile is None else SupportedProperties()
    context = _Context(
        metadata=metadata,
        facts=facts,
        builtin=builtin,
        profile=overrides.profile,
        enabled_optional=overrides.enable_optional,
        trusted=tuple(trusted_plugins),
        plugin_options=plugin_options,
        installed=installed,
    )
    supported = SupportedProperties()
    for namespace in metadata.namespaces:
        features, text = _answer(namespace, metadata.providers.get(namespace), context)
        if features is None:
            supported = supported.with_note(namespace, text)
        else:
            supported = supported.with_namespace(namespace, features, text)
    if overrides.profile is not None:  # what the profile says it lacks (``level = []``), in its words
        for key, note in overrides.profile.notes.items():
            if key.split(" :: ", 1)[0] in metadata.namespaces and key not in supported.notes:
                supported = supported.with_note(key, note)
    return overrides.apply(supported)


@dataclass(frozen=True)
class _Context:
    """Everything that decides how one package's namespaces are answered."""

    metadata: VariantMetadata
    facts: HostFacts
    builtin: SupportedProperties
    profile: SupportedProperties | None
    enabled_optional: tuple[str, ...]
    trusted: tuple[str, ...]
    plugin_options: PluginOptions | None
    installed: Mapping[str, str] | None


Answer = tuple[Mapping[str, Iterable[str]] | None, str]
"""(features, where they came from) when supported, (None, why not) when not."""


def _answer(namespace: str, provider: Provider | None, context: _Context) -> Answer:
    """The first source that applies to a namespace, in the order the module docstring gives."""
    wanted = namespace in context.enabled_optional or (
        provider is not None and _trusted(provider, context.trusted)
    )
    if provider is not None and provider.optional and not wanted:
        return None, f"the {namespace} provider is optional and not enabled"
    if namespace == ABI_DEPENDENCY:
        if context.installed is None:
            return None, "the target environment's installed versions are unknown"
        return _abi_dependency(
            context.installed, context.metadata
        ), "versions installed in the target environment"
    if (reason := _enabled(provider, context.facts)) is not None:
        return None, reason
    if provider is not None and provider.static_properties is not None:
        return provider.static_properties, "static properties in the metadata"
    if context.profile is not None:
        if namespace in context.profile.table:
            return context.profile.table[namespace], context.profile.origins.get(namespace, "profile")
        return None, context.profile.notes.get(namespace, f"the profile has no [{namespace}] table")
    if provider is not None and provider.kind == "plugin" and _trusted(provider, context.trusted):
        from .plugins import run_provider

        name = provider.package or provider.object_reference
        return run_provider(provider, context.metadata, context.plugin_options), f"plugin {name} (trusted)"
    if _builtin_serves(namespace, provider):
        if namespace in context.builtin.table:
            return context.builtin.table[namespace], f"built-in {namespace} provider (host report)"
        from ..host.properties import absent_reason

        return None, absent_reason(namespace, context.facts)
    if provider is None or provider.kind != "plugin":
        return None, f"no provider is known for namespace {namespace!r}"
    return None, (
        f"provider plugin {provider.package or provider.object_reference} is third-party code; "
        f"trust it by name to run it (--trust-provider {provider.package or namespace})"
    )


def _abi_dependency(installed: Mapping[str, str], metadata: VariantMetadata) -> dict[str, list[str]]:
    """``abi_dependency`` values an installed version matches (``==2.*``, ``==2.9.*``, ``==2.9.1.*``).

    Listed major first, as variantlib lists them; only the dependencies the package's variants name.
    """
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    wanted = {
        p.feature for props in metadata.variants.values() for p in props if p.namespace == ABI_DEPENDENCY
    }
    table: dict[str, list[str]] = {}
    for name, text in sorted((canonicalize_name(n).replace("-", "_"), v) for n, v in installed.items()):
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if name in wanted and version.epoch == 0:
            release = (version.major, version.minor, version.micro)
            table[name] = list(dict.fromkeys(".".join(map(str, release[:n])) for n in (1, 2, 3)))
    return table


def host_profile(facts: HostFacts) -> SupportedProperties:
    """Everything the built-in providers say about the host: what ``pyvariant profile`` writes, and
    what a session's recipes and variant ranking both start from."""
    from ..host.properties import supported_properties

    return SupportedProperties.from_mapping(
        supported_properties(facts), origin="built-in providers (host report)"
    )


# --- profile files ----------------------------------------------------------------------------------


class ProfileError(HostError, ValueError):
    """A profile file that cannot stand in for a machine, naming the file and what is wrong."""


def example_profiles() -> dict[str, Path]:
    """The profiles shipped for common machines (``--profile nvidia-cuda12``), by name."""
    folder = Path(str(resources.files(__package__) / "data" / "profiles"))
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def load_profile(path: str | os.PathLike[str]) -> SupportedProperties:
    """A TOML profile: ``[namespace]`` tables mapping each feature to its values, most preferred first.

    A name that is not a file but names a shipped example (:func:`example_profiles`) loads that.
    """
    if not Path(path).exists() and (shipped := example_profiles().get(os.fspath(path))) is not None:
        path = shipped
    try:
        data = loads_toml(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError, TOMLDecodeError
        raise ProfileError(f"cannot read profile {os.fspath(path)}: {exc}") from None
    except RecursionError:  # nested arrays and tables are read recursively
        raise ProfileError(f"cannot read profile {os.fspath(path)}: nested too deeply") from None
    where = os.fspath(path)
    notes: dict[str, str] = {}
    for namespace, features in data.items():
        if not isinstance(features, dict):
            raise ProfileError(f"profile {where}: {namespace!r} must be a [{namespace}] table")
        for feature, values in features.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ProfileError(f"profile {where}: [{namespace}] {feature} must be a list of strings")
            if not values:
                notes[f"{namespace} :: {feature}"] = f"the profile lists no {namespace} :: {feature} value"
        if not any(features.values()):
            notes[namespace] = f"the profile's [{namespace}] table is empty: that machine supports none of it"
    try:
        loaded = SupportedProperties.from_mapping(data, origin=f"profile {where}")
    except VariantFormatError as exc:
        raise ProfileError(f"profile {where}: {exc}") from None
    return replace(loaded, notes=notes)


def profile_text(supported: SupportedProperties, comment: str = "") -> str:
    """The TOML text of a profile (names and values need no escaping: the PEP's alphabet is safe)."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    for namespace, features in supported.table.items():
        lines += ["", f"[{namespace}]"]
        lines += [
            f"{feature} = [{', '.join(json.dumps(v) for v in values)}]"
            for feature, values in features.items()
        ]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_profile(supported: SupportedProperties, path: str | os.PathLike[str], comment: str = "") -> None:
    """Write a profile atomically (a reader never sees half a file), readable as the umask allows."""
    from .._atomic import write_text_atomic

    write_text_atomic(Path(path), profile_text(supported, comment), create_parents=False, shared=True)
