"""What this host supports, spoken in the wheel-variant vocabulary (``namespace :: feature :: value``).

The host wing owns this translation because the report recommends these properties; the variants
wing builds its built-in providers on the same function, so both always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Supported = dict[str, dict[str, list[str]]]
"""namespace -> feature -> supported values, most preferred first."""

_X86_LEVELS = ("v4", "v3", "v2", "v1")


def _x86_64(cpu: Mapping[str, Any]) -> dict[str, list[str]]:
    level = str(cpu.get("isa_level", ""))
    if not level.startswith("x86-64-v"):
        return {}
    top = level.removeprefix("x86-64-")
    features: dict[str, list[str]] = {"level": list(_X86_LEVELS[_X86_LEVELS.index(top) :])}
    for flag in cpu.get("features", []):
        features.setdefault(str(flag), ["on"])
    return features


def _aarch64(cpu: Mapping[str, Any]) -> dict[str, list[str]]:
    level = str(cpu.get("isa_level", ""))
    if not level.startswith("armv"):
        return {}
    features: dict[str, list[str]] = {"version": [level.removesuffix("-a").replace("-", "")]}
    for flag in cpu.get("features", []):
        features.setdefault(str(flag), ["on"])
    return features


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _nvidia(accelerator: Mapping[str, Any]) -> dict[str, list[str]]:
    if accelerator.get("status") != "ok" or not accelerator.get("cuda_driver_version"):
        return {}
    cuda = str(accelerator["cuda_driver_version"])
    major, _, minor = cuda.partition(".")
    # The driver runs every toolkit up to its own version: builds needing at most that are supported.
    lower = [f"{major}.{m}" for m in range(int(minor or 0), -1, -1)]
    lower += [f"{mj}.0" for mj in range(int(major) - 1, 10, -1)]
    sms: list[str] = []
    for device in accelerator.get("devices", []):
        sm = str(device.get("sm") or "").removeprefix("sm_")
        if sm and sm not in sms:
            sms.append(sm)
    features = {"cuda_version_lower_bound": lower, "cuda_version_upper_bound": [f"{int(major) + 1}"]}
    if sms:
        features["sm_arch"] = sorted(sms, key=lambda s: -int("".join(ch for ch in s if ch.isdigit()) or 0))
    return features


def _amd(accelerator: Mapping[str, Any]) -> dict[str, list[str]]:
    if accelerator.get("status") != "ok":
        return {}
    gfx = [str(d["gfx_target"]) for d in accelerator.get("devices", []) if d.get("gfx_target")]
    features: dict[str, list[str]] = {}
    if gfx:
        features["gfx_arch"] = list(dict.fromkeys(gfx))
    if accelerator.get("rocm_version"):
        rocm = str(accelerator["rocm_version"]).split(".")
        features["rocm_version"] = [".".join(rocm[:2])]
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
