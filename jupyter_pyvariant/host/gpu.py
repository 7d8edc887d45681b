"""Accelerators of this host: NVIDIA, AMD, Intel and Apple GPUs, each as one report entry.

Every vendor probe starts from one sysfs inventory of display-class PCI devices, so "no hardware",
"hardware without a driver" and "driver without devices" can be told apart. Probes never raise
and never print; a vendor probe that fails unexpectedly yields an ``unknown`` entry and a diagnostic.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from ._fs import Roots
from ._probe import Recorder
from .gpu_amd import probe_amd
from .gpu_common import (
    Accelerator,
    AmdAccelerator,
    AmdDevice,
    AppleAccelerator,
    IntelAccelerator,
    IntelDevice,
    NvidiaAccelerator,
    NvidiaDevice,
)
from .gpu_intel import probe_intel
from .gpu_nvidia import NVML_SOURCE, probe_nvidia
from .gpu_pci import PciDisplayDevice, scan_display_devices

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    E = TypeVar("E", NvidiaAccelerator, AmdAccelerator, IntelAccelerator, AppleAccelerator)

__all__ = [
    "Accelerator",
    "AmdAccelerator",
    "AmdDevice",
    "AppleAccelerator",
    "IntelAccelerator",
    "IntelDevice",
    "NvidiaAccelerator",
    "NvidiaDevice",
    "probe_accelerators",
]

_PROBE_FAILED = "the probe failed unexpectedly; see diagnostics"


def _guarded(rec: Recorder, source: str, fn: Callable[[], E | None], fallback: E) -> E | None:
    """Run one vendor probe; a bug in it costs that vendor's entry (``unknown``), never the report."""
    failed: E | None = fallback
    return rec.run(f"gpu.{fallback.vendor}", source, fn, failed)


def _probe_apple(rec: Recorder) -> AppleAccelerator:
    """Imported here: only Darwin has an Apple GPU, and ``platform``/``ctypes`` are not free."""
    from .gpu_apple import probe_apple

    return probe_apple(rec)


def probe_accelerators(
    roots: Roots, rec: Recorder, environ: Mapping[str, str] | None = None
) -> tuple[Accelerator, ...]:
    """The ``accelerators`` list: always an NVIDIA entry, the others only where their hardware is."""
    env = os.environ if environ is None else environ
    no_devices: tuple[PciDisplayDevice, ...] = ()
    pci = rec.run("gpu.pci", "sysfs PCI devices", lambda: scan_display_devices(roots, rec), no_devices)
    entries = (
        _guarded(
            rec,
            NVML_SOURCE,
            lambda: probe_nvidia(roots, rec, env, pci),
            NvidiaAccelerator("unknown", _PROBE_FAILED),
        ),
        _guarded(
            rec,
            "sysfs KFD topology",
            lambda: probe_amd(roots, rec, env, pci),
            AmdAccelerator("unknown", _PROBE_FAILED),
        ),
        _guarded(
            rec, "sysfs PCI devices", lambda: probe_intel(pci), IntelAccelerator("unknown", _PROBE_FAILED)
        ),
        _guarded(rec, "sysctl", lambda: _probe_apple(rec), AppleAccelerator("unknown", _PROBE_FAILED))
        if sys.platform == "darwin"
        else None,
    )
    return tuple(entry for entry in entries if entry is not None)
