"""The accelerator probe against fake sysfs trees and a stand-in NVML library built by the test.

NVIDIA cases run the real code path in a fresh interpreter: pynvml loads ``libnvidia-ml.so.1`` by
name, so ``LD_LIBRARY_PATH`` points the dynamic loader at the stub compiled from tests/nvml_stub.
"""

from __future__ import annotations

import copy
import ctypes.util
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from gpu_support import H100_UUID, add_pci, write

from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host._probe import Recorder
from jupyter_pyvariant.host.gpu import probe_accelerators
from jupyter_pyvariant.host.gpu_amd import gfx_target
from jupyter_pyvariant.host.gpu_apple import apple_entry
from jupyter_pyvariant.host.gpu_intel import intel_family_name
from jupyter_pyvariant.host.gpu_nvidia import _kernel_driver_version, cuda_driver_version_text

L4_UUID = "GPU-bbbb1111-2222-3333-4444-555566667777"
MIG_UUIDS = "MIG-cccc1111-2222-3333-4444-555566667777,MIG-dddd1111-2222-3333-4444-555566667777"
TWO_GPUS = {
    "NVML_STUB_DRIVER": "570.86.15",
    "NVML_STUB_CUDA": "12080",
    "NVML_STUB_COUNT": "2",
    "NVML_STUB_DEV0_NAME": "NVIDIA H100 80GB HBM3",
    "NVML_STUB_DEV0_UUID": H100_UUID,
    "NVML_STUB_DEV0_CC": "9.0",
    "NVML_STUB_DEV0_MEM": str(80 * 2**30),
    "NVML_STUB_DEV0_MIG": "1",
    "NVML_STUB_DEV0_MIG_UUIDS": MIG_UUIDS,
    "NVML_STUB_DEV1_NAME": "NVIDIA L4",
    "NVML_STUB_DEV1_UUID": L4_UUID,
    "NVML_STUB_DEV1_CC": "8.9",
    "NVML_STUB_DEV1_MEM": str(24 * 2**30),
}
PROBE_SCRIPT = """
import json, sys
from jupyter_pyvariant.host._fs import Roots
from jupyter_pyvariant.host._probe import Recorder
from jupyter_pyvariant.host.gpu import probe_accelerators
rec = Recorder()
entries = probe_accelerators(Roots.from_env(), rec)
with open("/proc/self/maps") as maps:
    loaded = maps.read()
print(json.dumps({
    "accelerators": [entry.to_dict() for entry in entries],
    "diagnostics": [diagnostic.to_dict() for diagnostic in rec.diagnostics],
    "pynvml_imported": "pynvml" in sys.modules,
    "nvml_loaded": "libnvidia-ml.so" in loaded,
    "libcuda_loaded": "libcuda.so" in loaded,
}))
"""


# --- fake machines -----------------------------------------------------------------------------


def add_kfd_node(
    sysfs: str | Path, node: int, properties: str | bytes, banks: Mapping[int, int] = {}
) -> Path:
    """A KFD topology node; ``banks`` maps heap_type → size_in_bytes."""
    node_dir = Path(sysfs, "class", "kfd", "kfd", "topology", "nodes", str(node))
    write(node_dir / "properties", properties)
    (node_dir / "mem_banks").mkdir()
    for bank, (heap_type, size) in enumerate(banks.items()):
        write(
            node_dir / "mem_banks" / str(bank) / "properties",
            f"heap_type {heap_type}\nsize_in_bytes {size}\n",
        )
    return node_dir


def kfd_properties(simd_count: int, gfx_target_version: int = 0, **extra: int) -> str:
    values = {"cpu_cores_count": 0 if simd_count else 64, "simd_count": simd_count}
    values |= {"gfx_target_version": gfx_target_version, "vendor_id": 4098, **extra}
    return "".join(f"{key} {value}\n" for key, value in values.items())


@pytest.fixture
def machine(tmp_path: Path) -> Roots:
    roots = Roots(procfs=tmp_path / "proc", sysfs=tmp_path / "sys")
    os.mkdir(roots.procfs)
    os.mkdir(roots.sysfs)
    return roots


