"""What the host could run that it does not run now, and what to watch out for.

Pure functions of the report's sections (the JSON contract), so the same advice can be computed for
a report that arrived from another process or machine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .cpu_levels import better_level
from .properties import property_lines, supported_properties
from .triples import platform_targets, runnable_targets, uv_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Set by a provisioned kernel's kernelspec: what the archive's name promised (JSON, shaped like the
# ``python`` section, plus ``archive`` and ``executable``), so the kernel's own report can say where
# the running interpreter breaks that promise.
KERNEL_CLAIM_ENV = "PYVARIANT_KERNEL_CLAIM"


def headroom(cpu: Mapping[str, Any], python: Mapping[str, Any]) -> str:
    """One line: what the interpreter targets against what the CPU runs."""
    cpu_level = cpu.get("isa_level") or "unknown"
    py_level = python.get("isa_level")
    if cpu_level == "unknown":
        return "The CPU's ISA level is unknown (see diagnostics)."
    if not py_level:
        return f"This CPU runs {cpu_level}; the interpreter's target level is unknown."
    if py_level == cpu_level:
        return f"This interpreter targets {py_level}, the best this CPU ({cpu_level}) runs."
    return f"This interpreter targets {py_level}; this CPU runs {cpu_level}."


def better_kernel(cpu: Mapping[str, Any], python: Mapping[str, Any]) -> str | None:
    """The level a kernel could be built for to use this CPU fully, when the running interpreter's
    level is below it on the same ladder (None: it already fits, or either level is unknown)."""
    return better_level(python.get("isa_level"), cpu.get("isa_level"))


def level_flag(level: str) -> str:
    """How ``--level`` spells a published level: ``x86-64-v3`` → ``v3``."""
    return level.removeprefix("x86-64-")


def kernel_levels(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The levels interpreters are published at for this platform, lowest first, each with the
    ``--level`` spelling and whether this CPU runs it: the provisioning dialog's choices."""
    runnable = set(runnable_targets(report))
    return [
        {"level": t.level, "flag": level_flag(t.level), "runs": t in runnable}
        for t in reversed(platform_targets(report))
        if t.level
    ]


def optimization_label(pgo: bool | None, lto: bool | None) -> str:
    """``PGO+LTO``, ``PGO``, ``LTO`` or ``no PGO/LTO``, as python-build-standalone names its flavours."""
    return "+".join(name for name, on in (("PGO", pgo), ("LTO", lto)) if on) or "no PGO/LTO"


def build_disagreements(claimed: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Where an archive's name (``claimed``) and its interpreter's own build (``actual``) differ.

    Both are shaped like the report's ``python`` section (``implementation``, ``isa_level``,
    ``debug``, ``pgo``, ``lto``); ``claimed["archive"]`` names the archive. A fact either side does
    not know (None) never disagrees. One rule for ``kernel install`` and for the kernel's own report.
    """
    archive = claimed.get("archive") or "this kernel's archive"
    found: list[str] = []

    def known(key: str) -> bool:
        return claimed.get(key) is not None and actual.get(key) is not None

    if known("implementation") and claimed["implementation"] != actual["implementation"]:
        found.append(
            f"{archive} is published as {claimed['implementation']}, "
            f"but its interpreter is {actual['implementation']}."
        )
    if known("isa_level") and claimed["isa_level"] != actual["isa_level"]:
        march = f"-march={actual['march']}" if actual.get("march") else "no -march flag"
        found.append(
            f"{archive} is published as {claimed['isa_level']}, "
            f"but its interpreter was compiled for {actual['isa_level']} ({march})."
        )
    if known("debug") and bool(claimed["debug"]) != bool(actual["debug"]):
        found.append(
            f"{archive} is published as a release build, but its interpreter is a debug build "
            "(Py_DEBUG): expect it to be several times slower."
            if actual["debug"]
            else f"{archive} is published as a debug build, but its interpreter is a release build."
        )
    elif not actual.get("debug") and known("pgo") and known("lto"):
        said, built = (optimization_label(f["pgo"], f["lto"]) for f in (claimed, actual))
        if said != built:
            found.append(
                f"{archive} is published as {said}, but its interpreter's build configuration shows {built}."
            )
    return found


def _kernel_claim(python: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The kernelspec's promise against the running interpreter (only the interpreter it was made
    for: a subprocess of the kernel inherits the variable)."""
    try:
        claimed = json.loads(environ.get(KERNEL_CLAIM_ENV) or "null")
    except ValueError:
        return []
    if not isinstance(claimed, dict) or claimed.get("executable") != python.get("real_executable"):
        return []
    return build_disagreements(claimed, python)


