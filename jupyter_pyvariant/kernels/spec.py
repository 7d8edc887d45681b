"""Kernelspecs for optimized kernels: where they go, what they say, and how they are written.

A kernelspec is written only after its interpreter exists, into a temporary folder beside its
final place and renamed there in one step, so a reader never sees a half-written spec and no spec
ever points at something missing. User kernelspecs go where jupyter_client looks for them (so
``JUPYTER_DATA_DIR`` relocates them, and the kernel venvs with them); ``--prefix`` and
``--sys-prefix`` put both under ``PREFIX/share/jupyter``.
"""

from __future__ import annotations

__all__ = [
    "METADATA_KEY",
    "SpecLocation",
    "build_metadata",
    "check_name",
    "default_kernel_name",
    "display_name",
    "kernel_env",
    "kernel_json",
    "read_kernelspec",
    "verification",
    "write_kernelspec",
]

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._faults import checkpoint
from . import KernelError

if TYPE_CHECKING:
    from ..pythons.store import InstalledPython
    from ..pythons.verify import BuildFacts, Verification

METADATA_KEY = "pyvariant"
PROVISIONER_NAME = "pyvariant-provisioner"
LAUNCH_ARGS = ("-m", "ipykernel_launcher", "--ext=jupyter_pyvariant", "-f", "{connection_file}")
# jupyter_client's rule, plus a letter or digit first: ``..``, hidden and option-like names never
# reach a file system path or a command line, whichever face they came from.
# Matched whole (a trailing newline would pass ``$``); a name is a folder name, so it fits in one
# path component, and the spec and venv folders under it within PATH_MAX.
_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._\-]*")
NAME_MAX = 255
PATH_MAX = 4096
_LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


@dataclass(frozen=True)
class SpecLocation:
    """Where kernelspecs (``<data>/kernels``) and their venvs (``<data>/pyvariant/venvs``) live."""

    data_dir: Path

    @classmethod
    def user(cls) -> SpecLocation:
        from jupyter_core.paths import jupyter_data_dir

        return cls(Path(jupyter_data_dir()))

    @classmethod
    def prefix(cls, prefix: str | os.PathLike[str]) -> SpecLocation:
        return cls(Path(prefix).expanduser().absolute() / "share" / "jupyter")

    @classmethod
    def sys_prefix(cls) -> SpecLocation:
        return cls.prefix(sys.prefix)

    @property
    def kernels_dir(self) -> Path:
        return self.data_dir / "kernels"

    def venv_dir(self, name: str) -> Path:
        return self.data_dir / "pyvariant" / "venvs" / name

    @property
    def scratch_dir(self) -> Path:
        """Beside the kernels folder (same filesystem, so a rename is atomic) but not in it, where
        jupyter_client would list a half-written spec."""
        return self.data_dir / "pyvariant" / "partial"


def check_name(name: str, location: SpecLocation | None = None) -> str:
    """A valid kernel name (lower case, as jupyter_client spells them), or a clear error.

    Every face checks names here; with ``location``, the folders the name makes there must fit too.
    """
    lowered = name.lower() if isinstance(name, str) else ""
    if not _NAME_PATTERN.fullmatch(lowered):
        raise KernelError(
            f"invalid kernel name {name!r}: use letters, digits, '.', '_' and '-' only, "
            "starting with a letter or a digit"
        )
    if len(lowered) > NAME_MAX:
        raise KernelError(
            f"invalid kernel name {name[:40]!r}…: {len(lowered)} characters, at most {NAME_MAX}"
        )
    if location is not None:
        folders = (location.kernels_dir / lowered, location.venv_dir(lowered))
        if max(len(os.fsencode(p)) for p in folders) >= PATH_MAX - NAME_MAX:  # room for the files inside
            raise KernelError(
                f"kernel name {lowered[:40]!r}: its folders under {location.data_dir} are too long a path"
            )
    return lowered


def _facts_line(first: str, facts: BuildFacts, level: str | None = None) -> str:
    threading = "free-threaded" if facts.free_threaded else ""
    parts = (first, level or facts.isa_level, facts.optimizations, threading)
    return " · ".join(part for part in parts if part)


def display_name(facts: BuildFacts, level: str | None = None, *, kernel_name: str | None = None) -> str:
    """``Python 3.13 · x86-64-v4 · PGO+LTO``, from what the interpreter says it is (``level`` overrides).

    A ``kernel_name`` other than the build's default is added in parentheses: a second kernel of
    one build would otherwise look the same as the first in the launcher and the kernel picker.
    """
    label = _facts_line(f"Python {facts.short_version}", facts, level)
    name = None if kernel_name is None else check_name(kernel_name)
    return label if name in (None, default_kernel_name(facts)) else f"{label} ({name})"