def probe(
    roots: Roots, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """All entries by vendor, and the diagnostics."""
    rec = Recorder()
    entries = probe_accelerators(roots, rec, environ or {})
    return {entry.vendor: entry.to_dict() for entry in entries}, [d.to_dict() for d in rec.diagnostics]


# --- NVIDIA through the stand-in NVML, in a fresh interpreter ------------------------------------


def run_probe(roots: Roots, library_dir: Path, log: Path, **stub_env: str) -> dict[str, Any]:
    """The probe's JSON from a fresh interpreter whose loader finds libnvidia-ml.so.1 in ``library_dir``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NVML_STUB_", "CUDA_"))}
    env |= {
        "LD_LIBRARY_PATH": str(library_dir),
        "PYVARIANT_SYSFS": str(roots.sysfs),
        "PYVARIANT_PROCFS": str(roots.procfs),
        "NVML_STUB_LOG": str(log),
        **stub_env,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stderr == ""
    result: dict[str, Any] = json.loads(done.stdout)
    result["nvidia"] = next(entry for entry in result["accelerators"] if entry["vendor"] == "nvidia")
    result["calls"] = log.read_text().split() if log.exists() else []
    return result


@pytest.fixture
def nvidia_machine(machine: Roots) -> Roots:
    add_pci(machine.sysfs, "0000:17:00.0", "10de:2330", pci_class="0x030200", driver="nvidia")
    add_pci(machine.sysfs, "0000:65:00.0", "10de:27b8", pci_class="0x030200", driver="nvidia")
    return machine


def test_two_gpus_one_with_mig(nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path) -> None:
    result = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **TWO_GPUS)
    assert result["nvidia"] == {
        "vendor": "nvidia",
        "status": "ok",
        "reason": None,
        "driver_version": "570.86.15",
        "cuda_driver_version": "12.8",
        "cuda_visible_devices": None,
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA H100 80GB HBM3",
                "uuid": H100_UUID,
                "compute_capability": "9.0",
                "sm": "sm_90",
                "memory_total_bytes": 80 * 2**30,
                "mig_enabled": True,
                "visible": True,
            },
            {
                "index": 1,
                "name": "NVIDIA L4",
                "uuid": L4_UUID,
                "compute_capability": "8.9",
                "sm": "sm_89",
                "memory_total_bytes": 24 * 2**30,
                "mig_enabled": False,
                "visible": True,
            },
        ],
    }
    assert result["nvml_loaded"] and result["pynvml_imported"]
    assert not result["libcuda_loaded"]
    calls = result["calls"]
    assert (
        calls[0] == "nvmlInitWithFlags" and calls[-1] == "nvmlShutdown" and calls.count("nvmlShutdown") == 1
    )
    assert (
        "nvmlDeviceGetMigDeviceHandleByIndex" not in calls
    )  # asked only when CUDA_VISIBLE_DEVICES names a MIG
    assert [d["error"] for d in result["diagnostics"] if d["error"]] == []


def test_one_failing_field_keeps_the_rest(nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path) -> None:
    env = TWO_GPUS | {"NVML_STUB_DEV1_MEM_ERROR": "15"}  # NVML_ERROR_GPU_IS_LOST
    result = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **env)
    devices = result["nvidia"]["devices"]
    assert result["nvidia"]["status"] == "ok"
    assert [d["memory_total_bytes"] for d in devices] == [80 * 2**30, None]
    assert devices[1]["name"] == "NVIDIA L4" and devices[1]["sm"] == "sm_89"
    failures = [(d["source"], d["error"]) for d in result["diagnostics"] if d["error"]]
    assert failures == [("nvmlDeviceGetMemoryInfo(1)", "NVMLError_GpuIsLost: GPU is lost")]


def test_driver_without_devices(nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path) -> None:
    env = {"NVML_STUB_DRIVER": "550.54.15", "NVML_STUB_CUDA": "12040", "NVML_STUB_COUNT": "0"}
    result = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **env)
    nvidia = result["nvidia"]
    assert (nvidia["status"], nvidia["devices"]) == ("driver-no-devices", [])
    assert (nvidia["driver_version"], nvidia["cuda_driver_version"]) == ("550.54.15", "12.4")
    assert result["calls"][-1] == "nvmlShutdown"


@pytest.mark.parametrize(
    ("code", "message"),
    [("18", "RM has detected an NVML/RM version mismatch."), ("42", "stub error 42")],
    ids=["known-code", "code-named-by-the-library"],
)
def test_init_error_reports_nvml_message(
    nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path, code: str, message: str
) -> None:
    result = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", NVML_STUB_INIT_ERROR=code)
    nvidia = result["nvidia"]
    assert nvidia["status"] == "error"
    assert f"nvmlInit: {message} (NVML error {code})" in nvidia["reason"]
    assert "0000:17:00.0 [10de:2330]" in nvidia["reason"]
    assert "nvmlShutdown" not in result["calls"]  # shutting down what never started is an error


def test_kernel_driver_not_loaded_is_hardware_without_driver(
    nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path
) -> None:
    result = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", NVML_STUB_INIT_ERROR="9")
    assert result["nvidia"]["status"] == "hardware-no-driver"
    assert "Driver Not Loaded" in result["nvidia"]["reason"]


def test_library_missing_with_hardware(nvidia_machine: Roots, tmp_path: Path) -> None:
    if ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this host has a real libnvidia-ml, which the loader would find without the stub")
    write(
        nvidia_machine.proc("driver", "nvidia", "version"),
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n"
        "GCC version:  gcc version 12.2.0\n",
    )
    empty = tmp_path / "no-libraries"
    empty.mkdir()
    result = run_probe(nvidia_machine, empty, tmp_path / "calls.log")
    nvidia = result["nvidia"]
    assert nvidia["status"] == "hardware-no-driver"
    assert nvidia["driver_version"] == "550.54.15"  # from the kernel module, NVML being unavailable
    assert "NVML Shared Library Not Found" in nvidia["reason"]
    assert "kernel driver 550.54.15 loaded" in nvidia["reason"]
    assert not result["nvml_loaded"]


@pytest.mark.parametrize(
    ("first_line", "version"),
    [
        (
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024",
            "550.54.15",
        ),
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  570.86.15  Release Build  (builder)",
            "570.86.15",
        ),
        ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  390.87  Tue Aug 21 12:33:05 PDT 2018", "390.87"),
        ("garbage", None),
    ],
)
def test_kernel_module_version(machine: Roots, first_line: str, version: str | None) -> None:
    write(machine.proc("driver", "nvidia", "version"), first_line + "\nGCC version: 12.2.0\n")
    assert _kernel_driver_version(machine, Recorder()) == version


def test_no_hardware_never_imports_pynvml(machine: Roots, nvml_stub_dir: Path, tmp_path: Path) -> None:
    if os.path.exists("/dev/dxg"):
        pytest.skip("/dev/dxg exists (WSL2): the probe rightly looks for NVIDIA GPUs here")
    add_pci(machine.sysfs, "0000:00:02.0", "8086:46a6", driver="i915", card="card0")
    add_pci(machine.sysfs, "0000:00:1f.3", "8086:51c8", pci_class="0x040300")  # audio: not display
    result = run_probe(machine, nvml_stub_dir, tmp_path / "calls.log", **TWO_GPUS)
    assert result["nvidia"]["status"] == "absent"
    assert result["nvidia"]["devices"] == []
    assert not result["pynvml_imported"] and not result["nvml_loaded"]
    assert result["calls"] == []


@pytest.mark.parametrize(
    ("visible_devices", "expected", "hides_all"),
    [
        ("1", [False, True], False),
        ("1,0", [True, True], False),
        ("0,7,1", [True, False], False),  # CUDA stops at the first entry it cannot match
        ("GPU-bbbb", [False, True], False),
        ("GPU-", [False, False], True),  # a prefix of both UUIDs is ambiguous
        ("MIG-dddd", [True, False], False),
        ("", [False, False], True),
        ("-1", [False, False], True),
    ],
)
def test_cuda_visible_devices(
    nvidia_machine: Roots,
    nvml_stub_dir: Path,
    tmp_path: Path,
    visible_devices: str,
    expected: list[bool],
    hides_all: bool,
) -> None:
    env = TWO_GPUS | {"CUDA_VISIBLE_DEVICES": visible_devices, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    nvidia = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **env)["nvidia"]
    assert nvidia["cuda_visible_devices"] == visible_devices
    assert [device["visible"] for device in nvidia["devices"]] == expected
    assert nvidia["status"] == "ok"
    assert nvidia["reason"] == (
        "CUDA_VISIBLE_DEVICES=" + repr(visible_devices) + " hides all 2 GPU(s) from CUDA"
        if hides_all
        else None
    )


def test_cuda_ignores_entries_after_an_unknown_one(
    nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path
) -> None:
    env = TWO_GPUS | {"CUDA_VISIBLE_DEVICES": "0, GPU-ffff, 1"}
    result = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **env)
    assert [device["visible"] for device in result["nvidia"]["devices"]] == [True, False]
    notes = [d["error"] for d in result["diagnostics"] if d["source"] == "CUDA_VISIBLE_DEVICES"]
    assert notes == ["CUDA stops at 'GPU-ffff': ignores 'GPU-ffff,1'"]


@pytest.mark.parametrize(
    ("visible_devices", "order", "caveat"),
    [("1", None, True), ("1", "FASTEST_FIRST", True), ("1", "PCI_BUS_ID", False), ("GPU-bbbb", None, False)],
)
def test_index_order_caveat_for_mixed_models(
    nvidia_machine: Roots,
    nvml_stub_dir: Path,
    tmp_path: Path,
    visible_devices: str,
    order: str | None,
    caveat: bool,
) -> None:
    """CUDA numbers GPUs fastest first by default: with an H100 and an L4, index 1 may not be NVML's 1."""
    env = (
        TWO_GPUS | {"CUDA_VISIBLE_DEVICES": visible_devices} | ({"CUDA_DEVICE_ORDER": order} if order else {})
    )
    nvidia = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **env)["nvidia"]
    assert [device["visible"] for device in nvidia["devices"]] == [False, True]
    assert (nvidia["reason"] is not None and "CUDA_DEVICE_ORDER=PCI_BUS_ID" in nvidia["reason"]) == caveat


