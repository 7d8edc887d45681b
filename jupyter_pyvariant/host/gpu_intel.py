"""Intel GPUs from the display-class PCI devices and the DRM driver bound to them.

The compute stacks (Level Zero, oneAPI, the XPU builds of PyTorch) need the i915 or xe kernel
driver; a device bound to anything else is hardware the stacks cannot use.
"""

from __future__ import annotations

from collections.abc import Sequence

from .gpu_common import IntelAccelerator, IntelDevice, knowledge
from .gpu_pci import PciDisplayDevice


def intel_family_name(device_id: str) -> str:
    """A product family for a PCI device id (longest known prefix wins), else a generic name."""
    families: dict[str, str] = knowledge()["intel_device_families"]
    matches = [prefix for prefix in families if device_id.startswith(prefix)]
    default: str = knowledge()["intel_default_name"]
    return families[max(matches, key=len)] if matches else default


def probe_intel(pci: Sequence[PciDisplayDevice]) -> IntelAccelerator | None:
    """An entry only when an Intel display device exists."""
    intel = [device for device in pci if device.vendor == "intel"]
    if not intel:
        return None
    devices = tuple(
        IntelDevice(
            card=device.card,
            pci_id=device.pci_id,
            driver=device.driver,
            name=intel_family_name(device.device_id),
        )
        for device in intel
    )
    if any(device.has_compute_driver for device in intel):
        return IntelAccelerator("ok", devices=devices)
    unusable = "; ".join(device.describe() for device in intel)
    return IntelAccelerator(
        "hardware-no-driver", reason=f"neither i915 nor xe is bound: {unusable}", devices=devices
    )
