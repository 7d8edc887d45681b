"""Kernelspecs for optimized kernels: where they go, what they say, and how they are written.

A kernelspec is written only after its interpreter exists, into a temporary folder beside its
final place and renamed there in one step, so a reader never sees a half-written spec and no spec
ever points at something missing. User kernelspecs go where jupyter_client looks for them (so
``JUPYTER_DATA_DIR`` relocates them, and the kernel venvs with them); ``--prefix`` and
``--sys-prefix`` put both under ``PREFIX/share/jupyter``.
"""

from __future__ import annotations

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

from . import KernelError

if TYPE_CHECKING:
    from ..pythons.catalog import Build
    from ..pythons.store import InstalledPython

METADATA_KEY = "pyvariant"
PROVISIONER_NAME = "pyvariant-provisioner"
LAUNCH_ARGS = ("-m", "ipykernel_launcher", "--ext=jupyter_pyvariant", "-f", "{connection_file}")
# jupyter_client's rule, plus a letter or digit first: ``..``, hidden and option-like names never
# reach a file system path or a command line, whichever face they came from.
_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._\-]*$")
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


def check_name(name: str) -> str:
    """A valid kernel name (lower case, as jupyter_client spells them), or a clear error."""
    lowered = name.lower()
    if not _NAME_PATTERN.match(lowered):
        raise KernelError(
            f"invalid kernel name {name!r}: use letters, digits, '.', '_' and '-' only, "
            "starting with a letter or a digit"
        )
    return lowered


def short_version(build: Build) -> str:
    """``3.13`` or ``3.13t``: how people name a kernel's Python."""
    return build.minor + ("t" if build.freethreaded else "")


def display_name(build: Build, level: str | None = None) -> str:
    """``Python 3.13 · x86-64-v4 · PGO+LTO`` (the level only where levels are published)."""
    parts = [f"Python {short_version(build)}", level or build.level, build.optimizations]
    if build.freethreaded:
        parts.append("free-threaded")
    return " · ".join(part for part in parts if part)


def default_kernel_name(build: Build) -> str:
    """``pyvariant-3.13-v4``, ``pyvariant-3.14t-v3-debug``: distinct per version, level and flavour."""
    level = (build.level or "").removeprefix("x86-64-")
    parts = ["pyvariant", short_version(build), level, "debug" if build.debug else ""]
    return check_name("-".join(part for part in parts if part))


def build_metadata(build: Build, python: InstalledPython | None = None, **extra: Any) -> dict[str, Any]:
    """``metadata.pyvariant``: the build facts (from the store's marker when there is one)."""
    facts: dict[str, Any] = {**build.to_dict(), "label": build.describe(), "freethreaded": build.freethreaded}
    if python is not None:
        facts.update(interpreter=str(python.executable), prefix=str(python.root), marker=dict(python.marker))
    facts.update(extra)
    return facts


def kernel_json(
    python: Path, name: str, metadata: Mapping[str, Any], *, provisioned: bool = False
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
    destination = location.kernels_dir / check_name(name)
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
