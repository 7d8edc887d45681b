"""Display-class PCI devices from sysfs: the one hardware inventory every vendor probe starts from.

It sees a GPU whether or not a driver is bound, which is what tells "no hardware" from "hardware
without a driver". DRM cards are folded in so that a device reached only through /sys/class/drm
(some container sysfs views) is not missed, and so that each device knows its card name.
"""

from __future__ import annotations

import os
import re

from ._fs import Roots, read_first_line
from ._probe import Recorder
from ._values import Record
from .gpu_common import knowledge

_PROBE = "gpu.pci"
_DRM_CARD = r"card\d+"


class PciDisplayDevice(Record):
    address: str
    vendor_id: str
    device_id: str
    pci_class: str
    driver: str | None
    card: str | None

    @property
    def vendor(self) -> str | None:
        vendor: str | None = knowledge()["pci_vendors"].get(self.vendor_id)
        return vendor

    @property
    def pci_id(self) -> str:
        return f"{self.vendor_id}:{self.device_id}"

    @property
    def has_compute_driver(self) -> bool:
        return self.vendor is not None and self.driver in knowledge()["compute_drivers"][self.vendor]

    def describe(self) -> str:
        """``0000:01:00.0 [10de:2330] driver nvidia`` for reasons and evidence."""
        driver = f"driver {self.driver}" if self.driver else "no driver bound"
        return f"{self.address} [{self.pci_id}] {driver}"


def _hex_id(path: str) -> str:
    """``0x10DE`` → ``10de``; raise ValueError for anything that is not a PCI id."""
    text = read_first_line(path).lower().removeprefix("0x")
    int(text, 16)
    return text


def _driver_name(device_dir: str) -> str | None:
    try:
        return os.path.basename(os.readlink(os.path.join(device_dir, "driver")))
    except OSError:
        return None


def _read_device(rec: Recorder, device_dir: str, card: str | None) -> PciDisplayDevice | None:
    """The device when it is display-class; None otherwise, with a note when its files are unreadable."""
    try:
        pci_class = read_first_line(os.path.join(device_dir, "class")).lower()
        if not pci_class.startswith(knowledge()["pci_display_class_prefix"]):
            return None
        return PciDisplayDevice(
            address=os.path.basename(device_dir),
            vendor_id=_hex_id(os.path.join(device_dir, "vendor")),
            device_id=_hex_id(os.path.join(device_dir, "device")),
            pci_class=pci_class,
            driver=_driver_name(device_dir),
            card=card,
        )
    except (OSError, ValueError, IndexError) as exc:
        rec.note(_PROBE, str(device_dir), f"{type(exc).__name__}: {exc}")
        return None


def _drm_cards(roots: Roots) -> dict[str, tuple[str, str]]:
    """PCI address → (its device directory, DRM card name such as ``card0``)."""
    try:
        names = sorted(os.listdir(roots.sys("class", "drm")))
    except OSError:
        return {}
    cards = (
        (os.path.realpath(link), name)
        for name in names
        if re.fullmatch(_DRM_CARD, name) and os.path.exists(link := roots.sys("class", "drm", name, "device"))
    )
    return {os.path.basename(device_dir): (device_dir, card) for device_dir, card in cards}


def scan_display_devices(roots: Roots, rec: Recorder) -> tuple[PciDisplayDevice, ...]:
    """Every display-class PCI device, sorted by address; () where sysfs has no PCI view."""
    cards = _drm_cards(roots)
    bus = roots.sys("bus", "pci", "devices")
    try:
        device_dirs = {address: os.path.join(bus, address) for address in os.listdir(bus)}
    except OSError:
        device_dirs = {}
    for address, (device_dir, _card) in cards.items():
        device_dirs.setdefault(address, device_dir)
    found = (
        _read_device(rec, device_dir, cards[address][1] if address in cards else None)
        for address, device_dir in sorted(device_dirs.items())
    )
    return tuple(device for device in found if device)
