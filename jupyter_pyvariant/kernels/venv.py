"""The kernel's virtual environment: made from the interpreter's real path, with ipykernel inside.

A venv made through a symlink to a python-build-standalone interpreter records the link's folder
as its ``home`` and breaks when the link moves, so the venv is always made from the resolved
executable. Interpreters built without ensurepip (Debian's, some distributions') get a venv
``--without-pip`` and packages installed from outside, by the project's one installer choice: uv
(linked beside the venv's interpreter, so ``%pyvariant install`` in the kernel runs the same uv),
otherwise the running environment's pip (``pip --python``, pip 22.3 or newer).

jupyter_pyvariant itself reaches the kernel through a ``.pth`` file naming a folder of the venv
that links to the package the server runs. That works alike for a wheel and an editable install,
needs no build backend and no network, and keeps the kernel's side of the comm protocol and the
host report in step with the server's. Its runtime requirements (except those a kernel reaches
another way: ``not_installed_in_kernels`` in ``data/kernels.json``) are installed into the venv from
the distribution's own metadata. Packages asked for with ``--with`` go through the variant-aware
install (``jupyter_pyvariant.install``), like ``%pyvariant install``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from .. import _process
from .._faults import checkpoint
from .._installer import Installer, NoInstaller, find_uv, venv_python
from . import KernelError, kernel_facts

StepCallback = Callable[[str], None]

VENV_MARKER = "pyvariant-venv.json"
"""Written last into a finished kernel venv: a folder without it is debris of an interrupted run."""

EXTENSION_FOLDER = "pyvariant-extension"
EXTENSION_PTH = "jupyter_pyvariant_extension.pth"


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


def find_installer(choice: str | None = None, python: Path | None = None) -> Installer:
    """The project's one installer choice (``choice``, else ``$PYVARIANT_INSTALLER``, else uv when
    installed) for a venv made without pip: uv, or this environment's pip with ``--python``."""
    try:
        return Installer.choose(choice, target=python or Path(sys.executable), target_has_pip=False)
    except NoInstaller as exc:
        raise KernelError(f"no installer for the kernel's packages: {exc}") from None


def extension_requirements() -> list[str]:
    """jupyter_pyvariant's runtime requirements that a kernel installs (``not_installed_in_kernels``
    and extras left out)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    try:
        requires = importlib.metadata.distribution("jupyter_pyvariant").requires or []
    except importlib.metadata.PackageNotFoundError:
        return []
    elsewhere = {canonicalize_name(name) for name in kernel_facts()["not_installed_in_kernels"]}
    kept = []
    for line in requires:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) in elsewhere:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        kept.append(str(requirement))
    return kept


def _run(argv: Sequence[str], what: str) -> str:
    """Run a step; a failure becomes a KernelError carrying the tail of its output."""
    try:
        return "\n".join(_process.run(argv, what, merge=False).lines)
    except _process.ToolFailed as exc:
        raise KernelError(str(exc)) from None


_QUERY = (
    "import json, sys, sysconfig; "
    "print(json.dumps({'version': '.'.join(map(str, sys.version_info[:3])), "
    "'purelib': sysconfig.get_path('purelib')}))"
)


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
    uv = find_uv()
    if uv is not None:  # found beside the kernel's interpreter: the kernel installs with this same uv
        with suppress(OSError):
            (venv_python(venv).parent / Path(uv).name).symlink_to(uv)


def install_packages(python: Path, requirements: Sequence[str], installer: Installer) -> None:
    """Install requirements into the environment of ``python``; index settings are the user's own
    (uv's and pip's configuration and variables), as for any uv or pip run."""
    if requirements:
        what = f"installing {' '.join(requirements)} with {installer.kind}"
        _run(installer.install_argv(python, requirements=requirements), what)


def install_requested(
    python: Path, packages: Sequence[str], installer: Installer, trusted_plugins: Sequence[str] = ()
) -> None:
    """``--with`` packages, through the variant-aware install (with the same installer): each gets
    the build made for this host's CPU and GPUs, from the indexes the user configured, asking the
    provider plugins the user trusts (``--trust-provider``) as ``install`` does."""
    from ..install import failures
    from ..install.plan import Options
    from ..install.session import Session

    options = Options(
        requirements=tuple(packages),
        python=str(python),
        installer=installer.kind,
        trusted_plugins=tuple(trusted_plugins),
    )
    try:
        with Session(options) as session:
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
    trusted_plugins: Sequence[str] = (),
    kernel_name: str = "",
    on_step: StepCallback | None = None,
    installer_choice: str | None = None,
) -> KernelEnv:
    """Make a kernel venv at ``path``: all of it, or nothing (a failure removes what was made)."""
    step = on_step or (lambda message: None)
    real = real_interpreter(interpreter)
    if path.exists():
        if is_kernel_venv(path):
            raise KernelError(f"a kernel environment already exists at {path}")
        shutil.rmtree(path)  # debris of an interrupted run: no marker, never used by a kernelspec
    installer = find_installer(installer_choice, venv_python(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        step(f"creating venv from {real}")
        _run([str(real), "-m", "venv", "--without-pip", str(path)], f"creating a venv with {real}")
        python = venv_python(path)
        info = json.loads(_run([str(python), "-c", _QUERY], f"querying {python}"))
        site_packages = Path(info["purelib"])
        _link_extension(path, site_packages)
        base = [*kernel_facts()["base_requirements"], *extension_requirements()]
        step(f"installing ipykernel with {installer.kind}")
        install_packages(python, base, installer)
        if packages:
            step(f"installing {' '.join(packages)}")
            install_requested(python, packages, installer, trusted_plugins)
        env = KernelEnv(path, python, real, str(info["version"]), site_packages, installer.kind)
        _write_marker(path, {"kernel": kernel_name, "interpreter": str(real), "version": env.version})
        checkpoint("venv-marked")
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return env
