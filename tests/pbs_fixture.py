"""Real artifacts for the kernel tests, built offline and cached between runs.

- A relocatable CPython in the python-build-standalone ``install_only`` layout, made from Debian's
  python3.11 packages (``apt-get download``, ``dpkg-deb -x``, ``usr/bin`` → ``python/bin``,
  ``usr/lib`` → ``python/lib``) and packed under a real-looking archive name; and the same from
  Debian's debug interpreter (``python3.11-dbg``, ``Py_DEBUG`` 1), packed under a release build's
  name, as a catalog that mislabels a build would publish it.
- A loopback mirror (``pbs_mirror.Mirror``) serving that archive and a loopback package index
  (``variant_wheels.IndexServer``) for ``--with`` packages, with the environment that keeps a
  test's kernels, interpreter store and package installs inside its temporary folder.
- A wheelhouse holding ipykernel and jupyter_pyvariant's kernel-side requirements, repacked as
  real wheels from the distributions installed in the test environment, so that uv or pip can
  install them into the kernel venv with ``--no-index --find-links`` and no network.

Both raise :class:`FixtureUnavailable` with the reason when they cannot be built here.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pbs_mirror import Archive, Mirror
from variant_wheels import IndexServer, build_plain

STDLIB_PACKAGES = ("libpython3.11-minimal", "libpython3.11-stdlib")
DEBIAN_PACKAGES = ("python3.11-minimal", *STDLIB_PACKAGES)
DEBUG_PACKAGES = ("python3.11-dbg", "libpython3.11-dbg", *STDLIB_PACKAGES)
RELEASE = "20260101"
EXTRA_PACKAGE = "kernelextra"
"""A plain wheel on the world's loopback package index, for ``kernel install --with``."""
_DEB_ARCH_TO_TRIPLE = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}


class FixtureUnavailable(Exception):
    """The artifact cannot be built on this machine; the message says why (used as a skip reason)."""


