"""Safe extraction of an interpreter archive: nothing is ever written outside its folder.

Absolute names, ``..``, device files and links that leave the tree are refused; symbolic links are
created last and checked again once all exist, so a chain of links cannot point out either.
"""

from __future__ import annotations

__all__ = ["extract"]

import contextlib
import os
import posixpath
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from .errors import UnsafeArchive

if TYPE_CHECKING:
    from .fetch import ProgressCallback


class _CountingReader:
    """A file wrapper that reports how many compressed bytes the decompressor has consumed."""

    def __init__(self, raw: IO[bytes], total: int, progress: ProgressCallback | None) -> None:
        self._raw, self._total, self._progress, self._done = raw, total, progress, 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._done += len(data)
        if self._progress:
            self._progress("extract", self._done, self._total)
        return data


@dataclass(frozen=True)
class _Link:
    path: Path
    target: str


def extract(
    archive: Path, dest: Path, *, full: bool, compression: str, progress: ProgressCallback | None = None
) -> None:
    """Unpack the interpreter prefix of a .tar.gz / .tar.zst archive into ``dest``.

    ``full`` archives keep the prefix in ``python/install/`` (plus ``python/PYTHON.json`` and
    licenses; build objects are skipped); install_only archives in ``python/``. ``compression`` is
    the archive name's suffix, ``"tar.gz"`` or ``"tar.zst"`` (a partial download's name has none).
    """
    links: list[_Link] = []
    with archive.open("rb") as raw, _open_tar(archive, raw, compression, progress) as tar:
        for member in tar:
            relative = _member_target(member.name, full)
            if relative is None:
                continue
            _check_member(member, relative)
            path = dest.joinpath(*relative.parts)
            _check_no_link_on_path(dest, relative)
            if member.isdir():
                path.mkdir(mode=0o755, parents=True, exist_ok=True)
            elif member.issym():
                links.append(_Link(path, member.linkname))
            elif member.islnk():
                _hardlink(dest, path, member, full)
            else:
                _write_file(tar, member, path)
    for link in links:
        path = link.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            raise UnsafeArchive(f"{archive.name}: link {path.relative_to(dest)} would replace another entry")
        os.symlink(link.target, path)
    _check_links_stay_inside(dest, links, archive.name)


@contextlib.contextmanager
def _open_tar(
    archive: Path, raw: IO[bytes], compression: str, progress: ProgressCallback | None
) -> Iterator[tarfile.TarFile]:
    """A streaming tar reader over gzip or zstandard."""
    counted: Any = _CountingReader(raw, archive.stat().st_size, progress)
    try:
        if compression == "tar.zst":
            import zstandard

            with (
                zstandard.ZstdDecompressor().stream_reader(counted) as plain,
                tarfile.open(fileobj=plain, mode="r|") as tar,
            ):
                yield tar
        else:
            with tarfile.open(fileobj=counted, mode="r|gz") as tar:
                yield tar
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise UnsafeArchive(f"{archive.name} is not a readable archive: {exc}") from None


def _member_target(name: str, full: bool) -> PurePosixPath | None:
    """Where an archive entry goes under the prefix; None for entries not installed (build objects)."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"archive entry {name!r} has an absolute path")
    parts = [p for p in PurePosixPath(name).parts if p != "."]
    if ".." in parts:
        raise UnsafeArchive(f"archive entry {name!r} climbs out with '..'")
    if not parts or parts[0] != "python":
        raise UnsafeArchive(f"archive entry {name!r} is outside the python/ folder")
    if not full:
        rest = parts[1:]
    elif parts[1:2] == ["install"]:
        rest = parts[2:]
    elif parts[1:] == ["PYTHON.json"] or parts[1:2] == ["licenses"]:
        rest = parts[1:]
    else:
        return None
    return PurePosixPath(*rest) if rest else None


def _check_member(member: tarfile.TarInfo, relative: PurePosixPath) -> None:
    if member.isdev() or not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise UnsafeArchive(f"archive entry {member.name!r} is a device or special file")
    if member.issym():
        target = member.linkname
        if target.startswith("/") or posixpath.normpath(
            posixpath.join(str(relative.parent), target)
        ).startswith(".."):
            raise UnsafeArchive(f"archive link {member.name!r} points outside the interpreter: {target!r}")


def _check_no_link_on_path(dest: Path, relative: PurePosixPath) -> None:
    """Links are created last, so a folder on an entry's path must not be a link entry either."""
    current = dest
    for part in relative.parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise UnsafeArchive(f"archive entry {relative} is written through a link")


def _hardlink(dest: Path, path: Path, member: tarfile.TarInfo, full: bool) -> None:
    source_name = _member_target(member.linkname, full)
    source = dest.joinpath(*source_name.parts) if source_name else None
    if source is None or not source.is_file() or source.is_symlink():
        raise UnsafeArchive(
            f"archive hard link {member.name!r} points at {member.linkname!r}, not a file inside"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.link(source, path)


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise UnsafeArchive(f"archive entry {member.name!r} has no content")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with source, path.open("wb") as out:
        while chunk := source.read(1 << 16):
            out.write(chunk)
    # Owner read/write always; execute bits as archived; never setuid, setgid or world-writable.
    os.chmod(path, (member.mode & 0o755) | 0o600)
    os.utime(path, (member.mtime, member.mtime))  # keeps the archive's .pyc files valid


def _check_links_stay_inside(dest: Path, links: list[_Link], archive_name: str) -> None:
    """With every link in place, each must still resolve inside (a chain of links could leave)."""
    root = dest.resolve()
    for link in links:
        resolved = Path(os.path.realpath(link.path))
        if resolved != root and root not in resolved.parents:
            raise UnsafeArchive(
                f"{archive_name}: link {link.path.relative_to(dest)} resolves outside the interpreter"
            )
