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

__all__ = ["host_profile", "host_supported"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .metadata import ABI_DEPENDENCY, Provider, VariantMetadata
from .overrides import Overrides
from .supported import SupportedProperties

if TYPE_CHECKING:
    from ..host.facts import HostFacts
    from .plugins import PluginOptions


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
