"""Provision a build into the store: download, verify, extract safely, patch, smoke-test, mark, commit.

- The download streams through httpx with the sha256 computed on the way; a dropped connection
  resumes with ``Range`` (a partial file is named by its checksum, so it also survives a killed run);
  retries back off exponentially; every request has timeouts.
- Extraction never writes outside its folder (:mod:`.unpack`).
- Build paths (``/install``) in the sysconfig data are rewritten to the real prefix, so extensions
  build against the new interpreter.
- The new interpreter must start and report the version and flavour its name promises. A SIGILL
  means the CPU lacks an instruction of the build's x86-64 level: the next lower level is tried.
  Its answer also says how it was built (``verify``): the marker records that verification, with
  every disagreement with the archive's name, and kernels are named from it.
"""

from __future__ import annotations

__all__ = ["FetchPolicy", "ProgressCallback", "download", "provision"]

import contextlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .build import Build
from .errors import (
    ChecksumMismatch,
    DownloadError,
    IllegalInstruction,
    PythonsError,
    SmokeTestFailed,
)
from .select import Selection
from .store import MARKER_NAME, InstalledPython, Store, default_store, guard_disk, interpreter_path
from .unpack import extract
from .verify import Verification, ask

# Called as progress(phase, done, total): phase is "download", "extract" or "smoke-test"; total may be None.
ProgressCallback = Callable[[str, int, "int | None"], None]

MARKER_VERSION = 1
_BUILD_PATH = re.compile(r"(?<![\w.+-])/install(?=[/'\"\s:;,)]|$)", re.MULTILINE)


@dataclass(frozen=True)
class FetchPolicy:
    """How hard to try: attempts per download, backoff (doubled per failure), chunk size, smoke timeout."""

    attempts: int = 5
    backoff_s: float = 0.5
    chunk_size: int = 1 << 16
    smoke_timeout_s: float = 120.0


def provision(
    target: Build | Selection,
    store: Store | None = None,
    *,
    progress: ProgressCallback | None = None,
    smoke_test: bool = True,
    policy: FetchPolicy | None = None,
) -> InstalledPython:
    """Make ``target`` available in ``store`` and return it; already installed builds return at once.

    A :class:`Selection` walks down to lower x86-64 levels when the chosen build dies with SIGILL; a
    single :class:`Build` raises :class:`IllegalInstruction` instead. Builds above the host's level
    (a selection made for other machines) are installed without a smoke test.
    """
    store = store or default_store()
    policy = policy or FetchPolicy()
    if isinstance(target, Build):
        return _provision_one(target, store, progress, smoke_test, policy)
    build = target.best
    failures: list[str] = []
    while True:
        try:
            return _provision_one(build, store, progress, smoke_test and target.runs_here(build), policy)
        except IllegalInstruction as exc:
            failures.append(f"{build.triple}: {exc}")
            lower = target.fallbacks(build)
            if not lower:
                raise IllegalInstruction("; ".join(failures) + "; no lower level is published") from None
            build = lower[0]


def _provision_one(
    build: Build, store: Store, progress: ProgressCallback | None, smoke_test: bool, policy: FetchPolicy
) -> InstalledPython:
    archive = store.download_path(build)
    found = store.find(build)
    if found is None:
        with store.lock(build):
            found = store.find(build)  # another process may have finished it while this one waited
            if found is None:
                return _provision_locked(build, store, archive, progress, smoke_test, policy)
    # Installed: a download left by a run killed between its commit and its clean-up is debris
    # (no one downloads an installed build again).
    with contextlib.suppress(OSError):
        archive.unlink(missing_ok=True)
    return found


def _provision_locked(
    build: Build,
    store: Store,
    archive: Path,
    progress: ProgressCallback | None,
    smoke_test: bool,
    policy: FetchPolicy,
) -> InstalledPython:
    """Download, install and commit ``build`` (under its lock)."""
    download(build.url, archive, build.sha256, progress=progress, policy=policy)
    try:
        with store.staging(build) as staged:
            _install_into(staged, store.path_for(build), build, archive, progress, smoke_test, policy)
            final = store.commit(staged, build)
    finally:
        archive.unlink(missing_ok=True)
    installed = InstalledPython.from_root(final)
    if installed is None:
        raise PythonsError(f"{final} was installed but its marker cannot be read back")
    return installed


