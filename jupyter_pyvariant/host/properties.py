"""What this host supports, spoken in the wheel-variant vocabulary (``namespace :: feature :: value``).

The host wing owns this translation because the report recommends these properties; the variants
wing builds its built-in providers on the same function, so both always agree. Names, values and
their preference order follow the provider plugins published for each namespace
(``data/variant_providers.json`` records them), so a wheel built against a plugin's vocabulary
matches here without running the plugin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ._values import data_table
from .cpu_levels import level_names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Supported = dict[str, dict[str, list[str]]]
"""namespace -> feature -> supported values, most preferred first."""


def _table() -> dict[str, Any]:
    table: dict[str, Any] = data_table("variant_providers.json")
    return table


def _present(features: Iterable[str], table: Mapping[str, Any]) -> list[str]:
    """The provider's extension features the CPU has, in the provider's preference order."""
    flags = {str(flag) for flag in features}
    aliases: Mapping[str, list[str]] = table["feature_aliases"]
    return [f for f in table["features"] if f in flags or any(a in flags for a in aliases.get(f, ()))]


def _x86_64(cpu: Mapping[str, Any]) -> dict[str, list[str]]:
    table = _table()["x86_64"]
    ladder = level_names("x86_64")
    level = str(cpu.get("isa_level", ""))
    if level not in ladder:
        return {}
    # The provider spells the psABI levels without their prefix, highest first.
    reached = ladder[: ladder.index(level) + 1]
    features = {"level": [name.removeprefix("x86-64-") for name in reversed(reached)]}
    features.update((feature, ["on"]) for feature in _present(cpu.get("features", []), table))
    return features


def _arm_version(text: str) -> tuple[int, int] | None:
    """``armv8.2-a`` (report) or ``8.2a`` (provider) -> (8, 2); ``8a`` -> (8, 0)."""
    match = re.fullmatch(r"(?:armv)?(\d+)(?:\.(\d+))?-?a", text)
    return (int(match[1]), int(match[2] or 0)) if match else None


def _aarch64(cpu: Mapping[str, Any]) -> dict[str, list[str]]:
    table = _table()["aarch64"]
    host = _arm_version(str(cpu.get("isa_level", "")))
    if host is None:
        return {}
    # The provider caps at the newest version it knows: an armv9.2-a host supports "9.0a" and older.
    versions: list[str] = table["versions"]
    index = next((i for i, v in enumerate(versions) if (_arm_version(v) or (0, 0)) <= host), None)
    if index is None:
        return {}
    features = {"version": versions[index:]}
    features.update((feature, ["on"]) for feature in _present(cpu.get("features", []), table))
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


def _nvidia(accelerator: Mapping[str, Any]) -> dict[str, list[str]]:
    if accelerator.get("status") != "ok":
        return {}
    match = re.fullmatch(r"(\d+)\.(\d+)", str(accelerator.get("cuda_driver_version") or ""))
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
        for device in accelerator.get("devices", [])
        if device.get("visible", True)
        and (m := re.fullmatch(r"(\d+)\.(\d+)", str(device.get("compute_capability") or "")))
    ]
    if capabilities and max(capabilities) >= tuple(table["minimum_sm"]):
        major, minor = max(capabilities)
        features["sm_arch"] = [*(f"{major}{m}_real" for m in range(minor, -1, -1)), f"{major}0_virtual"]
    return features


def _amd(accelerator: Mapping[str, Any]) -> dict[str, list[str]]:
    if accelerator.get("status") != "ok":
        return {}
    features: dict[str, list[str]] = {}
    gfx = [str(d["gfx_target"]) for d in accelerator.get("devices", []) if d.get("gfx_target")]
    if gfx:
        features["gfx_arch"] = list(dict.fromkeys(gfx))
    if match := re.match(r"(\d+)\.(\d+)", str(accelerator.get("rocm_version") or "")):
        features["rocm_version"] = [f"{match[1]}.{match[2]}"]
    return features


def supported_properties(report: Mapping[str, Any]) -> Supported:
    """Namespaces, features and values this host supports, derived from a host report dict."""
    cpu = report.get("cpu", {})
    supported: Supported = {}
    arch = str(cpu.get("arch", ""))
    if arch in ("x86_64", "AMD64", "amd64"):
        supported["x86_64"] = _x86_64(cpu)
    elif arch in ("aarch64", "arm64"):
        supported["aarch64"] = _aarch64(cpu)
    for accelerator in report.get("accelerators", []):
        vendor = accelerator.get("vendor")
        if vendor == "nvidia":
            supported["nvidia"] = _nvidia(accelerator)
        elif vendor == "amd":
            supported["amd"] = _amd(accelerator)
    return {ns: feats for ns, feats in supported.items() if feats}


def property_lines(supported: Supported, features_per_namespace: int | None = None) -> list[str]:
    """``namespace :: feature :: value`` lines for the best value of each feature."""
    lines: list[str] = []
    for namespace, features in supported.items():
        items = list(features.items())[:features_per_namespace]
        lines += [f"{namespace} :: {feature} :: {values[0]}" for feature, values in items if values]
    return lines
