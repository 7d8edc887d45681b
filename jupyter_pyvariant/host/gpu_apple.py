"""Apple silicon GPUs: whether PyTorch's MPS backend can work, and whether Python runs under Rosetta.

An x86_64 Python translated by Rosetta 2 runs on Apple silicon but cannot use MPS and gets x86_64
wheels: the fix is a native arm64 interpreter, which is why Rosetta is reported beside MPS.
"""

from __future__ import annotations

from ._probe import Recorder
from .gpu_common import AppleAccelerator, attempt, knowledge

PROBE = "gpu.apple"


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def apple_entry(machine: str, macos_version: str, translated: bool | None) -> AppleAccelerator:
    """Decide the entry from the interpreter's machine, the macOS version and Rosetta translation."""
    if translated:
        reason = "x86_64 Python under Rosetta 2 cannot use MPS: use a native arm64 Python"
        return AppleAccelerator("ok", reason=reason, mps_available=False, rosetta=True)
    if machine != "arm64":
        return AppleAccelerator("absent", reason=f"{machine} Mac: no Apple GPU", rosetta=translated)
    minimum: str = knowledge()["mps_minimum_macos"]
    if _version_tuple(macos_version) < _version_tuple(minimum):
        reason = f"MPS needs macOS {minimum} or later, this is {macos_version or 'unknown'}"
        return AppleAccelerator("ok", reason=reason, mps_available=False, rosetta=translated)
    return AppleAccelerator("ok", mps_available=True, rosetta=translated)


def _rosetta_translated() -> bool | None:
    """``sysctl.proc_translated``: 1 under Rosetta, 0 native; absent (None) on Intel Macs before 11."""
    import ctypes

    libc = ctypes.CDLL(None)
    value = ctypes.c_int(0)
    size = ctypes.c_size_t(ctypes.sizeof(value))
    if libc.sysctlbyname(b"sysctl.proc_translated", ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
        return None
    return value.value == 1


def probe_apple(rec: Recorder) -> AppleAccelerator:
    import platform

    translated = attempt(rec, PROBE, "sysctlbyname(sysctl.proc_translated)", _rosetta_translated, None)
    return apple_entry(platform.machine(), platform.mac_ver()[0], translated)
