"""NVIDIA GPUs through NVML, the driver's management library.

NVML answers without creating a CUDA context (no libcuda, no cuInit), so asking it costs the user's
kernel nothing on the GPU. pynvml is imported only when something suggests NVIDIA hardware: the
import alone costs more than half the report's time budget. NVML ignores ``CUDA_VISIBLE_DEVICES``,
so the report works out which devices CUDA would show and says so per device.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

from ._fs import Roots, read_first_line
from ._probe import UNKNOWN, Recorder
from .gpu_common import NvidiaAccelerator, NvidiaDevice, attempt
from .gpu_pci import PciDisplayDevice

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROBE = "gpu.nvidia"
NVML_SOURCE = "libnvidia-ml (NVML)"
_KERNEL_MODULE_VERSION = r"\s(\d+\.\d+(?:\.\d+)?)\s"
_WSL_GPU_DEVICE = "/dev/dxg"
# Where sysfs/procfs would show NVIDIA hardware, or none can exist, NVML is not worth importing;
# elsewhere (Windows, BSD) only NVML itself can tell.
_NO_EVIDENCE_MEANS_ABSENT = {
    "linux": "no NVIDIA PCI display device, no NVIDIA kernel driver loaded",
    "darwin": "macOS has no NVIDIA driver that supports CUDA",
}
_ORDER_CAVEAT = (
    "CUDA_VISIBLE_DEVICES indices were read in PCI bus order; set CUDA_DEVICE_ORDER=PCI_BUS_ID "
    "so that CUDA numbers these different GPU models the same way"
)


def _kernel_driver_version(roots: Roots, rec: Recorder) -> str | None:
    """The loaded kernel module's version from /proc/driver/nvidia/version, or None when not loaded."""
    path = roots.proc("driver", "nvidia", "version")
    line = attempt(rec, PROBE, str(path), lambda: read_first_line(path), "")
    match = re.search(_KERNEL_MODULE_VERSION, f"{line} ")
    return match.group(1) if match else None


def _hardware_evidence(kernel_driver: str | None, pci: Sequence[PciDisplayDevice]) -> tuple[str, ...]:
    """Why we believe NVIDIA hardware is here, each reason readable on its own."""
    evidence = [f"PCI {device.describe()}" for device in pci if device.vendor == "nvidia"]
    if kernel_driver:
        evidence.append(f"kernel driver {kernel_driver} loaded")
    if os.path.exists(_WSL_GPU_DEVICE):
        evidence.append(f"{_WSL_GPU_DEVICE} (WSL2 GPU paravirtualisation)")
    return tuple(evidence)


def cuda_driver_version_text(encoded: int) -> str:
    """NVML's 12080 → ``"12.8"``: the newest CUDA runtime this driver can run."""
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


def _visible_to_cuda(
    value: str,
    uuids: Sequence[str],
    mig_parents: Mapping[str, int],
) -> tuple[frozenset[int], str | None]:
    """Indices CUDA shows for a CUDA_VISIBLE_DEVICES value, and what it ignored.

    CUDA reads the list left to right and stops at the first entry it cannot match (an index out of
    range, an unknown or ambiguous UUID prefix): "" and "-1" therefore hide every device. Entries are
    indices or UUID prefixes: ``GPU-…`` for a whole GPU, ``MIG-…`` for a MIG instance, which makes
    its parent GPU visible.
    """
    visible: set[int] = set()
    entries = [entry.strip() for entry in value.split(",")]
    for position, entry in enumerate(entries):
        index = _match_entry(entry, uuids, mig_parents)
        if index is None:
            ignored = ",".join(entries[position:])
            return frozenset(visible), f"CUDA stops at {entry!r}: ignores {ignored!r}"
        visible.add(index)
    return frozenset(visible), None


