"""The kernel's virtual environment: made from the interpreter's real path, with ipykernel inside.

A venv made through a symlink to a python-build-standalone interpreter records the link's folder
as its ``home`` and breaks when the link moves, so the venv is always made from the resolved
executable. Interpreters built without ensurepip (Debian's, some distributions') get a venv
``--without-pip`` and packages installed from outside: by uv when it is installed, otherwise by
the running environment's pip (``pip --python``, pip 22.3 or newer).

jupyter_pyvariant itself reaches the kernel through a ``.pth`` file naming a folder of the venv
that links to the package the server runs. That works alike for a wheel and an editable install,
needs no build backend and no network, and keeps the kernel's side of the comm protocol and the
host report in step with the server's. Its runtime requirements (except the server-only ones) are
installed into the venv from the distribution's own metadata. Packages asked for with ``--with``
go through the variant-aware install (``jupyter_pyvariant.install``), like ``%pyvariant install``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import KernelError, kernel_facts

StepCallback = Callable[[str], None]

VENV_MARKER = "pyvariant-venv.json"
"""Written last into a finished kernel venv: a folder without it is debris of an interrupted run."""

INSTALLER_ENV = "PYVARIANT_INSTALLER"
EXTENSION_FOLDER = "pyvariant-extension"
EXTENSION_PTH = "jupyter_pyvariant_extension.pth"
_PIP_PYTHON_OPTION = (22, 3)
_ERROR_TAIL = 2000


@dataclass(frozen=True)
class Installer:
    """A package installer that can install into another interpreter's environment."""

    name: str
    command: tuple[str, ...]

    def install_argv(self, python: Path, requirements: Sequence[str]) -> list[str]:
        if self.name == "uv":
            return [*self.command, "pip", "install", "--python", str(python), *requirements]
        return [*self.command, "--python", str(python), "install", "--no-input", *requirements]


@dataclass(frozen=True)
class KernelEnv:
    """A finished kernel venv."""

    path: Path
    python: Path
    interpreter: Path
    version: str
    site_packages: Path
    installer: str


def real_interpreter(executable: str | os.PathLike[str]) -> Path:
    """The interpreter's resolved path; a clear error when it is missing or not executable."""
    path = Path(executable).expanduser()
    try:
        real = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError) as exc:
        raise KernelError(f"interpreter not found: {path} ({exc.__class__.__name__})") from None
    if not real.is_file() or not os.access(real, os.X_OK):
        raise KernelError(f"interpreter is not an executable file: {real}")
    return real


def _uv_binary() -> str | None:
    """uv from the ``uv`` package, next to this interpreter, or on PATH."""
    if importlib.util.find_spec("uv") is not None:
        try:
            from uv import find_uv_bin

            return str(find_uv_bin())
        except (ImportError, FileNotFoundError):
            pass
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(beside) if beside.is_file() else shutil.which("uv")


def _pip_version() -> tuple[int, ...] | None:
    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def find_installer(choice: str | None = None) -> Installer:
    """uv when installed (fast, no pip needed in the venv), else this environment's pip.

    ``choice`` (default: ``$PYVARIANT_INSTALLER``) forces ``uv`` or ``pip``.
    """
    choice = (choice or os.environ.get(INSTALLER_ENV) or "auto").lower()
    if choice not in ("auto", "uv", "pip"):
        raise KernelError(f"{INSTALLER_ENV}={choice!r}: use uv, pip or auto")
    uv = _uv_binary() if choice in ("auto", "uv") else None
    if uv:
        return Installer("uv", (uv,))
    pip = _pip_version() if choice in ("auto", "pip") else None
    if pip is not None and pip >= _PIP_PYTHON_OPTION:
        return Installer("pip", (sys.executable, "-m", "pip"))
    found = ".".join(map(str, pip)) if pip else "none"
    raise KernelError(
        f"no installer for the kernel's packages ({INSTALLER_ENV}={choice}): install uv, or pip >= 22.3 "
        f"in {sys.prefix} (found pip {found})"
    )