@pytest.mark.parametrize(
    ("encoded", "text"), [(12080, "12.8"), (12040, "12.4"), (11020, "11.2"), (13000, "13.0")]
)
def test_cuda_driver_version_text(encoded: int, text: str) -> None:
    assert cuda_driver_version_text(encoded) == text


# --- AMD through KFD sysfs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "target"),
    [(90010, "gfx90a"), (90402, "gfx942"), (110000, "gfx1100"), (100300, "gfx1030"), (120001, "gfx1201")],
)
def test_gfx_target(version: int, target: str) -> None:
    assert gfx_target(version) == target


def test_kfd_gpu_and_cpu_nodes(machine: Roots, tmp_path: Path) -> None:
    add_kfd_node(machine.sysfs, 0, kfd_properties(simd_count=0), banks={0: 512 * 2**30})
    add_kfd_node(
        machine.sysfs,
        1,
        kfd_properties(simd_count=416, gfx_target_version=90010, drm_render_minor=128),
        banks={1: 64 * 2**30},
    )
    write(machine.sys("class", "drm", "renderD128", "device", "product_name"), "AMD Instinct MI210\n")
    node2 = add_kfd_node(machine.sysfs, 2, kfd_properties(simd_count=192, gfx_target_version=110000))
    write(node2 / "name", "gfx1100\n")
    rocm = write(tmp_path / "rocm" / ".info" / "version", "6.2.4-120\n").parent.parent
    entries, diagnostics = probe(machine, {"ROCM_PATH": str(rocm)})
    assert entries["amd"] == {
        "vendor": "amd",
        "status": "ok",
        "reason": None,
        "rocm_version": "6.2.4",
        "devices": [
            {
                "node": 1,
                "name": "AMD Instinct MI210",
                "gfx_target": "gfx90a",
                "memory_total_bytes": 64 * 2**30,
            },
            {"node": 2, "name": "gfx1100", "gfx_target": "gfx1100", "memory_total_bytes": None},
        ],
    }
    assert [d for d in diagnostics if d["error"]] == []


