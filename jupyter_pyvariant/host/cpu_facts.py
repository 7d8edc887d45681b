"""What the operating system says about the CPU, before any judgement.

Each source (Linux ``/proc/cpuinfo``, macOS ``sysctl``, Windows' processor-feature API) becomes the
same ``CpuFacts``, so levels, glibc's cross-check and archspec matching never care where facts came
from. The parsers are pure functions of text or key/value pairs, so recorded machines replay exactly.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence

from ._probe import UNKNOWN
from ._runtime import uname
from ._values import Record, data_table
from .cpu_levels import generation_ladder_names, normalize_arch

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CPUINFO_FEATURE_KEYS = {"x86_64": "flags", "aarch64": "Features", "s390x": "features"}
# Patterns compile on first use (re caches them): on a given machine most never run.
_POWER_GENERATION = r"(?i)POWER(\d+)"
_S390_MACHINE = r"\bmachine\s*[=:]\s*([0-9A-Fa-f]{4})\b"
_APPLE_MODEL = r"(?i)Apple\s+(M\d+)"


class CpuFacts(Record):
    """The CPU as one source describes it.

    ``generation`` is the rung of a generation ladder ("power9", "z15") where no feature flag tells
    generations apart; ``archspec_hint`` names an archspec target the source identifies exactly
    (Apple M-series, RISC-V cores); ``level_blocker`` says why the features cannot decide a level.
    """

    arch: str
    family: str
    vendor: str = UNKNOWN
    model: str = UNKNOWN
    features: frozenset[str] = frozenset()
    generation: str | None = None
    cpu_part: str = ""
    archspec_hint: str = ""
    level_blocker: str | None = None


def _features_table() -> Mapping[str, Any]:
    table: Mapping[str, Any] = data_table("cpu_features.json")
    return table


def cpuinfo_blocks(text: str) -> tuple[dict[str, str], ...]:
    """``key : value`` blocks separated by blank lines, first occurrence of a key winning."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        key, separator, value = line.partition(":")
        if separator and key.strip():
            current.setdefault(key.strip(), value.strip())
        elif not line.strip() and current:
            blocks.append(current)
            current = {}
    if current:
        blocks.append(current)
    return tuple(blocks)


def common_features(blocks: Sequence[Mapping[str, str]], key: str) -> frozenset[str]:
    """Features every listed processor has: a flag missing on one CPU is unusable for the process."""
    per_cpu = [frozenset(block[key].split()) for block in blocks if key in block]
    return frozenset.intersection(*per_cpu) if per_cpu else frozenset()


def _first(blocks: Sequence[Mapping[str, str]], *keys: str) -> str:
    for block in blocks:
        for key in keys:
            if block.get(key):
                return block[key]
    return ""


def machine_from_cpuinfo(blocks: Sequence[Mapping[str, str]]) -> str | None:
    """The architecture a recorded ``/proc/cpuinfo`` shows: each kernel port writes its own keys."""
    for key, prefix, machine in _features_table()["cpuinfo_machines"]:
        value = _first(blocks, key)
        if value and value.startswith(prefix):
            return str(machine)
    return None


def facts_from_cpuinfo(text: str, machine: str | None) -> CpuFacts:
    """Parse ``/proc/cpuinfo`` text of a ``machine`` (``uname -m``) host.

    ``machine=None`` means a recorded file of any machine: its architecture is read from the text
    (this machine's when the text shows none).
    """
    blocks = cpuinfo_blocks(text)
    shown = None if machine else machine_from_cpuinfo(blocks)
    family = normalize_arch(machine or shown or uname().machine)
    feature_key = _CPUINFO_FEATURE_KEYS.get(family)
    features = common_features(blocks, feature_key) if feature_key else frozenset()
    vendor = _first(blocks, "vendor_id") or _features_table()["arch_vendors"].get(family, "")
    model = _first(blocks, "model name")
    generation: str | None = None
    cpu_part = ""
    hint = ""
    if family == "aarch64":
        implementer = _first(blocks, "CPU implementer")
        vendor = _features_table()["aarch64_implementers"].get(implementer, implementer)
        cpu_part = _first(blocks, "CPU part")
        model = model or (f"{vendor} part {cpu_part}" if cpu_part else "")
    elif family in ("ppc64le", "ppc64"):
        cpu_line = _first(blocks, "cpu")
        model = cpu_line.split(",")[0].strip()
        found = re.search(_POWER_GENERATION, cpu_line)
        generation = f"power{int(found.group(1))}" if found else None
        if shown and found and int(found.group(1)) < 8:
            family = "ppc64"  # little-endian Linux needs POWER8: older POWER runs big-endian
    elif family == "s390x":
        vendor = _features_table()["arch_vendors"]["s390x"]
        found = re.search(_S390_MACHINE, text)
        machine_type = found.group(1) if found else ""
        generation = data_table("cpu_levels.json")["s390x_machine_types"].get(machine_type)
        model = f"IBM {generation or 'machine'} (type {machine_type})" if machine_type else ""
    elif family == "riscv64":
        hint = _riscv_core(blocks)
        model = model or _first(blocks, "uarch")
    if generation is not None and generation not in generation_ladder_names(family):
        generation = None
    return CpuFacts(
        arch=family,
        family=family,
        vendor=vendor or UNKNOWN,
        model=model or UNKNOWN,
        features=features,
        generation=generation,
        cpu_part=cpu_part,
        archspec_hint=hint,
    )


