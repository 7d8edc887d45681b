"""Install, list and remove optimized kernels.

``install_kernel`` runs the whole chain: the catalog, the selection for this host, the download
into the managed store, the kernel venv and the kernelspec, in that order, so a failure at any
step leaves no kernelspec behind (and a venv made before the failure is removed). Removing a
kernel removes its kernelspec first, then its venvs; the interpreters stay in the store, shared
with other kernels, until ``pyvariant python gc``.
"""

from __future__ import annotations

__all__ = [
    "KernelInfo",
    "KernelOptions",
    "install_kernel",
    "list_kernels",
    "plan_kernel",
    "remove_kernel",
    "remove_orphan",
]

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import KernelError
from .per_node import NodeBuild, PerNodeRequest
from .spec import (
    METADATA_KEY,
    SpecLocation,
    build_metadata,
    check_name,
    default_kernel_name,
    display_name,
    kernel_env,
    kernel_json,
    read_kernelspec,
    verification,
    write_kernelspec,
)
from .venv import KernelEnv, StepCallback, create_kernel_env, is_kernel_venv

if TYPE_CHECKING:
    from ..host.facts import HostFacts
    from ..pythons.build import Build
    from ..pythons.fetch import ProgressCallback
    from ..pythons.select import Request, Selection
    from ..pythons.store import InstalledPython, Store
    from ..pythons.verify import BuildFacts


@dataclass(frozen=True)
class KernelOptions:
    """What ``kernel install`` was asked for."""

    version: str | None = None
    level: str = "auto"
    freethreaded: bool = False
    debug: bool = False
    name: str | None = None
    display_name: str | None = None
    packages: tuple[str, ...] = ()
    trusted_plugins: tuple[str, ...] = ()
    """Provider plugins the packages' variant selection may run (``--trust-provider``)."""
    mirror: str | None = None
    catalog: str | None = None
    location: SpecLocation | None = None
    per_node: bool = False
    store: str | None = None
    installer: str | None = None
    """``uv`` or ``pip`` for the kernel's packages (None: ``$PYVARIANT_INSTALLER``, else uv)."""

    def request(self) -> Request:
        from ..pythons.select import Request

        return Request.parse(self.version, freethreaded=self.freethreaded, debug=self.debug)


@dataclass(frozen=True)
class KernelInfo:
    """A kernelspec made by this package, as found on disk."""

    name: str
    display_name: str
    spec_dir: Path
    python: Path
    metadata: Mapping[str, Any] = field(compare=False)
    provisioned: bool = False

    @property
    def venvs(self) -> tuple[Path, ...]:
        return tuple(Path(p) for p in self.metadata.get("venvs", ()))

    @property
    def warnings(self) -> tuple[str, ...]:
        """Where the interpreter contradicts its archive's name (recorded when it was provisioned)."""
        return tuple(str(warning) for warning in self.metadata.get("warnings") or ())

    @property
    def usable(self) -> bool:
        """Its interpreter is still there (a kernelspec whose venv was deleted by hand is not)."""
        return self.python.exists()

    def to_dict(self) -> dict[str, Any]:
        """The one shape of a kernel in every listing: ``kernel list --json``, ``GET kernels`` and a
        provisioning job's result."""
        facts = self.metadata
        return {
            "name": self.name,
            "display_name": self.display_name,
            "spec_dir": str(self.spec_dir),
            "python": str(self.python),
            "usable": self.usable,
            "provisioned": self.provisioned,
            "level": facts.get("level"),
            "flavour": facts.get("flavour"),
            "version": facts.get("version"),
            "freethreaded": bool(facts.get("freethreaded")),
            "python_root": facts.get("prefix"),
            "warnings": list(self.warnings),
            METADATA_KEY: dict(facts),
        }

    @classmethod
    def from_spec_dir(cls, spec_dir: Path) -> KernelInfo | None:
        """The kernel in ``spec_dir``; None for kernelspecs this package did not make."""
        spec = read_kernelspec(spec_dir)
        metadata = (spec or {}).get("metadata") or {}
        if spec is None or not isinstance(metadata.get(METADATA_KEY), dict) or not spec.get("argv"):
            return None
        return cls(
            name=spec_dir.name,
            display_name=str(spec.get("display_name", spec_dir.name)),
            spec_dir=spec_dir,
            python=Path(spec["argv"][0]),
            metadata=metadata[METADATA_KEY],
            provisioned="kernel_provisioner" in metadata,
        )