def test_garbage_kfd_properties_come_back_as_reasons(machine: Roots) -> None:
    add_kfd_node(machine.sysfs, 1, b"\x00\xff\xfe garbage \x01\n simd_count many\n")
    entries, diagnostics = probe(machine)
    assert entries["amd"]["status"] == "unknown"
    assert "node 1: no simd_count" in entries["amd"]["reason"]
    assert any(d["error"] and d["source"].endswith("nodes/1/properties") for d in diagnostics)
    assert entries["nvidia"]["status"] == "absent"

    add_kfd_node(machine.sysfs, 2, kfd_properties(simd_count=304, gfx_target_version=90402))
    entries, _ = probe(machine)
    assert entries["amd"]["status"] == "ok"
    assert [device["gfx_target"] for device in entries["amd"]["devices"]] == ["gfx942"]
    assert "node 1" in entries["amd"]["reason"]


def test_amd_card_without_kfd(machine: Roots) -> None:
    add_pci(machine.sysfs, "0000:03:00.0", "1002:73bf", driver="amdgpu", card="card0")
    entries, _ = probe(machine)
    assert entries["amd"]["status"] == "hardware-no-driver"
    assert "/sys/class/kfd is missing" in entries["amd"]["reason"]
    assert "0000:03:00.0 [1002:73bf]" in entries["amd"]["reason"]