def _riscv_core(blocks: Sequence[Mapping[str, str]]) -> str:
    """archspec names RISC-V cores after the kernel's ``uarch`` ("sifive,u74-mc" is u74mc)."""
    uarch = _first(blocks, "uarch")
    if not uarch and "X60" in _first(blocks, "model name"):
        return "x60"
    return uarch.split(",")[-1].replace("-", "") if uarch else ""


def facts_from_sysctl(values: Mapping[str, str], machine: str) -> CpuFacts:
    """macOS: ``sysctl`` keys (``machdep.cpu.*``, ``hw.optional.*``) as name -> text value."""
    family = normalize_arch(machine)
    brand = values.get("machdep.cpu.brand_string", "")
    table = _features_table()
    if family == "aarch64":
        features = {
            name
            for key, names in table["darwin_arm64_sysctl"].items()
            if values.get(key, "0").strip() not in ("", "0")
            for name in names
        }
        found = re.search(_APPLE_MODEL, brand)
        # Very old macOS says only "Apple processor": that was the M1.
        hint = found.group(1).lower() if found else ("m1" if brand.strip() == "Apple processor" else "")
        return CpuFacts(
            arch="arm64",
            family=family,
            vendor="Apple",
            model=brand or UNKNOWN,
            features=frozenset(features),
            archspec_hint=hint,
        )
    spec = table["darwin_x86_sysctl"]
    tokens = {token.lower() for key in spec["keys"] for token in values.get(key, "").split()}
    renamed = {name for token in tokens for name in spec["names"].get(token, [token])}
    if "popcnt" not in renamed:
        renamed.discard("abm")  # Linux's "abm" is LZCNT and POPCNT together
    return CpuFacts(
        arch=family,
        family=family,
        vendor=values.get("machdep.cpu.vendor") or UNKNOWN,
        model=brand or UNKNOWN,
        features=frozenset(renamed),
    )


def darwin_sysctl_keys() -> tuple[str, ...]:
    """Every sysctl key ``facts_from_sysctl`` reads."""
    table = _features_table()
    scalar = ("machdep.cpu.brand_string", "machdep.cpu.vendor", *table["darwin_x86_sysctl"]["keys"])
    return (*scalar, *table["darwin_arm64_sysctl"])


def read_darwin_sysctl() -> dict[str, str]:
    """The live values of ``darwin_sysctl_keys()`` through ``sysctlbyname`` (no subprocess)."""
    if sys.platform != "darwin":
        raise OSError("sysctlbyname exists only on macOS")
    import ctypes

    libc = ctypes.CDLL("/usr/lib/libSystem.B.dylib", use_errno=True)
    values: dict[str, str] = {}
    for key in darwin_sysctl_keys():
        size = ctypes.c_size_t(0)
        if libc.sysctlbyname(key.encode(), None, ctypes.byref(size), None, ctypes.c_size_t(0)) != 0:
            continue  # the key does not exist on this machine (Intel keys on Apple silicon)
        buffer = ctypes.create_string_buffer(size.value)
        if libc.sysctlbyname(key.encode(), buffer, ctypes.byref(size), None, ctypes.c_size_t(0)) != 0:
            continue
        raw = buffer.raw[: size.value]
        if key.startswith("hw.optional."):
            values[key] = str(int.from_bytes(raw, sys.byteorder))
        else:
            values[key] = raw.rstrip(b"\0").decode("utf-8", errors="replace")
    return values


def facts_from_windows(present: Mapping[int, bool], machine: str, vendor: str, model: str) -> CpuFacts:
    """Windows: ``IsProcessorFeaturePresent`` answers, keyed by PF_* number."""
    family = normalize_arch(machine)
    names = _features_table()["windows_processor_features"]
    features = {name for number, flags in names.items() if present.get(int(number)) for name in flags}
    return CpuFacts(
        arch=family,
        family=family,
        vendor=vendor or UNKNOWN,
        model=model or UNKNOWN,
        features=frozenset(features),
        level_blocker="Windows reports only part of the CPU's features (IsProcessorFeaturePresent)",
    )


def read_windows(machine: str) -> CpuFacts:
    """The live Windows answers: processor features, and vendor and name from the registry."""
    if sys.platform != "win32":
        raise OSError("IsProcessorFeaturePresent exists only on Windows")
    import ctypes
    import winreg

    is_present = ctypes.windll.kernel32.IsProcessorFeaturePresent
    numbers = [int(number) for number in _features_table()["windows_processor_features"]]
    present = {number: bool(is_present(number)) for number in numbers}
    key_path = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key_path) as key:
        vendor = str(winreg.QueryValueEx(key, "VendorIdentifier")[0])
        model = str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()
    return facts_from_windows(present, machine, vendor, model)