def _check_output(argv: list[str], cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FixtureUnavailable(f"{argv[0]} cannot run here: {exc}") from None
    if result.returncode != 0:
        raise FixtureUnavailable(f"{' '.join(argv)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def _download_debs(cache: Path, packages: Iterable[str]) -> list[Path]:
    """The packages' .deb files, downloaded once into ``cache/debs`` (each file appears whole)."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [name for name in packages if not any(debs.glob(f"{name}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise FixtureUnavailable("needs apt-get and dpkg-deb (a Debian-based system) to fetch python3.11")
        with tempfile.TemporaryDirectory(dir=cache, prefix="debs-") as partial:
            _check_output(["apt-get", "download", *missing], cwd=Path(partial))
            for deb in Path(partial).glob("*.deb"):
                deb.rename(debs / deb.name)
    return [deb for name in packages for deb in sorted(debs.glob(f"{name}_*.deb"))]


def debian_python_archive(cache: Path) -> Path:
    """The python-build-standalone-shaped archive of Debian's python3.11 (built once, then cached)."""
    return _repacked(cache, cache, DEBIAN_PACKAGES, "python3.11")


def debian_debug_python_archive(cache: Path) -> Path:
    """Debian's debug python3.11d under a release build's archive name (built once, then cached in
    its own folder: ``debian_python_archive`` takes the first archive of ``cache``)."""
    return _repacked(cache, cache / "debug", DEBUG_PACKAGES, "python3.11d")


def _repacked(cache: Path, folder: Path, packages: Iterable[str], binary: str) -> Path:
    """Unpack ``packages``, lay them out as an install_only archive around ``binary``, pack it."""
    folder.mkdir(parents=True, exist_ok=True)
    done = sorted(folder.glob("cpython-*.tar.gz"))
    if done:
        return done[0]
    arch = _check_output(["dpkg", "--print-architecture"]).strip()
    triple = _DEB_ARCH_TO_TRIPLE.get(arch)
    if triple is None:
        raise FixtureUnavailable(f"no python-build-standalone triple for Debian architecture {arch}")
    debs = _download_debs(cache, packages)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        tree = Path(work, "tree")
        for deb in debs:
            _check_output(["dpkg-deb", "-x", str(deb), str(tree)])
        python = Path(work, "python")
        python.mkdir()
        (tree / "usr" / "bin").rename(python / "bin")
        (tree / "usr" / "lib").rename(python / "lib")
        _drop_absolute_links(python)  # Debian's sitecustomize.py points into /etc: not relocatable
        _drop_build_only_files(python)
        for alias in {"python3.11", "python3", "python"} - {binary}:
            (python / "bin" / alias).unlink(missing_ok=True)
            (python / "bin" / alias).symlink_to(binary)
        query = "import platform; print(platform.python_version())"
        version = _check_output([str(python / "bin" / "python3"), "-c", query])
        name = f"cpython-{version.strip()}+{RELEASE}-{triple}-install_only_stripped.tar.gz"
        partial = Path(work, name)
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(python, arcname="python")
        final = folder / name
        partial.rename(final)
    return final


def _drop_build_only_files(tree: Path) -> None:
    """Debug symbols and static libraries (most of a -dbg package) play no part in running: dropped,
    as install_only_stripped archives drop them, so the archive stays small."""
    shutil.rmtree(tree / "lib" / "debug", ignore_errors=True)
    for unused in [*tree.glob("lib/python3*/config-*/*.a"), *tree.glob("lib/*-linux-*/libpython3*.so*")]:
        unused.unlink()  # the interpreters are linked statically; these are for embedding
    if shutil.which("strip"):
        binaries = [p for p in (tree / "bin").iterdir() if p.is_file() and not p.is_symlink()]
        binaries += tree.glob("lib/python3*/lib-dynload/*.so")
        subprocess.run(["strip", "--strip-debug", *map(str, binaries)], capture_output=True, check=False)


def _drop_absolute_links(tree: Path) -> None:
    for path in tree.rglob("*"):
        if path.is_symlink() and Path(os.readlink(path)).is_absolute():
            path.unlink()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- wheelhouse -------------------------------------------------------------------------------------


def _closure(requirements: Iterable[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions that satisfy ``requirements`` and everything they require."""
    environment = {**default_environment(), "extra": ""}
    pending = [Requirement(line) for line in requirements]
    seen: dict[str, importlib.metadata.Distribution] = {}
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        key = canonicalize_name(requirement.name)
        if key in seen:
            continue
        try:
            dist = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            raise FixtureUnavailable(f"{requirement.name} is not installed in the test environment") from None
        seen[key] = dist
        pending.extend(Requirement(line) for line in dist.requires or [])
    return list(seen.values())


def _wheel_tag(dist: importlib.metadata.Distribution) -> str:
    lines = (dist.read_text("WHEEL") or "").splitlines()
    tags = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")]
    if not tags:
        raise FixtureUnavailable(f"{dist.metadata['Name']} was not installed from a wheel")
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    return "-".join(".".join(part) for part in parts)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


_INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def repack_wheel(dist: importlib.metadata.Distribution, destination: Path) -> Path:
    """A real wheel rebuilt from an installed distribution's files (scripts are regenerated by
    the installer from entry points; files installed outside site-packages are left out)."""
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    filename = f"{name}-{dist.version}-{_wheel_tag(dist)}.whl"
    target = destination / filename
    records: list[str] = []
    dist_info = ""
    partial = destination / f".{filename}.partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in dist.files or []:
            arcname = file.as_posix()
            parts = file.parts
            if arcname.startswith("..") or "__pycache__" in parts:
                continue
            if parts[0].endswith(".dist-info"):
                dist_info = parts[0]
                if parts[-1] in _INSTALLER_FILES:
                    continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            wheel.writestr(arcname, data)
            records.append(f"{arcname},{_record_hash(data)},{len(data)}")
        records.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    partial.rename(target)
    return target


def wheelhouse(cache: Path, requirements: Iterable[str]) -> Path:
    """A find-links folder with wheels for ``requirements`` and their dependencies (cached)."""
    folder = cache / "wheelhouse"
    folder.mkdir(parents=True, exist_ok=True)
    present = {"-".join(path.name.split("-")[:2]).lower() for path in folder.glob("*.whl")}
    for dist in _closure(requirements):
        key = f"{re.sub(r'[-_.]+', '_', dist.metadata['Name'])}-{dist.version}".lower()
        if key not in present:
            repack_wheel(dist, folder)
    return folder


def offline_install_env(folder: Path) -> dict[str, str]:
    """Environment variables that make uv and pip install only from ``folder``."""
    return {
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(folder),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(folder),
    }


# -- an offline world for kernel tests -------------------------------------------------------------


def level_archives(archive: Path, levels: Iterable[str]) -> list[Archive]:
    """The real interpreter published under the names of other x86-64 levels (``v2``...): the same
    bytes, as a mirror holding a build per level would serve them to a per-node store."""
    data = archive.read_bytes()
    generic = "x86_64-unknown-linux-gnu"
    archives = []
    for level in levels:
        triple = generic if level == "v1" else f"x86_64_{level}-unknown-linux-gnu"
        archives.append(Archive(archive.name.replace(generic, triple), data, RELEASE))
    return archives


@dataclass(frozen=True)
class World:
    """A loopback mirror serving the real interpreter, and the folders and variables that confine
    a test's kernels, store and package installs to its own temporary directory."""

    mirror: Mirror
    archive: Path
    root: Path
    env: dict[str, str]

    @property
    def catalog(self) -> str:
        return f"{self.mirror.url}/index.ndjson"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["JUPYTER_DATA_DIR"])

    @property
    def store(self) -> Path:
        return Path(self.env["PYVARIANT_PYTHON_STORE"])

    def cli(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``pyvariant`` command line in this world (``env``: variables added)."""
        argv = [sys.executable, "-m", "jupyter_pyvariant", *args]
        result = subprocess.run(
            argv, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=600, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{argv} failed ({result.returncode}):\n{result.stderr}")
        return result


@contextmanager
def offline_world(cache: Path, root: Path, levels: Iterable[str] = ("v1",)) -> Iterator[World]:
    """Build (or reuse) the artifacts, start the mirror, and point this process's environment at
    the world for the duration; raises FixtureUnavailable when the artifacts cannot be built."""
    from jupyter_pyvariant.kernels import kernel_facts
    from jupyter_pyvariant.kernels.venv import extension_requirements

    archive = debian_python_archive(cache)
    wheels = wheelhouse(cache, [*kernel_facts()["base_requirements"], *extension_requirements()])
    (root / "index").mkdir()
    build_plain(root / "index", EXTRA_PACKAGE, "1.0")
    index = IndexServer(root / "index").start()
    try:
        with Mirror() as mirror, pytest.MonkeyPatch.context() as patch:
            mirror.publish(level_archives(archive, levels))
            env = {
                **offline_install_env(wheels),
                "UV_INDEX_URL": index.url,  # what ``--with`` packages are planned from
                "JUPYTER_DATA_DIR": str(root / "data"),
                "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
                "PYVARIANT_PYTHON_STORE": str(root / "store"),
                "PYVARIANT_CACHE_DIR": str(root / "cache"),
                "PYVARIANT_PYTHON_MIRROR": mirror.url,
            }
            for key, value in env.items():
                patch.setenv(key, value)
            yield World(mirror, archive, root, dict(os.environ))
    finally:
        index.close()


def artifact_cache(request: pytest.FixtureRequest) -> Path:
    """Where the built artifacts are kept between runs: pytest's cache folder, also when pytest runs
    with its cache plugin off (``-p no:cacheprovider``), so the slow builds are made once."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("pyvariant-kernels"))
    return request.config.rootpath / ".pytest_cache" / "d" / "pyvariant-kernels"


@contextmanager
def world_or_skip(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, levels: Iterable[str] = ("v1",)
) -> Iterator[World]:
    """:func:`offline_world` for a fixture, cached in pytest's cache; skips, with the reason, where the
    interpreter cannot be built here."""
    if sys.platform != "linux":
        pytest.skip("the real interpreter fixture is Debian's CPython")
    try:
        with offline_world(artifact_cache(request), tmp_path_factory.mktemp("world"), levels) as world:
            yield world
    except FixtureUnavailable as exc:
        pytest.skip(f"real interpreter fixture unavailable: {exc}")


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The module's offline world (:func:`world_or_skip`). A module sets its interpreter levels and the
    kernels installed in it with ``pytestmark = pytest.mark.world(levels=(...), kernels=(...))``."""
    marker = request.node.get_closest_marker("world")
    wanted = marker.kwargs if marker is not None else {}
    with world_or_skip(request, tmp_path_factory, wanted.get("levels", ("v1",))) as world:
        if wanted.get("kernels"):
            from jupyter_pyvariant.kernels.manage import KernelOptions, install_kernel

            for name in wanted["kernels"]:
                install_kernel(KernelOptions(version="3.11", catalog=world.catalog, name=name))
        yield world