def _store(options: KernelOptions) -> Store:
    from ..pythons.store import Store, default_store

    return Store(options.store) if options.store else default_store()


def _host_facts(facts: HostFacts | None) -> HostFacts:
    if facts is not None:
        return facts
    from ..host import report

    return report().facts


def plan_kernel(options: KernelOptions, facts: HostFacts | None = None) -> Selection:
    """The build ``install_kernel`` would use for the host of ``facts`` (None: this one), with its
    explanation (``--explain``)."""
    from ..pythons.select import select

    request = options.request()  # a bad version fails here, before any network
    host = _host_facts(facts)
    if options.per_node:
        return select([p.build for p in _store(options).installed()], host, request)
    from ..pythons.catalog import load_catalog

    catalog = load_catalog(options.catalog, mirror=options.mirror)
    return select(catalog, host, request, level=options.level)


def _check_free(location: SpecLocation, name: str) -> None:
    """Fail before any download when the name is taken."""
    if (location.kernels_dir / name).exists():
        raise KernelError(
            f"a kernel named {name!r} already exists in {location.kernels_dir}: "
            f"remove it first (pyvariant kernel remove {name}) or choose --name"
        )


def install_kernel(
    options: KernelOptions,
    *,
    facts: HostFacts | None = None,
    on_step: StepCallback | None = None,
    download_progress: ProgressCallback | None = None,
) -> KernelInfo:
    """Provision the best interpreter for this host and register it as a kernel."""
    from ..pythons.verify import BuildFacts

    step = on_step or (lambda message: None)
    location = options.location or SpecLocation.user()
    selection = plan_kernel(options, facts)
    name = _kernel_name(options, BuildFacts.claimed_by(selection.best), location)
    _check_free(location, name)
    store = _store(options)
    with store.in_use():  # from the store's commit until the kernelspec that keeps the interpreter
        if options.per_node:
            return _install_per_node(options, selection, location, name, step)
        return _install_one(options, selection, location, name, store, step, download_progress)


def _install_one(
    options: KernelOptions,
    selection: Selection,
    location: SpecLocation,
    name: str,
    store: Store,
    step: StepCallback,
    download_progress: ProgressCallback | None,
) -> KernelInfo:
    from ..pythons.fetch import provision

    step(f"interpreter: {selection.best.filename}")
    python = provision(selection, store, progress=download_progress)
    facts = verification(python).facts
    if (named := _kernel_name(options, facts, location)) != name:  # the interpreter is not what its name says
        name = named
        _check_free(location, name)
    _clear_orphan(location, name, step)
    venv = location.venv_dir(name)
    env = create_kernel_env(
        python.executable,
        venv,
        packages=options.packages,
        trusted_plugins=options.trusted_plugins,
        kernel_name=name,
        on_step=step,
        installer_choice=options.installer,
    )
    metadata = build_metadata(python, venvs=[str(venv)], packages=list(options.packages))
    label = options.display_name or display_name(facts, kernel_name=name)
    spec = kernel_json(env.python, label, metadata, env=kernel_env(python))
    return _register(location, name, spec, env.site_packages, [venv], step)


def remove_orphan(name: str, location: SpecLocation | None = None) -> Path | None:
    """Remove the venvs of ``name`` when no kernelspec of that name is beside them; return their folder.

    Only a run killed between its venv and its kernelspec leaves them: no kernel can use them, and
    they would block the name for good.
    """
    location = location or SpecLocation.user()
    name = check_name(name)
    venvs = location.venv_dir(name)
    if (location.kernels_dir / name).exists() or not venvs.exists():
        return None
    shutil.rmtree(venvs)
    return venvs


def _clear_orphan(location: SpecLocation, name: str, step: StepCallback) -> None:
    if (orphan := remove_orphan(name, location)) is not None:
        step(f"removed {orphan}: left without a kernelspec by an interrupted install")


