"""What this host supports, spoken in the wheel-variant vocabulary (``namespace :: feature :: value``).

The one owner of the built-in providers: which namespaces they answer, which provider packages in
the wild each stands for, what the host's facts support of each, and why not when nothing. The host
wing owns it because the report recommends these properties; the variants wing serves its built-in
providers from here, so both always agree. Names, values and their preference order follow the
provider plugins published for each namespace (``data/variant_providers.json`` records them), so a
wheel built against a plugin's vocabulary matches here without running the plugin; levels and their
order come from the level ladders.
"""

from __future__ import annotations

__all__ = [
    "BuiltinProvider",
    "Supported",
    "absent_reason",
    "builtin_provider",
    "property_lines",
    "supported_properties",
]

import re
from collections.abc import Iterable, Mapping, Sequence

from ._values import Record, data_table
from .cpu_levels import level_names, runs_on
from .triples import level_flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .facts import AcceleratorFacts, HostFacts, ProcessorFacts

Supported = Mapping[str, Mapping[str, Sequence[str]]]
"""namespace -> feature -> supported values, most preferred first (read, never changed)."""


class BuiltinProvider(Record):
    """A namespace answered here, and the provider packages and plugin APIs it stands for."""

    namespace: str
    answered_from: str
    """``cpu`` or ``accelerator``: the part of the host its answer comes from."""
    packages: tuple[str, ...]
    plugin_apis: tuple[str, ...]

    def stands_for(self, package: str | None, plugin_api: str | None) -> bool:
        """Whether a package naming this provider package or plugin API gets this answer."""
        return package in self.packages or plugin_api in self.plugin_apis


def _table() -> dict[str, Any]:
    table: dict[str, Any] = data_table("variant_providers.json")["namespaces"]
    return table


def builtin_provider(namespace: str) -> BuiltinProvider | None:
    """The built-in provider of ``namespace`` (None: the package's own provider must answer it)."""
    entry = _table().get(namespace)
    if entry is None:
        return None
    return BuiltinProvider(
        namespace, entry["answered_from"], tuple(entry["packages"]), tuple(entry["plugin_apis"])
    )


def _present(features: Iterable[str], table: Mapping[str, Any]) -> list[str]:
    """The provider's extension features the CPU has, in the provider's preference order."""
    flags = set(features)
    aliases: Mapping[str, list[str]] = table["feature_aliases"]
    return [f for f in table["features"] if f in flags or any(a in flags for a in aliases.get(f, ()))]


def _levels_run(family: str, cpu_level: str | None) -> list[str]:
    """The levels of ``family`` a CPU at ``cpu_level`` runs, highest first."""
    if cpu_level is None:
        return []
    return [name for name in reversed(level_names(family)) if runs_on(name, cpu_level)]


def _x86_64(cpu: ProcessorFacts) -> dict[str, list[str]]:
    table = _table()["x86_64"]
    reached = _levels_run("x86_64", cpu.level)
    if not reached:
        return {}
    features = {"level": [level_flag(name) for name in reached]}
    features.update((feature, ["on"]) for feature in _present(cpu.features, table))
    return features


def _aarch64(cpu: ProcessorFacts) -> dict[str, list[str]]:
    """The provider caps at the newest version it knows: an armv9.2-a host supports "9.0a" and older."""
    table = _table()["aarch64"]
    spelled: Mapping[str, str] = table["versions"]
    versions = [spelled[name] for name in _levels_run("aarch64", cpu.level) if name in spelled]
    if not versions:
        return {}
    features = {"version": versions}
    features.update((feature, ["on"]) for feature in _present(cpu.features, table))
    return features


def _cuda_versions(majors: range, minors: range) -> list[tuple[tuple[int, int], str]]:
    """Every CUDA version the NVIDIA provider spells, newest first, with its place in time.

    ``12.8`` ... ``12.0`` then the bare ``12``, which sorts as (12, -1): below every 12.x.
    """
    return [
        ((major, minor), f"{major}.{minor}" if minor >= 0 else f"{major}")
        for major in reversed(majors)
        for minor in [*reversed(minors), -1]
    ]