def test_amd_card_without_driver(machine: Roots) -> None:
    add_pci(machine.sysfs, "0000:03:00.0", "1002:740f", pci_class="0x038000")
    entries, _ = probe(machine)
    assert entries["amd"]["status"] == "hardware-no-driver"
    assert "without the amdgpu driver" in entries["amd"]["reason"]
    assert "no driver bound" in entries["amd"]["reason"]


def test_no_amd_no_intel_entries(machine: Roots) -> None:
    add_pci(machine.sysfs, "0000:02:00.0", "1a03:2000", driver="ast", card="card0")  # a BMC's VGA
    entries, _ = probe(machine)
    assert sorted(entries) == ["nvidia"]
    assert entries["nvidia"]["status"] == "absent"


# --- Intel through DRM / PCI sysfs --------------------------------------------------------------


def test_intel_i915_and_xe(machine: Roots, tmp_path: Path) -> None:
    add_pci(machine.sysfs, "0000:00:02.0", "8086:a7a0", driver="i915", card="card0")
    add_pci(machine.sysfs, "0000:03:00.0", "8086:e20b", driver="xe", card="card1")
    entries, _ = probe(machine)
    assert entries["intel"] == {
        "vendor": "intel",
        "status": "ok",
        "reason": None,
        "devices": [
            {"card": "card0", "pci_id": "8086:a7a0", "driver": "i915", "name": "Intel Graphics"},
            {
                "card": "card1",
                "pci_id": "8086:e20b",
                "driver": "xe",
                "name": "Intel Arc B-series (Battlemage)",
            },
        ],
    }


def test_intel_device_seen_only_through_drm(machine: Roots, tmp_path: Path) -> None:
    """Some sysfs views have /sys/class/drm but no /sys/bus/pci: the card still leads to the device."""
    device_dir = tmp_path / "sys" / "devices" / "pci0000:00" / "0000:00:02.0"
    for name, value in (("vendor", "0x8086"), ("device", "0x56a0"), ("class", "0x030000")):
        write(device_dir / name, value + "\n")
    write(machine.sys("class", "drm", "card0-DP-1", "status"), "connected\n")  # a connector, not a card
    Path(machine.sys("class", "drm", "card0")).mkdir(parents=True)
    Path(machine.sys("class", "drm", "card0", "device")).symlink_to(device_dir)
    entries, _ = probe(machine)
    assert entries["intel"]["devices"] == [
        {
            "card": "card0",
            "pci_id": "8086:56a0",
            "driver": None,
            "name": "Intel Arc A-series (Alchemist, DG2)",
        }
    ]
    assert entries["intel"]["status"] == "hardware-no-driver"


def test_intel_bound_to_vfio(machine: Roots) -> None:
    add_pci(machine.sysfs, "0000:3a:00.0", "8086:0bd5", pci_class="0x038000", driver="vfio-pci")
    entries, _ = probe(machine)
    intel = entries["intel"]
    assert intel["status"] == "hardware-no-driver"
    assert "driver vfio-pci" in intel["reason"]
    assert intel["devices"][0]["name"] == "Intel Data Center GPU Max (Ponte Vecchio)"


@pytest.mark.parametrize(
    ("device_id", "name"),
    [
        ("56c0", "Intel Data Center GPU Flex (DG2)"),
        ("56a5", "Intel Arc A-series (Alchemist, DG2)"),
        ("9a49", "Intel Graphics"),
    ],
)
def test_intel_family_longest_prefix(device_id: str, name: str) -> None:
    assert intel_family_name(device_id) == name


def test_garbage_pci_files(machine: Roots) -> None:
    add_pci(machine.sysfs, "0000:01:00.0", "10de:2330", driver="nvidia")
    write(machine.sys("bus", "pci", "devices", "0000:01:00.0", "vendor"), "not-hex\n")
    add_pci(machine.sysfs, "0000:02:00.0", "8086:56a0", driver="i915")
    write(machine.sys("bus", "pci", "devices", "0000:02:00.0", "class"), "")
    add_pci(machine.sysfs, "0000:03:00.0", "8086:e20b", driver="xe", card="card1")
    entries, diagnostics = probe(machine)
    assert [device["pci_id"] for device in entries["intel"]["devices"]] == ["8086:e20b"]
    failed = sorted(Path(d["source"]).name for d in diagnostics if d["error"] and d["probe"] == "gpu.pci")
    assert failed == ["0000:01:00.0", "0000:02:00.0"]


