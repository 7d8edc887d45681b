"""A loopback python-build-standalone mirror and small synthetic archives, for offline tests.

The mirror is a real HTTP server on 127.0.0.1 (``http.server`` in a thread). It serves files at the
paths a release mirror has (``/<release>/<archive name>``), a release's ``SHA256SUMS`` and an NDJSON
index (``/index.ndjson``) whose URLs point at the public release prefix, so clients must apply the
mirror setting to reach it. It honours ``Range``, counts requests per path, and can be told to drop
a connection part-way through a file, to serve different bytes, or to stop mid-file until a test
releases it (for killing a client at a known point without sleeping).

Archives are real .tar.gz / .tar.zst files in either layout whose ``python3.X`` is a tiny shell script
reporting its version and prefix as the smoke test expects (or killing itself with SIGILL).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

import pytest

from jupyter_pyvariant.host.facts import HostFacts

PUBLIC_PREFIX = "https://github.com/astral-sh/python-build-standalone/releases/download"
WAIT_LIMIT_S = 60.0

_SCRIPT = """#!/bin/sh
{pre}prefix=$(cd "$(dirname "$0")/.." && pwd -P)
printf '{{"version": "{version}", "prefix": "%s", "freethreaded": {ft}, "debug": {debug}}}\\n' "$prefix"
"""


def host_report(
    arch: str = "x86_64", level: str | None = "x86-64-v3", libc: str = "glibc", os_name: str = "Linux"
) -> dict[str, Any]:
    """The parts of a host report (the JSON contract) that selection reads."""
    return {
        "schema_version": "1.0",
        "scope": "kernel-host",
        "cpu": {
            "arch": arch,
            "isa_level": level or "unknown",
            "isa_level_missing": [],
            "isa_next_level": None,
        },
        "system": {
            "os": os_name,
            "libc": {"family": libc, "version": "2.36" if libc == "glibc" else "1.2.5"},
        },
    }


def host_facts(
    arch: str = "x86_64", level: str | None = "x86-64-v3", libc: str = "glibc", os_name: str = "Linux"
) -> HostFacts:
    """The same host as :func:`host_report`, as the typed facts the selection takes."""
    return HostFacts.from_dict(host_report(arch, level, libc, os_name))


@dataclass(frozen=True)
class Archive:
    """One synthetic archive: its name, bytes and checksum."""

    filename: str
    data: bytes
    release: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def path(self) -> str:
        """The URL path of this archive on a release mirror."""
        return f"/{self.release}/{quote(self.filename)}"


Extra = Callable[[tarfile.TarFile], None]


def make_archive(
    version: str,
    release: str,
    triple: str,
    flavour: str = "install_only_stripped",
    *,
    sigill: bool = False,
    reported_version: str | None = None,
    extra: Sequence[Extra] = (),
) -> Archive:
    """A small archive in the layout its flavour implies, holding a shell-script interpreter."""
    full = flavour.endswith("-full")
    ext = "tar.zst" if full else "tar.gz"
    # Names spell a free-threaded install_only flavour with a dash, as python-build-standalone does.
    spelled = flavour.replace("freethreaded+install_only", "freethreaded-install_only")
    filename = f"cpython-{version}+{release}-{triple}-{spelled}.{ext}"
    minor = ".".join(version.split(".")[:2])
    freethreaded = "freethreaded" in flavour
    prefix = "python/install" if full else "python"
    binary = f"python{minor}t" if freethreaded else f"python{minor}"
    script = _SCRIPT.format(
        pre="kill -ILL $$\n" if sigill else "",
        version=reported_version or version,
        ft="true" if freethreaded else "false",
        debug="true" if "debug" in flavour else "false",
    )
    sysconfig = (
        "build_time_vars = {'prefix': '/install', 'LIBDIR': '/install/lib', "
        "'CONFIG_ARGS': \"'--prefix=/install' '--with-lto'\", 'LDFLAGS': '-L/install/lib', "
        "'TZPATH': '/usr/share/zoneinfo:/usr/lib/zoneinfo:/install-not-a-build-path'}\n"
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if full:
            add_file(
                tar, "python/PYTHON.json", json.dumps({"version": "8", "target_triple": triple}).encode()
            )
        add_dir(tar, prefix)
        add_dir(tar, f"{prefix}/bin")
        add_file(tar, f"{prefix}/bin/{binary}", script.encode(), mode=0o755)
        add_symlink(tar, f"{prefix}/bin/python3", binary)
        add_file(
            tar, f"{prefix}/lib/python{minor}/_sysconfigdata__linux_x86_64-linux-gnu.py", sysconfig.encode()
        )
        add_file(tar, f"{prefix}/lib/python{minor}/os.py", b"# the standard library would be here\n")
        if full:
            add_file(tar, "python/build/lib/libpython.a", b"object code that is not installed")
        for add in extra:
            add(tar)
    data = buffer.getvalue()
    if full:
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    else:
        import gzip

        data = gzip.compress(data, mtime=0)
    return Archive(filename, data, release)


def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(info)


def add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def add_hardlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    tar.addfile(info)


def add_device(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    tar.addfile(info)


@dataclass
class _Block:
    after_bytes: int
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None


class Mirror:
    """The server and what it serves; use as a context manager."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[Request] = []
        self._drops: dict[str, int] = {}
        self._blocks: dict[str, _Block] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Mirror:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and close its socket: later connections are refused."""
        for block in self._blocks.values():
            block.release.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, archives: Sequence[Archive]) -> None:
        """Serve ``archives`` plus each release's SHA256SUMS and an NDJSON index of them all."""
        for archive in archives:
            self.files[archive.path] = archive.data
        releases = sorted({a.release for a in archives}, reverse=True)
        for release in releases:
            lines = [f"{a.sha256}  {a.filename}\n" for a in archives if a.release == release]
            self.files[f"/{release}/SHA256SUMS"] = "".join(lines).encode()
        self.files["/index.ndjson"] = ndjson_index(archives).encode()

    def requests_for(self, path: str, method: str = "GET") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path and r.method == method]

    def drop_once(self, path: str, after_bytes: int) -> None:
        """The next response for ``path`` stops after ``after_bytes`` and the connection closes."""
        self._drops[path] = after_bytes

    def serve_instead(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def block(self, path: str, after_bytes: int) -> tuple[threading.Event, threading.Event]:
        """The next response for ``path`` pauses after ``after_bytes``: (reached, release) events."""
        block = _Block(after_bytes)
        self._blocks[path] = block
        return block.reached, block.release

    # Called from the handler thread.
    def _plan(self, path: str) -> tuple[int | None, _Block | None]:
        with self._lock:
            return self._drops.pop(path, None), self._blocks.pop(path, None)

    def _log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def ndjson_index(archives: Sequence[Archive]) -> str:
    """The release index as uv reads it: one object per CPython version and release, newest first."""
    groups: dict[tuple[str, str], list[Archive]] = {}
    for archive in archives:
        version = archive.filename.split("-")[1]
        groups.setdefault((archive.release, version), []).append(archive)
    lines = []
    for (release, version), members in sorted(groups.items(), reverse=True):
        artifacts = [
            {
                "platform": a.filename.split("-", 2)[2].rsplit("-", 1)[0],
                "variant": a.filename.rsplit("-", 1)[1].split(".tar")[0],
                "url": f"{PUBLIC_PREFIX}{a.path}",
                "archive_format": "tar.zst" if a.filename.endswith("zst") else "tar.gz",
                "sha256": a.sha256,
            }
            for a in members
        ]
        lines.append(json.dumps({"version": version, "date": f"{release}T00:00:00Z", "artifacts": artifacts}))
    return "\n".join(lines) + "\n"


def _handler_for(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``mirror.requests`` instead."""

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            quoted = quote(path)
            mirror._log(Request("GET", quoted, self.headers.get("Range")))
            data = mirror.files.get(quoted)
            if data is None:
                self.send_error(404, "not on this mirror")
                return
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = _range_start(self.headers.get("Range"))
            if start is not None and start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data[start or 0 :]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            self.end_headers()
            drop, block = mirror._plan(quoted)
            if drop is not None:
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.close_connection = True
                return
            if block is not None:
                self.wfile.write(body[: block.after_bytes])
                self.wfile.flush()
                block.reached.set()
                block.release.wait(WAIT_LIMIT_S)
                body = body[block.after_bytes :]
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def _range_start(header: str | None) -> int | None:
    if not header or not header.startswith("bytes=") or not header.endswith("-"):
        return None
    value = header[len("bytes=") : -1]
    return int(value) if value.isdigit() else None


@pytest.fixture
def private_catalog_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback ports are reused between tests: a catalog cached for one must not serve the next (a
    module asks for it with ``pytest.mark.usefixtures("private_catalog_cache")``)."""
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path_factory.mktemp("catalog-cache")))
