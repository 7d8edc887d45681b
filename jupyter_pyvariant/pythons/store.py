"""The managed store of provisioned interpreters: one folder per build, complete or absent.

Layout of a store root::

    <root>/<archive stem>/            one interpreter: bin/, lib/, PYVARIANT-BUILD.json (its prefix)
    <root>/.locks/<archive stem>.lock fcntl lock held while that build is provisioned
    <root>/.downloads/<sha256>.part   a download in progress (resumable with Range)
    <root>/.tmp/<archive stem>-*/      extraction in progress; renamed into place when finished

A build appears under its final name only by one atomic ``rename`` of a finished, smoke-tested
folder, so a run killed at any point leaves no half-extracted interpreter where readers look. The
first root is written; further roots (``$PYVARIANT_PYTHON_STORE`` entries after the first, or the
shared Jupyter data folders) are searched read-only, so an administrator can fill one store for
every user of a machine or cluster.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._faults import checkpoint
from .build import Build
from .errors import StoreError

MARKER_NAME = "PYVARIANT-BUILD.json"
STORE_ENV = "PYVARIANT_PYTHON_STORE"
_HIDDEN = (".locks", ".downloads", ".tmp", ".trash")


@dataclass(frozen=True)
class InstalledPython:
    """A provisioned interpreter: its prefix, the real path of its binary, and its marker."""

    root: Path
    executable: Path
    marker: Mapping[str, Any] = field(compare=False)
    build: Build
    read_only: bool = False

    @classmethod
    def from_root(cls, root: Path, *, read_only: bool = False) -> InstalledPython | None:
        """The interpreter in ``root``; None when ``root`` holds no readable marker (not ours)."""
        try:
            marker = json.loads((root / MARKER_NAME).read_text(encoding="utf-8"))
            build = Build.from_dict(marker)
            executable = (root / str(marker["executable"])).resolve()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return cls(root, executable, marker, build, read_only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "executable": str(self.executable),
            "read_only": self.read_only,
            "label": self.build.describe(),
            "marker": dict(self.marker),
        }


def interpreter_path(root: Path, build: Build) -> Path:
    """Where the interpreter binary of ``build`` lives under its prefix ``root`` (before resolving links)."""
    if build.triple.endswith("-windows-msvc"):
        return root / "python.exe"
    names = (
        [f"python{build.minor}t", f"python{build.minor}"] if build.freethreaded else [f"python{build.minor}"]
    )
    names += ["python3"]
    bin_dir = root / "bin"
    return next((bin_dir / n for n in names if (bin_dir / n).exists()), bin_dir / names[0])


class Store:
    """A writable store root plus read-only shared roots searched after it."""

    def __init__(self, root: Path | str, *, shared: Sequence[Path | str] = ()) -> None:
        self.root = Path(root).expanduser()
        own = self.root.resolve()
        self.shared = tuple(p for p in (Path(s).expanduser() for s in shared) if p.resolve() != own)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, shared={[str(p) for p in self.shared]!r})"

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.root, *self.shared)

    def installed(self) -> list[InstalledPython]:
        """Every complete interpreter in every root; the writable root wins a name found twice."""
        found: dict[str, InstalledPython] = {}
        for index, root in enumerate(self.roots):
            with contextlib.suppress(OSError):
                for entry in sorted(root.iterdir()):
                    if entry.name.startswith(".") or entry.name in found or not entry.is_dir():
                        continue
                    python = InstalledPython.from_root(entry, read_only=index > 0)
                    if python is not None:
                        found[entry.name] = python
        return list(found.values())

    def find(self, build: Build) -> InstalledPython | None:
        """The installed copy of ``build`` (same archive and checksum), in any root."""
        for index, root in enumerate(self.roots):
            python = InstalledPython.from_root(root / build.stem, read_only=index > 0)
            if python is not None and python.build.sha256 == build.sha256:
                return python
        return None

    def path_for(self, build: Build) -> Path:
        return self.root / build.stem

    def download_path(self, build: Build) -> Path:
        """Named by checksum, so a partial file is only ever resumed for the same bytes."""
        return self.root / ".downloads" / f"{build.sha256}.part"

    @contextlib.contextmanager
    def lock(self, build: Build) -> Iterator[None]:
        """Hold the build's lock: one provisioner per build per store, the others wait and reuse."""
        import fcntl

        with self._flock(f"{build.stem}.lock", fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Hold the store shared: ``gc`` (which takes it exclusively) waits for no one and refuses
        to run while an install is between its commit and the kernelspec that will keep it."""
        import fcntl

        with self._flock("store.lock", fcntl.LOCK_SH):
            yield

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the store alone (``gc``): refused at once while an install holds it shared."""
        import fcntl

        try:
            with self._flock("store.lock", fcntl.LOCK_EX | fcntl.LOCK_NB):
                yield
        except BlockingIOError:
            raise StoreError(
                f"the python store {self.root} is in use by a kernel install: retry when it ends"
            ) from None

    @contextlib.contextmanager
    def _flock(self, name: str, mode: int) -> Iterator[None]:
        """Hold ``.locks/name`` in ``mode`` (``fcntl`` flags; LOCK_NB raises BlockingIOError)."""
        import fcntl

        path = self.root / ".locks" / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a")
        except OSError as exc:
            raise StoreError(f"cannot write to the python store {self.root}: {exc.strerror or exc}") from None
        with handle:
            fcntl.flock(handle, mode)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def staging(self, build: Build) -> Iterator[Path]:
        """A fresh folder to build ``build`` in (call under :meth:`lock`); removed unless committed.

        Debris of a killed earlier run (staging folders of the same build) is cleared first: under
        the lock no one else can be using it.
        """
        tmp = self.root / ".tmp"
        with guard_disk(f"preparing {build.stem} in {self.root}"):
            tmp.mkdir(parents=True, exist_ok=True)
            for stale in tmp.glob(f"{build.stem}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            staged = tmp / f"{build.stem}-{uuid.uuid4().hex[:8]}"
            staged.mkdir()
        try:
            yield staged
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def commit(self, staged: Path, build: Build) -> Path:
        """Move a finished folder into place in one rename (call under :meth:`lock`).

        A folder already at that name without a readable marker is debris (never an interpreter a
        reader could use) and is cleared first; a complete interpreter there is never replaced.
        """
        final = self.path_for(build)
        present = InstalledPython.from_root(final)
        if present is not None:
            raise StoreError(
                f"{final} already holds {present.build.filename} with sha256 {present.build.sha256}, "
                f"not the catalog's {build.sha256}: remove it first (pyvariant python remove {final.name})"
            )
        try:
            if final.exists() or final.is_symlink():
                self._discard(final)
            os.rename(staged, final)
        except OSError as exc:
            raise StoreError(f"cannot move {build.stem} into the python store {self.root}: {exc}") from None
        checkpoint("store-committed")
        self.empty_trash()
        return final

    def remove(self, python: InstalledPython) -> None:
        """Delete an interpreter: renamed away first, so no reader sees it half-deleted."""
        if python.read_only or python.root.parent.resolve() != self.root.resolve():
            raise StoreError(f"{python.root} is in a shared store this user does not manage; not removed")
        try:
            self._discard(python.root)
        except OSError as exc:
            raise StoreError(f"cannot remove {python.root}: {exc.strerror or exc}") from None

    def _discard(self, path: Path) -> None:
        """Rename ``path`` into the trash in one step, then empty the trash (this run's and any
        left by a run killed while deleting)."""
        trash = self.root / ".trash" / f"{path.name}-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, trash)
        checkpoint("store-trashed")
        self.empty_trash()

    def empty_trash(self) -> None:
        """Delete what the trash holds: nothing there is an interpreter anyone can still reach.

        The folder itself stays, so a concurrent :meth:`_discard` can always rename into it.
        """
        with contextlib.suppress(OSError):
            for entry in (self.root / ".trash").iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def gc(
        self, keep: Iterable[Path] | Callable[[], Iterable[Path]], *, dry_run: bool = False
    ) -> list[InstalledPython]:
        """Remove the writable root's interpreters whose prefix is not in ``keep``; return them.

        Runs under the store's exclusive lock (a :class:`StoreError` while an install holds it); a
        callable ``keep`` is asked under that lock, so a kernelspec written just before counts.
        """
        with self._exclusive():
            kept = {Path(p).resolve() for p in (keep() if callable(keep) else keep)}
            unused = [p for p in self.installed() if not p.read_only and p.root.resolve() not in kept]
            if not dry_run:
                for python in unused:
                    self.remove(python)
                self.empty_trash()
        return unused


def default_store() -> Store:
    """``$PYVARIANT_PYTHON_STORE`` (``os.pathsep``-separated, first one written), else the Jupyter
    data folder's ``pyvariant/pythons``, with the other Jupyter data folders as shared roots."""
    configured = [p for p in os.environ.get(STORE_ENV, "").split(os.pathsep) if p]
    if configured:
        return Store(configured[0], shared=configured[1:])
    from jupyter_core.paths import jupyter_data_dir, jupyter_path

    own = Path(jupyter_data_dir()) / "pyvariant" / "pythons"
    return Store(own, shared=[Path(p) for p in jupyter_path("pyvariant", "pythons")])


@contextlib.contextmanager
def guard_disk(doing: str) -> Iterator[None]:
    """Turn a full disk or quota into a :class:`StoreError` that says what was being written."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(
                f"no space left on the device while {doing}: free some space and retry"
            ) from None
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise StoreError(f"permission denied while {doing} ({exc.filename or ''})") from None
        raise


def kernelspec_references(kernel_dirs: Iterable[Path] | None = None) -> set[Path]:
    """Interpreter prefixes that kernelspecs use: directly, or as the base of their venv.

    ``kernel_dirs`` defaults to every folder jupyter_client searches. The per-node interpreters of
    ``metadata.pyvariant.variants`` count too, and a ``metadata.pyvariant.store`` (a kernel whose
    provisioner picks from a store at each start) keeps that whole store.
    """
    specs: list[dict[str, Any]] = []
    if kernel_dirs is None:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = [s["spec"] for s in KernelSpecManager().get_all_specs().values()]
    else:
        for folder in kernel_dirs:
            for spec_file in Path(folder).glob("*/kernel.json"):
                with contextlib.suppress(OSError, ValueError):
                    specs.append(json.loads(spec_file.read_text(encoding="utf-8")))
    roots: set[Path] = set()
    for spec in specs:
        facts = (spec.get("metadata") or {}).get("pyvariant") or {}
        variants = [str(v.get("python", "")) for v in facts.get("variants", ())]
        pythons = [*(spec.get("argv") or [])[:1], *variants]
        for python in filter(None, pythons):
            roots.update(_prefixes_behind(Path(python)))
        if facts.get("store"):
            roots.update(p.root.resolve() for p in Store(facts["store"]).installed())
    return roots


def _prefixes_behind(executable: Path) -> set[Path]:
    """The store prefixes an interpreter path leads to: its venv's base (pyvenv.cfg ``home``) or itself."""
    prefixes: set[Path] = set()
    cfg = executable.parent.parent / "pyvenv.cfg"
    with contextlib.suppress(OSError):
        for line in cfg.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                prefixes.add(Path(value.strip()).resolve().parent)
    with contextlib.suppress(OSError):
        real = executable.resolve()
        prefixes.add(real.parent.parent)
        if sys.platform == "win32":
            prefixes.add(real.parent)
    return {p for p in prefixes if (p / MARKER_NAME).is_file()}


__all__ = [
    "MARKER_NAME",
    "InstalledPython",
    "Store",
    "default_store",
    "guard_disk",
    "interpreter_path",
    "kernelspec_references",
]