def _kernel_name(options: KernelOptions, facts: BuildFacts, location: SpecLocation) -> str:
    return check_name(options.name or default_kernel_name(facts), location)


def _register(
    location: SpecLocation,
    name: str,
    spec: Mapping[str, Any],
    site_packages: Path,
    venvs: Sequence[Path],
    step: StepCallback,
) -> KernelInfo:
    """Write the kernelspec; if that fails, the venvs made for it go too."""
    step(f"writing kernelspec {name}")
    try:
        spec_dir = write_kernelspec(location, name, spec, site_packages=site_packages)
    except BaseException:
        for venv in venvs:
            shutil.rmtree(venv, ignore_errors=True)
        raise
    info = KernelInfo.from_spec_dir(spec_dir)
    assert info is not None  # written just above with metadata.pyvariant
    return info


def _per_node_builds(selection: Selection, installed: Sequence[InstalledPython]) -> list[InstalledPython]:
    """The store's builds of the chosen version and flavour, one per level, for every node type."""

    def kind(build: Build) -> tuple[str, str, str | None, str]:
        return build.version, build.flavour, build.libc, build.triple.split("-", 1)[1]

    return [python for python in installed if kind(python.build) == kind(selection.best)]


def _install_per_node(
    options: KernelOptions, selection: Selection, location: SpecLocation, name: str, step: StepCallback
) -> KernelInfo:
    """One venv per level in the store; the provisioner picks among them at each kernel start."""
    store = _store(options)
    pythons = _per_node_builds(selection, store.installed())
    _clear_orphan(location, name, step)
    root = location.venv_dir(name)
    envs: list[KernelEnv] = []
    try:
        for python in pythons:
            step(f"venv for {python.build.describe()}")
            venv = root / python.build.stem
            envs.append(
                create_kernel_env(
                    python.executable,
                    venv,
                    packages=options.packages,
                    trusted_plugins=options.trusted_plugins,
                    kernel_name=name,
                    installer_choice=options.installer,
                )
            )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    here = pythons.index(next(p for p in pythons if p.build == selection.best))
    per_node = PerNodeRequest(
        options.request(),
        tuple(
            NodeBuild(p.build, e.python, kernel_env(p), tuple(verification(p).warnings))
            for p, e in zip(pythons, envs, strict=True)
        ),
    )
    metadata = build_metadata(
        pythons[here],
        venvs=[str(env.path) for env in envs],
        packages=list(options.packages),
        store=str(store.root),
        **per_node.to_metadata(),
    )
    facts = verification(pythons[here]).facts
    label = options.display_name or display_name(facts, level="best level per node", kernel_name=name)
    spec = kernel_json(envs[here].python, label, metadata, provisioned=True, env=kernel_env(pythons[here]))
    return _register(location, name, spec, envs[here].site_packages, [root], step)


def list_kernels() -> list[KernelInfo]:
    """Every kernelspec this package made that jupyter_client can see, by name."""
    from jupyter_client.kernelspec import KernelSpecManager

    found = []
    for spec_dir in KernelSpecManager().find_kernel_specs().values():
        info = KernelInfo.from_spec_dir(Path(spec_dir))
        if info is not None:
            found.append(info)
    return sorted(found, key=lambda info: info.name)


def find_kernel(name: str) -> KernelInfo:
    """The kernel called ``name``, or a clear error (also for kernelspecs made by something else)."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = KernelSpecManager().find_kernel_specs().get(name.lower())
    if spec_dir is None:
        raise KernelError(f"no kernel named {name!r} (see: pyvariant kernel list)")
    info = KernelInfo.from_spec_dir(Path(spec_dir))
    if info is None:
        raise KernelError(
            f"kernel {name!r} at {spec_dir} was not made by pyvariant: "
            f"remove it with `jupyter kernelspec remove {name}`"
        )
    return info


def remove_kernel(name: str) -> KernelInfo:
    """Remove the kernelspec, then its venvs (never anything that is not a venv made here)."""
    info = find_kernel(name)
    shutil.rmtree(info.spec_dir)
    for venv in info.venvs:
        if is_kernel_venv(venv):
            shutil.rmtree(venv)
        parent = venv.parent
        if parent.name == info.name and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
    return info
