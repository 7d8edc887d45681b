"""What the host could run that it does not run now, and what to watch out for.

Pure functions of the host's facts, so the same advice can be computed for a report that arrived
from another process or machine (read with ``HostFacts.from_dict``).
"""

from __future__ import annotations

__all__ = [
    "KERNEL_CLAIM_ENV",
    "THREAD_VARS",
    "better_kernel",
    "build_disagreements",
    "headroom",
    "kernel_levels",
    "optimization_label",
    "recommendations",
]

import json
from collections.abc import Mapping

from .cpu_levels import better_level
from .properties import property_lines, supported_properties
from .triples import level_flag, platform_targets, runnable_targets, uv_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .facts import HostFacts, PythonFacts

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Set by a provisioned kernel's kernelspec: what the archive's name promised (JSON, shaped like the
# ``python`` section, plus ``archive`` and ``executable``), so the kernel's own report can say where
# the running interpreter breaks that promise.
KERNEL_CLAIM_ENV = "PYVARIANT_KERNEL_CLAIM"


def headroom(facts: HostFacts) -> str:
    """One line: what the interpreter targets against what the CPU runs."""
    cpu_level, py_level = facts.cpu.level, facts.python.isa_level
    if cpu_level is None:
        return "The CPU's ISA level is unknown (see diagnostics)."
    if not py_level:
        return f"This CPU runs {cpu_level}; the interpreter's target level is unknown."
    if py_level == cpu_level:
        return f"This interpreter targets {py_level}, the best this CPU ({cpu_level}) runs."
    return f"This interpreter targets {py_level}; this CPU runs {cpu_level}."


def better_kernel(facts: HostFacts) -> str | None:
    """The level a kernel could be built for to use this CPU fully, when the running interpreter's
    level is below it on the same ladder (None: it already fits, or either level is unknown)."""
    return better_level(facts.python.isa_level, facts.cpu.level)


def kernel_levels(facts: HostFacts) -> list[dict[str, Any]]:
    """The levels interpreters are published at for this platform, lowest first, each with the
    ``--level`` spelling and whether this CPU runs it: the provisioning dialog's choices."""
    runnable = set(runnable_targets(facts))
    return [
        {"level": t.level, "flag": level_flag(t.level), "runs": t in runnable}
        for t in reversed(platform_targets(facts))
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


def _kernel_claim(python: PythonFacts, environ: Mapping[str, str]) -> list[str]:
    """The kernelspec's promise against the running interpreter (only the interpreter it was made
    for: a subprocess of the kernel inherits the variable)."""
    try:
        claimed = json.loads(environ.get(KERNEL_CLAIM_ENV) or "null")
    except ValueError:
        return []
    if not isinstance(claimed, dict) or claimed.get("executable") != python.real_executable:
        return []
    return build_disagreements(claimed, python.build())


def _interpreter(facts: HostFacts) -> dict[str, Any] | None:
    targets = runnable_targets(facts)
    if not targets:
        return None
    best = targets[0]
    version = ".".join((facts.python.version or "3").split(".")[:2])
    return {
        "triple": best.triple,
        "flavour": "install_only_stripped (PGO+LTO)",
        "level": best.level,
        "uv_key": uv_key(facts, version, best),
        "command": f"%pyvariant kernel install {version}"
        + (f" --level {level_flag(best.level)}" if best.level else ""),
    }


def _conda(facts: HostFacts) -> dict[str, str]:
    system = facts.system
    virtual: dict[str, str] = {}
    if facts.cpu.microarchitecture:
        virtual["__archspec"] = f"1={facts.cpu.microarchitecture}"
    if system.libc_family == "glibc" and system.libc_version:
        virtual["__glibc"] = system.libc_version
    for accelerator in facts.accelerators:
        if accelerator.vendor == "nvidia" and accelerator.cuda_driver_version:
            virtual["__cuda"] = accelerator.cuda_driver_version
    if system.os == "Linux" and system.kernel:
        virtual["__linux"] = system.kernel.split("-")[0]
    if system.os in ("Linux", "Darwin"):
        virtual["__unix"] = "0"
    return virtual


def _warnings(facts: HostFacts, environ: Mapping[str, str]) -> list[str]:
    cpu, capacity = facts.cpu, facts.capacity
    warnings: list[str] = []
    usable, logical = capacity.usable_cores, capacity.logical_cpus
    if usable and logical and usable < logical and not any(v in environ for v in THREAD_VARS):
        warnings.append(
            f"Only {usable:g} of {logical} CPUs are usable (cgroup/affinity) but no thread limit is set: "
            f"BLAS and OpenMP will start {logical} threads. Set OMP_NUM_THREADS={max(1, int(usable))}."
        )
    limit, total = capacity.memory_limit_bytes, capacity.memory_bytes
    if limit and total and limit < total:
        warnings.append(
            f"Memory is limited to {limit / 2**30:.1f} GiB by the cgroup"
            f" (the machine has {total / 2**30:.1f} GiB)."
        )
    if cpu.hwcaps_agrees is False:
        warnings.append(
            f"glibc's loader says {cpu.hwcaps_level} but the CPU flags say {cpu.level or 'unknown'}: "
            "the OS may not enable a feature (e.g. AVX state in XSAVE)."
        )
    # One plain sentence; every refusal, with all it missed, stays in the report's cpu.archspec.refused.
    for refusal in [r for r in cpu.refused if r.missing][:1]:
        *others, last = refusal.missing
        features = f"the features {', '.join(others)} and {last}" if others else f"the feature {last}"
        warnings.append(
            f"This CPU looks like a {refusal.target} but does not report {features}; a virtual machine "
            f"may hide CPU features, so builds tuned for {refusal.target} are not used."
        )
    for accelerator in facts.accelerators:
        status, vendor = accelerator.status, accelerator.vendor
        if status == "hardware-no-driver":
            warnings.append(
                f"An {vendor.upper()} GPU is present but its driver is not usable: {accelerator.reason}"
            )
        elif status == "error":
            warnings.append(f"{vendor.upper()} probe failed: {accelerator.reason}")
        if vendor == "nvidia" and status == "ok":
            devices = accelerator.devices
            if devices and not any(d.visible for d in devices):
                warnings.append("CUDA_VISIBLE_DEVICES hides every NVIDIA GPU from CUDA programs.")
        if vendor == "apple" and accelerator.rosetta:
            warnings.append(
                "This Python runs under Rosetta 2 (x86_64 on Apple silicon): use an arm64 Python."
            )
    if facts.python.debug:
        warnings.append("This interpreter is a debug build: expect it to be several times slower.")
    return warnings + _kernel_claim(facts.python, environ)


def recommendations(facts: HostFacts, environ: Mapping[str, str]) -> dict[str, Any]:
    """The report's ``recommendations`` section."""
    return {
        "headroom": headroom(facts),
        "better_kernel": better_kernel(facts),
        "kernel_levels": kernel_levels(facts),
        "interpreter": _interpreter(facts),
        "variant_properties": property_lines(supported_properties(facts), features_per_namespace=3),
        "conda_virtual_packages": _conda(facts),
        "warnings": _warnings(facts, environ),
    }