def _install_into(
    staged: Path,
    final: Path,
    build: Build,
    archive: Path,
    progress: ProgressCallback | None,
    smoke_test: bool,
    policy: FetchPolicy,
) -> None:
    """Everything between a verified archive and a folder ready to be renamed into the store."""
    with guard_disk(f"extracting {build.filename} into {staged.parent}"):
        extract(archive, staged, full=build.full, compression=build.name.extension, progress=progress)
        patch_build_paths(staged, final)
    executable = interpreter_path(staged, build)
    if not executable.exists():
        raise SmokeTestFailed(f"{build.filename} holds no interpreter at {executable.relative_to(staged)}")
    if smoke_test:
        if progress:
            progress("smoke-test", 0, None)
        checked: dict[str, Any] = {"ran": True, **run_smoke_test(executable, build, policy.smoke_timeout_s)}
    else:
        checked = {"ran": False, "reason": "the build's level is above this CPU's; for other machines"}
    verification = Verification.of(build, checked.get("reported"))
    marker = {
        "marker_version": MARKER_VERSION,
        **build.to_dict(),
        "executable": os.path.relpath(executable.resolve(), staged.resolve()),
        "layout": "full" if build.full else "install_only",
        "provisioned_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "smoke_test": checked,
        "verification": verification.to_dict(),
    }
    with guard_disk(f"writing the marker of {build.stem}"):
        (staged / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


# --- download -----------------------------------------------------------------------------------


def download(
    url: str,
    dest: Path,
    sha256: str,
    *,
    progress: ProgressCallback | None = None,
    policy: FetchPolicy | None = None,
) -> Path:
    """Fetch ``url`` into ``dest`` and check its sha256; a partial ``dest`` is resumed with Range.

    At most the archive cap is written (see :mod:`.._http`); a larger file is refused on the way and
    nothing of it is kept. ``file://`` URLs are read from disk the same way.
    """
    import httpx

    from .._http import Retries, TooLarge, local_url, redact
    from .._http import download as fetch_to
    from ..index.local import LocalFiles
    from ._http import describe_http_error, http_client

    policy = policy or FetchPolicy()
    on_chunk = (lambda done, total: progress("download", done, total)) if progress else None
    with guard_disk(f"downloading {redact(url)} into {dest.parent}"):
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with http_client(mounts={"file://": LocalFiles()}) as client:
                digest = fetch_to(
                    client,
                    local_url(url),
                    dest,
                    kind="archive",
                    algorithm="sha256",
                    retries=Retries(policy.attempts, policy.backoff_s),
                    on_chunk=on_chunk,
                )
        except TooLarge as exc:
            raise DownloadError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise DownloadError(describe_http_error(exc, url)) from None
    if digest != sha256.lower():
        dest.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{redact(url)} has sha256 {digest}, the catalog says {sha256}: the server sent a different "
            "file; nothing was installed"
        )
    return dest


# --- after extraction -----------------------------------------------------------------------------


def patch_build_paths(prefix: Path, final: Path) -> list[Path]:
    """Rewrite the build prefix ``/install`` to ``final`` in sysconfig data, Makefile, .pc and -config."""
    patterns = (
        "lib/python3*/_sysconfigdata_*.py",
        "lib/python3*/_sysconfig_vars_*.json",
        "lib/python3*/config-*/Makefile",
        "lib/pkgconfig/*.pc",
        "bin/python3*-config",
    )
    patched = []
    for pattern in patterns:
        for path in prefix.glob(pattern):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            new = _BUILD_PATH.sub(lambda _: str(final), text)
            if new != text:
                mode = path.stat().st_mode
                path.write_text(new, encoding="utf-8")
                os.chmod(path, mode)
                for cached in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
                    cached.unlink()
                patched.append(path)
    return patched


def run_smoke_test(executable: Path, build: Build, timeout_s: float = 120.0) -> dict[str, Any]:
    """Start the interpreter once; it must report the version and flavour the archive name promises."""
    reported = ask(executable, timeout_s)
    if reported.get("version") != build.version:
        raise SmokeTestFailed(
            f"{build.filename} promises CPython {build.version}, "
            f"its interpreter reports {reported.get('version')}"
        )
    if bool(reported.get("freethreaded")) != build.freethreaded:
        raise SmokeTestFailed(f"{build.filename}: the interpreter's free-threading does not match its name")
    return {"reported": reported}