# --- Apple, and the probe as a whole ------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine_name", "version", "translated", "expected"),
    [
        ("arm64", "14.5", False, ("ok", True, False)),
        ("arm64", "12.2", False, ("ok", False, False)),
        ("x86_64", "14.5", True, ("ok", False, True)),
        ("x86_64", "13.6", False, ("absent", None, False)),
        ("x86_64", "10.15.7", None, ("absent", None, None)),
    ],
)
def test_apple_entry(
    machine_name: str, version: str, translated: bool | None, expected: tuple[str, bool | None, bool | None]
) -> None:
    entry = apple_entry(machine_name, version, translated).to_dict()
    assert (entry["status"], entry["mps_available"], entry["rosetta"]) == expected
    assert entry["vendor"] == "apple"
    assert (entry["mps_available"] is False) == (entry["reason"] is not None and "MPS" in entry["reason"])


@pytest.mark.skipif(sys.platform == "darwin", reason="checks that non-Darwin hosts get no Apple entry")
def test_apple_only_on_darwin(machine: Roots) -> None:
    entries, _ = probe(machine)
    assert "apple" not in entries


def test_probes_print_nothing_and_always_report(machine: Roots, capsys: pytest.CaptureFixture[str]) -> None:
    add_pci(machine.sysfs, "0000:01:00.0", "10de:2330", driver="nvidia")
    add_pci(machine.sysfs, "0000:02:00.0", "8086:56a0", driver="i915", card="card0")
    add_kfd_node(machine.sysfs, 1, "simd_count zero\n")
    add_kfd_node(machine.sysfs, 2, kfd_properties(simd_count=416, gfx_target_version=90010))
    entries, diagnostics = probe(machine, {"CUDA_VISIBLE_DEVICES": "0"})
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert sorted(entries) == ["amd", "intel", "nvidia"]
    assert entries["nvidia"]["status"] in {"ok", "hardware-no-driver", "driver-no-devices", "error"}
    assert {d["probe"] for d in diagnostics} >= {"gpu.pci", "gpu.nvidia", "gpu.amd", "gpu.intel"}
    json.dumps(entries)  # the contract crosses process boundaries as JSON


CONTRACT_KEYS = {
    "nvidia": {"driver_version", "cuda_driver_version", "cuda_visible_devices", "devices"},
    "amd": {"rocm_version", "devices"},
    "intel": {"devices"},
    "apple": {"mps_available", "rosetta"},
}
DEVICE_KEYS = {
    "amd": {"node", "name", "gfx_target", "memory_total_bytes"},
    "intel": {"card", "pci_id", "driver", "name"},
}


def _accelerator_schema() -> dict[str, Any]:
    """The host report schema's item of ``accelerators``."""
    schema_path = (
        Path(__file__).parents[1] / "jupyter_pyvariant" / "host" / "data" / "host-report.schema.json"
    )
    item: dict[str, Any] = json.loads(schema_path.read_text())["properties"]["accelerators"]["items"]
    return item


def test_nvidia_devices_follow_the_schema(nvidia_machine: Roots, nvml_stub_dir: Path, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test extra")
    nvidia = run_probe(nvidia_machine, nvml_stub_dir, tmp_path / "calls.log", **TWO_GPUS)["nvidia"]
    jsonschema.validate(nvidia, _accelerator_schema())
    for field in ("name", "visible", "memory_total_bytes"):
        broken = copy.deepcopy(nvidia)
        del broken["devices"][1][field]
        with pytest.raises(jsonschema.ValidationError, match=repr(field)):
            jsonschema.validate(broken, _accelerator_schema())


def test_entries_follow_the_contract_and_schema(machine: Roots) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test extra")
    item_schema = _accelerator_schema()
    add_pci(machine.sysfs, "0000:00:02.0", "8086:56a0", driver="i915", card="card0")
    add_kfd_node(machine.sysfs, 1, kfd_properties(simd_count=416, gfx_target_version=90010), banks={1: 2**30})
    entries, _ = probe(machine)
    entries["apple"] = apple_entry("arm64", "15.1", False).to_dict()
    for vendor, entry in entries.items():
        jsonschema.validate(entry, item_schema)
        assert set(entry) == {"vendor", "status", "reason"} | CONTRACT_KEYS[vendor]
        for device in entry.get("devices", []):
            assert set(device) == DEVICE_KEYS[vendor]
    assert sorted(entries) == ["amd", "apple", "intel", "nvidia"]