def _nvidia(accelerator: AcceleratorFacts) -> dict[str, list[str]]:
    if accelerator.status != "ok":
        return {}
    match = re.fullmatch(r"(\d+)\.(\d+)", accelerator.cuda_driver_version or "")
    table = _table()["nvidia"]
    majors = range(table["cuda_major_range"][0], table["cuda_major_range"][1] + 1)
    minors = range(table["cuda_minor_range"][0], table["cuda_minor_range"][1] + 1)
    if not match or int(match[1]) not in majors or int(match[2]) not in minors:
        return {}
    driver = (int(match[1]), int(match[2]))
    versions = _cuda_versions(majors, minors)
    # A build needing CUDA >= v runs when v <= driver; a build for CUDA < v when the driver is below v.
    features = {
        "cuda_version_lower_bound": [text for when, text in versions if when <= driver],
        "cuda_version_upper_bound": [text for when, text in versions if when > driver],
    }
    features = {name: values for name, values in features.items() if values}
    # The provider describes only the newest GPU: its own SM minors down to 0, then the major's PTX.
    capabilities = [
        (int(m[1]), int(m[2]))
        for device in accelerator.devices
        if device.visible and (m := re.fullmatch(r"(\d+)\.(\d+)", device.compute_capability or ""))
    ]
    if capabilities and max(capabilities) >= tuple(table["minimum_sm"]):
        major, minor = max(capabilities)
        features["sm_arch"] = [*(f"{major}{m}_real" for m in range(minor, -1, -1)), f"{major}0_virtual"]
    return features


def _amd(accelerator: AcceleratorFacts) -> dict[str, list[str]]:
    if accelerator.status != "ok":
        return {}
    features: dict[str, list[str]] = {}
    gfx = [d.gfx_target for d in accelerator.devices if d.gfx_target]
    if gfx:
        features["gfx_arch"] = list(dict.fromkeys(gfx))
    if match := re.match(r"(\d+)\.(\d+)", accelerator.rocm_version or ""):
        features["rocm_version"] = [f"{match[1]}.{match[2]}"]
    return features


def supported_properties(facts: HostFacts) -> Supported:
    """Namespaces, features and values this host supports, by its built-in providers."""
    supported: dict[str, dict[str, list[str]]] = {}
    if facts.cpu.family == "x86_64":
        supported["x86_64"] = _x86_64(facts.cpu)
    elif facts.cpu.family == "aarch64":
        supported["aarch64"] = _aarch64(facts.cpu)
    for accelerator in facts.accelerators:
        if accelerator.vendor == "nvidia":
            supported["nvidia"] = _nvidia(accelerator)
        elif accelerator.vendor == "amd":
            supported["amd"] = _amd(accelerator)
    return {ns: feats for ns, feats in supported.items() if feats}


def absent_reason(namespace: str, facts: HostFacts) -> str:
    """Why the host supports nothing of a built-in namespace, in the report's own words."""
    provider = builtin_provider(namespace)
    if provider is not None and provider.answered_from == "cpu":
        cpu = facts.cpu
        return f"this host's CPU is {cpu.arch or 'unknown'} at level {cpu.level or 'unknown'}"
    accelerator = facts.accelerator(namespace)
    if accelerator is not None:
        reason = accelerator.reason
        return f"{namespace} accelerator status is {accelerator.status!r}" + (f": {reason}" if reason else "")
    return f"the host report lists no {namespace} accelerator"


def property_lines(supported: Supported, features_per_namespace: int | None = None) -> list[str]:
    """``namespace :: feature :: value`` lines for the best value of each feature."""
    lines: list[str] = []
    for namespace, features in supported.items():
        items = list(features.items())[:features_per_namespace]
        lines += [f"{namespace} :: {feature} :: {values[0]}" for feature, values in items if values]
    return lines