def _interpreter(report: Mapping[str, Any]) -> dict[str, Any] | None:
    targets = runnable_targets(report)
    if not targets:
        return None
    best = targets[0]
    python = report.get("python", {})
    version = ".".join(str(python.get("version", "3")).split(".")[:2])
    return {
        "triple": best.triple,
        "flavour": "install_only_stripped (PGO+LTO)",
        "level": best.level,
        "uv_key": uv_key(report, version, best),
        "command": f"%pyvariant kernel install {version}"
        + (f" --level {level_flag(best.level)}" if best.level else ""),
    }


def _conda(report: Mapping[str, Any]) -> dict[str, str]:
    cpu, system = report.get("cpu", {}), report.get("system", {})
    virtual: dict[str, str] = {}
    microarch = (cpu.get("archspec") or {}).get("microarchitecture")
    if microarch:
        virtual["__archspec"] = f"1={microarch}"
    libc = system.get("libc", {})
    if libc.get("family") == "glibc" and libc.get("version"):
        virtual["__glibc"] = str(libc["version"])
    for accelerator in report.get("accelerators", []):
        if accelerator.get("vendor") == "nvidia" and accelerator.get("cuda_driver_version"):
            virtual["__cuda"] = str(accelerator["cuda_driver_version"])
    os_name = str(system.get("os", ""))
    if os_name == "Linux" and system.get("kernel"):
        virtual["__linux"] = str(system["kernel"]).split("-")[0]
    if os_name in ("Linux", "Darwin"):
        virtual["__unix"] = "0"
    return virtual


def _warnings(report: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    cpu, capacity, python = report.get("cpu", {}), report.get("capacity", {}), report.get("python", {})
    warnings: list[str] = []
    usable, logical = capacity.get("usable_cores"), capacity.get("logical_cpus")
    if usable and logical and usable < logical and not any(v in environ for v in THREAD_VARS):
        warnings.append(
            f"Only {usable:g} of {logical} CPUs are usable (cgroup/affinity) but no thread limit is set: "
            f"BLAS and OpenMP will start {logical} threads. Set OMP_NUM_THREADS={max(1, int(usable))}."
        )
    memory = capacity.get("memory", {})
    if memory.get("cgroup_limit_bytes") and memory.get("total_bytes"):
        limit, total = memory["cgroup_limit_bytes"], memory["total_bytes"]
        if limit < total:
            warnings.append(
                f"Memory is limited to {limit / 2**30:.1f} GiB by the cgroup"
                f" (the machine has {total / 2**30:.1f} GiB)."
            )
    hwcaps = cpu.get("glibc_hwcaps") or {}
    if hwcaps.get("agrees") is False:
        warnings.append(
            f"glibc's loader says {hwcaps.get('level')} but the CPU flags say {cpu.get('isa_level')}: "
            "the OS may not enable a feature (e.g. AVX state in XSAVE)."
        )
    for refusal in (cpu.get("archspec") or {}).get("refused", [])[:1]:
        missing = refusal.get("missing", [])
        verb = "is" if len(missing) == 1 else "are"
        warnings.append(
            f"archspec refused {refusal.get('target')} because {', '.join(missing)} {verb} hidden; "
            "a VM may mask CPU flags."
        )
    for accelerator in report.get("accelerators", []):
        status, vendor = accelerator.get("status"), accelerator.get("vendor")
        if status == "hardware-no-driver":
            warnings.append(
                f"An {vendor.upper()} GPU is present but its driver is not usable:"
                f" {accelerator.get('reason')}"
            )
        elif status == "error":
            warnings.append(f"{vendor.upper()} probe failed: {accelerator.get('reason')}")
        if vendor == "nvidia" and status == "ok":
            devices = accelerator.get("devices", [])
            if devices and not any(d.get("visible") for d in devices):
                warnings.append("CUDA_VISIBLE_DEVICES hides every NVIDIA GPU from CUDA programs.")
        if vendor == "apple" and accelerator.get("rosetta"):
            warnings.append(
                "This Python runs under Rosetta 2 (x86_64 on Apple silicon): use an arm64 Python."
            )
    if python.get("debug"):
        warnings.append("This interpreter is a debug build: expect it to be several times slower.")
    return warnings + _kernel_claim(python, environ)


def recommendations(report: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The report's ``recommendations`` section."""
    supported = supported_properties(report)
    return {
        "headroom": headroom(report.get("cpu", {}), report.get("python", {})),
        "better_kernel": better_kernel(report.get("cpu", {}), report.get("python", {})),
        "kernel_levels": kernel_levels(report),
        "interpreter": _interpreter(report),
        "variant_properties": property_lines(supported, features_per_namespace=3),
        "conda_virtual_packages": _conda(report),
        "warnings": _warnings(report, environ),
    }
