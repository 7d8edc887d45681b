"""Value objects of the accelerator report and the helpers every vendor probe shares.

Each vendor entry is a named tuple whose ``to_dict()`` is one item of the host report's
``accelerators`` list; the dict shape is the contract, so it is built from the fields in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ._probe import Recorder
from ._values import Record, data_table, shaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal, TypeVar

    T = TypeVar("T")
    Status = Literal["ok", "absent", "hardware-no-driver", "driver-no-devices", "error", "unknown"]


def knowledge() -> dict[str, Any]:
    """PCI ids, driver names and product families, kept as data so that new hardware is a data change."""
    table: dict[str, Any] = data_table("gpu.json")
    return table


def attempt(rec: Recorder, probe: str, source: str, fn: Callable[[], T], fallback: T) -> T:
    """Call one small query; on failure note why and return ``fallback``.

    Unlike ``Recorder.run`` it records nothing on success, so a probe that asks many small questions
    (one per device and field) leaves diagnostics only where something went wrong.
    """
    try:
        return fn()
    except Exception as exc:  # one field failing must not lose the rest of the entry
        rec.note(probe, source, f"{type(exc).__name__}: {exc}")
        return fallback


def list_dir(rec: Recorder, probe: str, path: str) -> list[str]:
    """Sorted entry names of a sysfs directory; [] with a note when it cannot be listed."""
    names: list[str] = attempt(rec, probe, str(path), lambda: sorted(os.listdir(path)), [])
    return names


def _entry_dict(entry: Accelerator) -> dict[str, Any]:
    """One vendor's item in ``accelerators``: ``vendor`` first, then the entry's fields in order."""
    return {"vendor": entry.vendor, **shaped(entry)}


class NvidiaDevice(Record):
    """One GPU as NVML sees it; ``visible`` says whether CUDA would see it under CUDA_VISIBLE_DEVICES."""

    index: int
    name: str
    uuid: str
    compute_capability: str
    sm: str
    memory_total_bytes: int | None
    mig_enabled: bool | None
    visible: bool


class NvidiaAccelerator(Record):
    status: Status
    reason: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    cuda_visible_devices: str | None = None
    devices: tuple[NvidiaDevice, ...] = ()

    @property
    def vendor(self) -> str:
        return "nvidia"

    def to_dict(self) -> dict[str, Any]:
        return _entry_dict(self)


class AmdDevice(Record):
    """One GPU node of the KFD topology (what ROCm enumerates)."""

    node: int
    name: str
    gfx_target: str
    memory_total_bytes: int | None


class AmdAccelerator(Record):
    status: Status
    reason: str | None = None
    rocm_version: str | None = None
    devices: tuple[AmdDevice, ...] = ()

    @property
    def vendor(self) -> str:
        return "amd"

    def to_dict(self) -> dict[str, Any]:
        return _entry_dict(self)


class IntelDevice(Record):
    """One Intel display-class PCI device; ``card`` is its DRM card when a driver created one."""

    card: str | None
    pci_id: str
    driver: str | None
    name: str


class IntelAccelerator(Record):
    status: Status
    reason: str | None = None
    devices: tuple[IntelDevice, ...] = ()

    @property
    def vendor(self) -> str:
        return "intel"

    def to_dict(self) -> dict[str, Any]:
        return _entry_dict(self)


class AppleAccelerator(Record):
    status: Status
    reason: str | None = None
    mps_available: bool | None = None
    rosetta: bool | None = None

    @property
    def vendor(self) -> str:
        return "apple"

    def to_dict(self) -> dict[str, Any]:
        return _entry_dict(self)


Accelerator = NvidiaAccelerator | AmdAccelerator | IntelAccelerator | AppleAccelerator