def default_kernel_name(facts: BuildFacts) -> str:
    """``pyvariant-3.13-v4``, ``pyvariant-3.14t-v3-debug``: distinct per version, level and flavour."""
    from ..host.cpu_levels import level_family
    from ..host.triples import level_flag

    isa = facts.isa_level or ""
    level = level_flag(isa) if level_family(isa) == "x86_64" else ""
    parts = ["pyvariant", facts.short_version, level, "debug" if facts.debug else ""]
    return check_name("-".join(part for part in parts if part))


def verification(python: InstalledPython) -> Verification:
    """What the store's interpreter said about itself when it was provisioned."""
    from ..pythons.verify import Verification

    return Verification.recorded(python.build, python.marker)


def build_metadata(python: InstalledPython, **extra: Any) -> dict[str, Any]:
    """``metadata.pyvariant``: the archive (catalog facts), and how its interpreter says it was built.

    ``level``, ``debug`` and ``label`` follow the interpreter; ``catalog_level`` keeps the name's
    level; ``warnings`` lists every disagreement between the two.
    """
    build, checked = python.build, verification(python)
    facts = checked.facts
    return {
        **build.to_dict(),
        "label": _facts_line(f"CPython {facts.version}", facts),
        "level": facts.isa_level,
        "catalog_level": build.level,
        "freethreaded": facts.free_threaded,
        "debug": facts.debug,
        "build": facts.to_dict(),
        "verified": checked.verified,
        "warnings": list(checked.warnings),
        "interpreter": str(python.executable),
        "prefix": str(python.root),
        "marker": dict(python.marker),
        **extra,
    }


def kernel_env(python: InstalledPython) -> dict[str, str]:
    """The kernel's environment: no GIL in a free-threaded kernel, and the archive's promise, so
    that the kernel's own report can compare it with the interpreter that runs."""
    from ..host.recommend import KERNEL_CLAIM_ENV
    from ..pythons.verify import BuildFacts

    claim = {
        "archive": python.build.filename,
        "executable": str(python.executable),
        **BuildFacts.claimed_by(python.build).to_dict(),
    }
    env = {KERNEL_CLAIM_ENV: json.dumps(claim, sort_keys=True)}
    if verification(python).facts.free_threaded:
        env["PYTHON_GIL"] = "0"  # an extension built without free-threading support would turn it on
    return env


def kernel_json(
    python: Path,
    name: str,
    metadata: Mapping[str, Any],
    *,
    provisioned: bool = False,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The kernelspec: absolute interpreter, ``--ext=jupyter_pyvariant``, build facts in metadata."""
    spec_metadata: dict[str, Any] = {METADATA_KEY: dict(metadata)}
    if provisioned:
        spec_metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME, "config": {}}
    return {
        "argv": [str(python), *LAUNCH_ARGS],
        "display_name": name,
        "language": "python",
        "interrupt_mode": "signal",
        **({"env": dict(env)} if env else {}),
        "metadata": spec_metadata,
    }


def _logos(site_packages: Path | None) -> list[Path]:
    folder = site_packages / "ipykernel" / "resources" if site_packages else None
    return [folder / logo for logo in _LOGOS if folder and (folder / logo).is_file()]


def write_kernelspec(
    location: SpecLocation, name: str, spec: Mapping[str, Any], *, site_packages: Path | None = None
) -> Path:
    """Write ``spec`` as kernel ``name`` in one rename; refuse if its interpreter is missing."""
    python = Path(spec["argv"][0])
    if not python.is_absolute() or not python.exists():
        raise KernelError(f"refusing to write kernelspec {name!r}: its interpreter {python} does not exist")
    destination = location.kernels_dir / check_name(name, location)
    if destination.exists():
        raise KernelError(f"a kernelspec named {name!r} already exists at {destination}")
    location.kernels_dir.mkdir(parents=True, exist_ok=True)
    location.scratch_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=location.scratch_dir, prefix=f"{name}-"))
    try:
        (partial / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        for logo in _logos(site_packages):
            shutil.copyfile(logo, partial / logo.name)
        os.chmod(partial, 0o755)
        checkpoint("kernelspec-staged")
        os.rename(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return destination


def read_kernelspec(spec_dir: Path) -> dict[str, Any] | None:
    """A kernelspec's JSON, or None when it is unreadable (a broken spec is listed, not fatal)."""
    try:
        data = json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
