"""Stand-in GPU machines for tests: a PCI device in a sysfs root, the stand-in NVML library
(``nvml_stub/nvml_stub.c``, compiled with the system C compiler), and ``gpukit``, a real variant
wheel whose CUDA variants need a CUDA runtime package that its null variant does not.

Loaded as a pytest plugin (``tests/conftest.py``), so the ``nvml_stub_dir`` fixture reaches every
test module without being re-bound.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from variant_wheels import variant_metadata, write_wheel

STUB_SOURCE = Path(__file__).parent / "nvml_stub" / "nvml_stub.c"
H100_UUID = "GPU-aaaa1111-2222-3333-4444-555566667777"
CU12 = {"nvidia": {"cuda_version_lower_bound": ["12.0"]}}
CU13 = {"nvidia": {"cuda_version_lower_bound": ["13.0"]}}


def write(where: str | Path, text: str | bytes) -> Path:
    path = Path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def add_pci(
    sysfs: str | Path,
    address: str,
    pci_id: str,
    pci_class: str = "0x030000",
    driver: str | None = None,
    card: str | None = None,
) -> Path:
    """A PCI device as sysfs shows it, with its driver link and DRM card when given."""
    vendor, device = pci_id.split(":")
    device_dir = Path(sysfs, "bus", "pci", "devices", address)
    write(device_dir / "vendor", f"0x{vendor}\n")
    write(device_dir / "device", f"0x{device}\n")
    write(device_dir / "class", f"{pci_class}\n")
    if driver:
        driver_dir = Path(sysfs, "bus", "pci", "drivers", driver)
        driver_dir.mkdir(parents=True, exist_ok=True)
        (device_dir / "driver").symlink_to(driver_dir)
    if card:
        card_dir = Path(sysfs, "class", "drm", card)
        card_dir.mkdir(parents=True, exist_ok=True)
        (card_dir / "device").symlink_to(device_dir)
    return device_dir


@pytest.fixture(scope="session")
def nvml_stub_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the stand-in libnvidia-ml.so.1")
    stub_dir = tmp_path_factory.mktemp("nvml")
    subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-Wall",
            "-Werror",
            "-o",
            str(stub_dir / "libnvidia-ml.so.1"),
            str(STUB_SOURCE),
        ],
        check=True,
    )
    return stub_dir


def with_gpu(replay: dict[str, str], nvml: Path) -> dict[str, str]:
    """``replay`` plus an H100 on the PCI bus, answered by the stand-in NVML (CUDA 12.8 driver)."""
    add_pci(replay["PYVARIANT_SYSFS"], "0000:17:00.0", "10de:2330", pci_class="0x030200", driver="nvidia")
    gpu = {"NVML_STUB_DRIVER": "570.86.15", "NVML_STUB_CUDA": "12080", "NVML_STUB_COUNT": "1"}
    gpu |= {"NVML_STUB_DEV0_NAME": "NVIDIA H100 80GB HBM3", "NVML_STUB_DEV0_UUID": H100_UUID}
    gpu |= {"NVML_STUB_DEV0_CC": "9.0", "NVML_STUB_DEV0_MEM": str(80 * 2**30)}
    return {**replay, **gpu, "LD_LIBRARY_PATH": str(nvml)}


def build_gpukit(root: Path) -> None:
    """gpukit 1.0: CUDA 12 and 13 variants that need their CUDA runtime package, and a null variant
    that needs nothing."""
    labels = {"cu12": CU12, "cu13": CU13, "null": {}}
    for label, requires in (("cu12", ["cudart-cu12>=12"]), ("cu13", ["cudart-cu13>=13"]), ("null", [])):
        body = f'BUILD = "{label}"\n'.encode()
        write_wheel(root, "gpukit", "1.0", "py3-none-any", {"gpukit/__init__.py": body}, label=label,
                    requires=requires, variant_json=variant_metadata({label: labels[label]}))  # fmt: skip
    (root / "gpukit-1.0-variants.json").write_text(json.dumps(variant_metadata(labels)))