def _match_entry(entry: str, uuids: Sequence[str], mig_parents: Mapping[str, int]) -> int | None:
    if entry.isdigit():
        return int(entry) if int(entry) < len(uuids) else None
    if entry.startswith("GPU-"):
        matches = {index for index, uuid in enumerate(uuids) if uuid.startswith(entry)}
    elif entry.startswith("MIG-"):
        matches = {parent for uuid, parent in mig_parents.items() if uuid.startswith(entry)}
    else:
        return None
    return matches.pop() if len(matches) == 1 else None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _order_may_differ(cuda_visible: str, devices: Sequence[NvidiaDevice], order: str | None) -> bool:
    """Whether CUDA's device indices may not be NVML's (PCI bus order) for this CUDA_VISIBLE_DEVICES.

    CUDA numbers devices fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; on a host with
    different GPU models an index can then name another device than NVML's index does.
    """
    by_index = any(entry.strip().isdigit() for entry in cuda_visible.split(","))
    mixed_models = len({device.name for device in devices}) > 1
    return by_index and mixed_models and order != "PCI_BUS_ID"


class _NvmlSession:
    """The queries of one nvmlInit…nvmlShutdown span; a field that fails becomes unknown, noted."""

    def __init__(self, nvml: ModuleType, rec: Recorder) -> None:
        self.nvml = nvml
        self.rec = rec

    def ask(self, source: str, fn: Callable[..., Any], *args: Any, fallback: Any = None) -> Any:
        return attempt(self.rec, PROBE, source, lambda: fn(*args), fallback)

    def mig_enabled(self, index: int, handle: Any) -> bool | None:
        """MIG mode now in force; False for GPUs that cannot do MIG at all."""
        nvml = self.nvml
        try:
            current, _pending = nvml.nvmlDeviceGetMigMode(handle)
        except nvml.NVMLError_NotSupported:
            return False
        except nvml.NVMLError as exc:
            self.rec.note(PROBE, f"nvmlDeviceGetMigMode({index})", str(exc))
            return None
        return bool(current == nvml.NVML_DEVICE_MIG_ENABLE)

    def device(self, index: int) -> tuple[NvidiaDevice, Any]:
        nvml = self.nvml
        handle = self.ask(f"nvmlDeviceGetHandleByIndex({index})", nvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:
            return NvidiaDevice(index, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, None, None, True), None
        name = self.ask(f"nvmlDeviceGetName({index})", nvml.nvmlDeviceGetName, handle, fallback=UNKNOWN)
        uuid = self.ask(f"nvmlDeviceGetUUID({index})", nvml.nvmlDeviceGetUUID, handle, fallback=UNKNOWN)
        capability = self.ask(
            f"nvmlDeviceGetCudaComputeCapability({index})", nvml.nvmlDeviceGetCudaComputeCapability, handle
        )
        memory = self.ask(f"nvmlDeviceGetMemoryInfo({index})", nvml.nvmlDeviceGetMemoryInfo, handle)
        device = NvidiaDevice(
            index=index,
            name=_text(name),
            uuid=_text(uuid),
            compute_capability=f"{capability[0]}.{capability[1]}" if capability else UNKNOWN,
            sm=f"sm_{capability[0]}{capability[1]}" if capability else UNKNOWN,
            memory_total_bytes=int(memory.total) if memory is not None else None,
            mig_enabled=self.mig_enabled(index, handle),
            visible=True,
        )
        return device, handle

    def mig_instance_parents(self, devices: Sequence[tuple[NvidiaDevice, Any]]) -> dict[str, int]:
        """MIG instance UUID → index of its GPU; asked only when CUDA_VISIBLE_DEVICES names a MIG."""
        nvml = self.nvml
        parents: dict[str, int] = {}
        for device, handle in devices:
            if not device.mig_enabled:
                continue
            slots = self.ask(
                f"nvmlDeviceGetMaxMigDeviceCount({device.index})",
                nvml.nvmlDeviceGetMaxMigDeviceCount,
                handle,
                fallback=0,
            )
            for slot in range(slots):
                try:
                    instance = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
                    parents[_text(nvml.nvmlDeviceGetUUID(instance))] = device.index
                except nvml.NVMLError_NotFound:
                    continue  # an empty slot
                except nvml.NVMLError as exc:
                    self.rec.note(
                        PROBE, f"nvmlDeviceGetMigDeviceHandleByIndex({device.index}, {slot})", str(exc)
                    )
        return parents

    def snapshot(self, environ: Mapping[str, str]) -> NvidiaAccelerator:
        nvml = self.nvml
        cuda_visible = environ.get("CUDA_VISIBLE_DEVICES")
        driver = self.ask("nvmlSystemGetDriverVersion", nvml.nvmlSystemGetDriverVersion)
        cuda = self.ask("nvmlSystemGetCudaDriverVersion_v2", nvml.nvmlSystemGetCudaDriverVersion_v2)
        count = nvml.nvmlDeviceGetCount()
        found = [self.device(index) for index in range(count)]
        devices = tuple(device for device, _handle in found)
        reasons = [] if count else ["NVML works but reports no GPU"]
        if cuda_visible is not None and devices:
            mig_parents = self.mig_instance_parents(found) if "MIG-" in cuda_visible else {}
            visible, ignored = _visible_to_cuda(
                cuda_visible, [device.uuid for device in devices], mig_parents
            )
            if ignored:
                self.rec.note(PROBE, "CUDA_VISIBLE_DEVICES", ignored)
            devices = tuple(device._replace(visible=device.index in visible) for device in devices)
            if not visible:
                reasons.append(f"CUDA_VISIBLE_DEVICES={cuda_visible!r} hides all {count} GPU(s) from CUDA")
            if _order_may_differ(cuda_visible, devices, environ.get("CUDA_DEVICE_ORDER")):
                reasons.append(_ORDER_CAVEAT)
        return NvidiaAccelerator(
            status="ok" if count else "driver-no-devices",
            reason="; ".join(reasons) or None,
            driver_version=_text(driver) if driver is not None else None,
            cuda_driver_version=cuda_driver_version_text(cuda) if cuda is not None else None,
            cuda_visible_devices=cuda_visible,
            devices=devices,
        )


def _init_failed(
    nvml: ModuleType, exc: Any, evidence: Sequence[str], kernel_driver: str | None, cuda_visible: str | None
) -> NvidiaAccelerator:
    """Sort an nvmlInit failure: a missing user-space library or kernel driver is not an NVML error."""
    message = f"nvmlInit: {exc} (NVML error {exc.value})"
    no_driver = exc.value in (nvml.NVML_ERROR_LIBRARY_NOT_FOUND, nvml.NVML_ERROR_DRIVER_NOT_LOADED)
    if no_driver and not evidence:
        return NvidiaAccelerator("absent", reason=f"{message}; no sign of NVIDIA hardware")
    return NvidiaAccelerator(
        "hardware-no-driver" if no_driver else "error",
        reason=f"{message}; found {'; '.join(evidence)}",
        driver_version=kernel_driver,
        cuda_visible_devices=cuda_visible,
    )


def _query_nvml(
    rec: Recorder, evidence: Sequence[str], kernel_driver: str | None, environ: Mapping[str, str]
) -> NvidiaAccelerator:
    import pynvml

    cuda_visible = environ.get("CUDA_VISIBLE_DEVICES")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return _init_failed(pynvml, exc, evidence, kernel_driver, cuda_visible)
    try:
        return _NvmlSession(pynvml, rec).snapshot(environ)
    except pynvml.NVMLError as exc:
        reason = f"NVML query failed: {exc} (NVML error {exc.value})"
        return NvidiaAccelerator("error", reason=reason, cuda_visible_devices=cuda_visible)
    finally:
        attempt(rec, PROBE, "nvmlShutdown", pynvml.nvmlShutdown, None)


def probe_nvidia(
    roots: Roots, rec: Recorder, environ: Mapping[str, str], pci: Sequence[PciDisplayDevice]
) -> NvidiaAccelerator:
    """Always an entry: ``absent`` without importing pynvml when nothing suggests NVIDIA hardware."""
    kernel_driver = _kernel_driver_version(roots, rec)
    evidence = _hardware_evidence(kernel_driver, pci)
    cuda_visible = environ.get("CUDA_VISIBLE_DEVICES")
    if not evidence and sys.platform in _NO_EVIDENCE_MEANS_ABSENT:
        reason = _NO_EVIDENCE_MEANS_ABSENT[sys.platform]
        return NvidiaAccelerator("absent", reason=reason, cuda_visible_devices=cuda_visible)
    return _query_nvml(rec, evidence, kernel_driver, environ)