def extension_requirements() -> list[str]:
    """jupyter_pyvariant's runtime requirements that a kernel needs (server-only ones left out)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    try:
        requires = importlib.metadata.distribution("jupyter_pyvariant").requires or []
    except importlib.metadata.PackageNotFoundError:
        return []
    server_only = {canonicalize_name(name) for name in kernel_facts()["server_only_requirements"]}
    kept = []
    for line in requires:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) in server_only:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        kept.append(str(requirement))
    return kept


def _run(argv: Sequence[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a step; a failure becomes a KernelError carrying the tail of its output."""
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, check=False
        )
    except OSError as exc:
        raise KernelError(f"{what} failed: cannot run {argv[0]}: {exc.strerror}") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-_ERROR_TAIL:]
        raise KernelError(f"{what} failed (exit status {result.returncode}):\n{tail}")
    return result.stdout


_QUERY = (
    "import json, sys, sysconfig; "
    "print(json.dumps({'version': '.'.join(map(str, sys.version_info[:3])), "
    "'purelib': sysconfig.get_path('purelib')}))"
)


def venv_python(venv: Path) -> Path:
    """The venv's interpreter path (not resolved: its own ``bin/python``)."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _link_extension(venv: Path, site_packages: Path) -> None:
    """Make ``import jupyter_pyvariant`` in the venv load the package this process runs."""
    package = Path(__file__).resolve().parent.parent
    folder = venv / EXTENSION_FOLDER
    folder.mkdir()
    try:
        (folder / package.name).symlink_to(package, target_is_directory=True)
    except OSError:  # no symlink privilege (Windows): a copy serves the same purpose
        shutil.copytree(package, folder / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    (site_packages / EXTENSION_PTH).write_text(f"{folder}\n", encoding="utf-8")


def install_packages(python: Path, requirements: Sequence[str], installer: Installer | None = None) -> None:
    """Install requirements into the environment of ``python``; index settings come from the
    environment (``UV_INDEX_URL``, ``PIP_FIND_LINKS``...) as for any uv or pip run."""
    if not requirements:
        return
    chosen = installer or find_installer()
    _run(chosen.install_argv(python, requirements), f"installing {' '.join(requirements)} with {chosen.name}")


def install_requested(python: Path, packages: Sequence[str]) -> None:
    """``--with`` packages, through the variant-aware install: each gets the build made for this
    host's CPU and GPUs, from the indexes the user configured for uv or pip."""
    from ..install import failures
    from ..install.plan import Options, Session

    try:
        with Session(Options(requirements=tuple(packages), python=str(python))) as session:
            session.install()
    except failures() as exc:
        raise KernelError(f"installing {' '.join(packages)} into the kernel failed: {exc}") from None


def _write_marker(venv: Path, facts: dict[str, object]) -> None:
    from .._atomic import write_text_atomic

    write_text_atomic(venv / VENV_MARKER, json.dumps(facts, indent=2))


def is_kernel_venv(path: Path) -> bool:
    """Whether ``path`` is a finished venv made by this module (the only kind it will delete)."""
    return (path / VENV_MARKER).is_file()


def create_kernel_env(
    interpreter: str | os.PathLike[str],
    path: Path,
    *,
    packages: Sequence[str] = (),
    kernel_name: str = "",
    on_step: StepCallback | None = None,
) -> KernelEnv:
    """Make a kernel venv at ``path``: all of it, or nothing (a failure removes what was made)."""
    step = on_step or (lambda message: None)
    real = real_interpreter(interpreter)
    if path.exists():
        if is_kernel_venv(path):
            raise KernelError(f"a kernel environment already exists at {path}")
        shutil.rmtree(path)  # debris of an interrupted run: no marker, never used by a kernelspec
    installer = find_installer()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        step(f"creating venv from {real}")
        _run([str(real), "-m", "venv", "--without-pip", str(path)], f"creating a venv with {real}")
        python = venv_python(path)
        info = json.loads(_run([str(python), "-c", _QUERY], f"querying {python}"))
        site_packages = Path(info["purelib"])
        _link_extension(path, site_packages)
        base = [*kernel_facts()["base_requirements"], *extension_requirements()]
        step(f"installing ipykernel with {installer.name}")
        install_packages(python, base, installer=installer)
        if packages:
            step(f"installing {' '.join(packages)}")
            install_requested(python, packages)
        env = KernelEnv(path, python, real, str(info["version"]), site_packages, installer.name)
        _write_marker(path, {"kernel": kernel_name, "interpreter": str(real), "version": env.version})
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return env
