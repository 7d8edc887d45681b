"""AMD GPUs through the KFD topology in sysfs, which is exactly what ROCm enumerates.

Reading sysfs needs no ROCm user space and loads nothing into the process. ``gfx_target_version``
names the instruction set that ROCm wheels are built for (gfx90a, gfx942, gfx1100), which is what
choosing a ROCm build of a package needs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence

from ._fs import Roots, read_first_line, read_text
from ._probe import UNKNOWN, Recorder
from .gpu_common import AmdAccelerator, AmdDevice, attempt, list_dir
from .gpu_pci import PciDisplayDevice

PROBE = "gpu.amd"
_FRAME_BUFFER_HEAPS = (1, 2)  # HSA_HEAPTYPE_FRAME_BUFFER_PUBLIC / _PRIVATE: the GPU's own memory


def gfx_target(version: int) -> str:
    """KFD's ``gfx_target_version`` 90010 → ``gfx90a``: major, minor and stepping, the last two in hex."""
    major, minor, stepping = version // 10000, version // 100 % 100, version % 100
    return f"gfx{major}{minor:x}{stepping:x}"


def _properties(path: str) -> dict[str, int]:
    """``key value`` lines of a KFD properties file; lines that are not ``name integer`` are skipped."""
    properties: dict[str, int] = {}
    for line in read_text(path).splitlines():
        key, _, value = line.strip().partition(" ")
        if value.strip().lstrip("-").isdigit():
            properties[key] = int(value)
    return properties


def _frame_buffer_bytes(rec: Recorder, node_dir: str) -> int | None:
    banks = os.path.join(node_dir, "mem_banks")
    sizes: list[int] = []
    for name in list_dir(rec, PROBE, banks):
        path = os.path.join(banks, name, "properties")
        unreadable: dict[str, int] = {}
        bank = attempt(rec, PROBE, str(path), functools.partial(_properties, path), unreadable)
        if bank.get("heap_type") in _FRAME_BUFFER_HEAPS:
            sizes.append(bank.get("size_in_bytes", 0))
    return sum(sizes) if sizes else None


def _device_name(roots: Roots, node_dir: str, properties: Mapping[str, int], target: str) -> str:
    """The board's product name where the driver exposes one, else KFD's node name, else the gfx id."""
    candidates = [os.path.join(node_dir, "name")]
    if "drm_render_minor" in properties:
        render = f"renderD{properties['drm_render_minor']}"
        candidates.insert(0, roots.sys("class", "drm", render, "device", "product_name"))
    for path in candidates:
        try:
            name = read_first_line(path)
        except (OSError, IndexError):
            continue
        if name:
            return name
    return target


def _gpu_node(roots: Roots, rec: Recorder, node_dir: str) -> AmdDevice | str | None:
    """The node as a device, None for a CPU node (no SIMDs), or why its properties are unusable."""
    path = os.path.join(node_dir, "properties")
    try:
        properties = _properties(path)
    except (OSError, ValueError) as exc:
        problem = f"node {os.path.basename(node_dir)}: {type(exc).__name__}: {exc}"
        rec.note(PROBE, str(path), problem)
        return problem
    if "simd_count" not in properties:
        problem = f"node {os.path.basename(node_dir)}: no simd_count in {os.path.basename(path)}"
        rec.note(PROBE, str(path), problem)
        return problem
    if properties["simd_count"] == 0:
        return None
    version = properties.get("gfx_target_version", 0)
    if version <= 0:
        rec.note(PROBE, str(path), "no usable gfx_target_version")
    target = gfx_target(version) if version > 0 else UNKNOWN
    return AmdDevice(
        node=int(os.path.basename(node_dir)),
        name=_device_name(roots, node_dir, properties, target),
        gfx_target=target,
        memory_total_bytes=_frame_buffer_bytes(rec, node_dir),
    )


def _rocm_version(environ: Mapping[str, str]) -> str | None:
    """``6.2.4`` from the install's ``.info/version`` (``6.2.4-120``); None when ROCm is not installed."""
    for root in (environ.get("ROCM_PATH"), "/opt/rocm"):
        if not root:
            continue
        try:
            return read_first_line(os.path.join(root, ".info", "version")).split("-")[0] or None
        except (OSError, IndexError):
            continue
    return None


def _without_kfd_reason(amd_pci: Sequence[PciDisplayDevice], kfd_present: bool) -> str:
    devices = "; ".join(device.describe() for device in amd_pci)
    if not any(device.has_compute_driver for device in amd_pci):
        return f"AMD display device without the amdgpu driver: {devices}"
    if kfd_present:
        return f"KFD lists no GPU node for {devices}"
    return f"amdgpu is bound but /sys/class/kfd is missing (kernel without HSA/KFD support): {devices}"


def probe_amd(
    roots: Roots, rec: Recorder, environ: Mapping[str, str], pci: Sequence[PciDisplayDevice]
) -> AmdAccelerator | None:
    """An entry when KFD shows a GPU or an AMD display device exists; None on hosts with neither."""
    nodes = roots.sys("class", "kfd", "kfd", "topology", "nodes")
    kfd_present = os.path.isdir(nodes)
    names = list_dir(rec, PROBE, nodes) if kfd_present else []
    node_names = sorted(filter(str.isdigit, names), key=int)
    found = [_gpu_node(roots, rec, os.path.join(nodes, name)) for name in node_names]
    devices = tuple(item for item in found if isinstance(item, AmdDevice))
    problems = "; ".join(item for item in found if isinstance(item, str)) or None
    if devices:
        return AmdAccelerator("ok", reason=problems, rocm_version=_rocm_version(environ), devices=devices)
    if problems:
        return AmdAccelerator("unknown", reason=f"KFD topology unreadable: {problems}")
    amd_pci = [device for device in pci if device.vendor == "amd"]
    if not amd_pci:
        return None
    reason = _without_kfd_reason(amd_pci, kfd_present)
    return AmdAccelerator("hardware-no-driver", reason=reason, rocm_version=_rocm_version(environ))
