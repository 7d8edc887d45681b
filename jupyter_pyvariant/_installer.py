"""Which installer to run and how to invoke it, for every wing that installs packages.

Variant installs (``%pyvariant install/plan/sync/lock``), a kernel's own packages and provider
plugin environments all choose here, so ``--installer`` and ``$PYVARIANT_INSTALLER`` mean the same
everywhere and one run never mixes two uv binaries.

uv is found in one order: the ``uv`` package of this environment (a dependency, so its version is
the one this project declares), then a ``uv`` beside this interpreter, then ``uv`` on ``PATH``.
"""

from __future__ import annotations

__all__ = ["Installer", "InstallerKind", "NoInstaller", "find_uv", "venv_python"]

import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from .errors import PyvariantError

InstallerKind = Literal["uv", "pip"]
INSTALLER_ENV = "PYVARIANT_INSTALLER"
_PIP_PYTHON_OPTION = (22, 3)
"""``pip --python`` (installing into another interpreter's environment) exists since pip 22.3."""


class NoInstaller(PyvariantError):
    """The installer asked for (or any installer) is not available; the message says what to do."""


@cache
def find_uv() -> str | None:
    """The uv binary, in the order the module docstring gives (None when there is none)."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(beside) if beside.is_file() else shutil.which("uv")


def venv_python(venv: Path) -> Path:
    """A venv's own interpreter path (not resolved)."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requested(choice: str | None = None) -> Literal["auto", "uv", "pip"]:
    """``choice`` (a flag), else ``$PYVARIANT_INSTALLER``, else auto; anything else is an error."""
    value = (choice or os.environ.get(INSTALLER_ENV) or "auto").strip().lower()
    if value not in ("auto", "uv", "pip"):
        raise NoInstaller(f"{INSTALLER_ENV}={value!r}: use uv, pip or auto")
    return value  # type: ignore[return-value]


def _pip_version() -> tuple[int, ...] | None:
    import importlib.metadata  # ~30 ms of imports: only when pip is the installer

    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


@dataclass(frozen=True)
class Installer:
    """One installer, ready to install into a given interpreter's environment.

    ``program`` is ``(uv,)`` or the pip to run: the target's own (``python -m pip``) when it has
    one, else this environment's with ``--python target``.
    """

    kind: InstallerKind
    program: tuple[str, ...]
    pip_python_option: bool = False

    @classmethod
    def choose(
        cls,
        choice: str | None = None,
        *,
        target: str | os.PathLike[str] | None = None,
        target_has_pip: bool = False,
    ) -> Installer:
        """uv unless pip is asked for (or uv is missing); pip in the target when it has one."""
        wanted = requested(choice)
        uv = find_uv() if wanted != "pip" else None
        if uv is not None:
            return cls("uv", (uv,))
        if wanted == "uv":
            raise NoInstaller("uv was asked for but is not installed (pip install uv)")
        if target is not None and target_has_pip:
            return cls("pip", (os.fspath(target), "-m", "pip"))
        pip = _pip_version()
        if pip is not None and pip >= _PIP_PYTHON_OPTION:
            return cls("pip", (sys.executable, "-m", "pip"), pip_python_option=target is not None)
        found = ".".join(map(str, pip)) if pip else "none"
        raise NoInstaller(
            f"no installer ({INSTALLER_ENV}={wanted}): install uv, or pip >= 22.3 in {sys.prefix} "
            f"(found {found})"
        )

    def install_argv(
        self, python: str | os.PathLike[str], options: Iterable[str] = (), requirements: Iterable[str] = ()
    ) -> list[str]:
        """``uv pip install --python P …`` / ``pip [--python P] install …``; requirements after ``--``
        for uv (a requirement never reads as an option)."""
        options, requirements = list(options), list(requirements)
        if self.kind == "uv":
            return [
                *self.program,
                "pip",
                "install",
                "--python",
                os.fspath(python),
                *options,
                "--",
                *requirements,
            ]
        target = ["--python", os.fspath(python)] if self.pip_python_option else []
        pip_options = ["--disable-pip-version-check", "--no-input"]
        return [*self.program, *target, "install", *pip_options, *options, *requirements]

    def compile_argv(self, python: str | os.PathLike[str], requirements_file: Path) -> list[str]:
        """uv's from-scratch resolution (``uv pip compile``), printing ``name==version`` lines."""
        if self.kind != "uv":
            raise NoInstaller("resolving from scratch needs uv")
        program = [*self.program, "pip", "compile", "--python", os.fspath(python)]
        return [*program, "--no-header", "--no-annotate", os.fspath(requirements_file)]

    def venv_argv(self, python: str | os.PathLike[str], path: Path) -> list[str]:
        """Make a venv of ``python`` at ``path``: with pip when pip installs into it later."""
        if self.kind == "uv":
            return [*self.program, "venv", "--quiet", "--python", os.fspath(python), os.fspath(path)]
        return [os.fspath(python), "-m", "venv", os.fspath(path)]
