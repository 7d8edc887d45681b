"""The loopback view: base filenames, upstream bytes and hashes, and no corrupt file handed over whole."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from variant_wheels import IndexServer, serve, variant_metadata, write_wheel

from jupyter_pyvariant.index.client import SimpleClient
from jupyter_pyvariant.index.pages import JSON_TYPE
from jupyter_pyvariant.index.settings import IndexSettings
from jupyter_pyvariant.index.view import IndexView, PresentedFile, PresentedProject

VARIANT = "demo-1.0-py3-none-any-x86_64_v3.whl"
BASE = "demo-1.0-py3-none-any.whl"


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "files"
    root.mkdir()
    body = {"demo/__init__.py": b"", "demo/blob.bin": random.Random(1).randbytes(300_000)}  # many chunks
    meta = variant_metadata({"x86_64_v3": {"x86_64": {"level": ["v3"]}}})
    write_wheel(root, "demo", "1.0", "py3-none-any", body, label="x86_64_v3", variant_json=meta)
    yield from serve(root)


def _view(upstream: IndexServer, tmp_path: Path, corrupt: bool = False) -> tuple[IndexView, bytes]:
    client = SimpleClient(IndexSettings((upstream.url,), ("test",)), cache_dir=tmp_path / "cache")
    page = client.project("demo")
    assert page is not None
    link = next(f for f in page.files if f.filename == VARIANT)
    if corrupt:
        link = replace(link, hashes=(("sha256", "0" * 64),))

    def selector(name: str) -> PresentedProject | None:
        return PresentedProject("demo", (PresentedFile(BASE, link),)) if name == "demo" else None

    return IndexView(client, selector), (upstream.root / VARIANT).read_bytes()


def test_pages_show_the_base_filename_with_the_upstream_hash(upstream: IndexServer, tmp_path: Path) -> None:
    view, data = _view(upstream, tmp_path)
    with view, httpx.Client(auth=view.auth) as http:
        page = http.get(f"{view.url}/demo/", headers={"Accept": JSON_TYPE}).json()
        html = http.get(f"{view.url}/demo/", headers={"Accept": "text/html"}).text
        missing = http.get(f"{view.url}/other/")
        (entry,) = page["files"]
        assert entry["filename"] == BASE
        assert entry["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        assert f">{BASE}</a>" in html and f"#sha256={hashlib.sha256(data).hexdigest()}" in html
        assert missing.status_code == 404
        served = http.get(f"{view.url}/demo/{entry['url']}").content
    assert served == data


def test_a_file_that_does_not_match_its_hash_never_reaches_the_installer(
    upstream: IndexServer, tmp_path: Path
) -> None:
    view, _ = _view(upstream, tmp_path, corrupt=True)
    with view, httpx.Client(auth=view.auth) as http:
        entry = http.get(f"{view.url}/demo/", headers={"Accept": JSON_TYPE}).json()["files"][0]
        response = http.get(f"{view.url}/demo/{entry['url']}")
    assert response.status_code == 502
    (problem,) = view.problems
    assert problem.startswith(f"demo: {VARIANT} from {upstream.url.removesuffix('/simple')}/files/{VARIANT}")
    assert "promised 0000" in problem and "not handed to the installer" in problem
    assert response.text == problem


def _spool_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("pyvariant-spool-*"))


@pytest.fixture
def app_and_lib(tmp_path: Path) -> Iterator[IndexServer]:
    """``app`` requires ``lib``; both plain wheels."""
    root = tmp_path / "files"
    root.mkdir()
    write_wheel(root, "app", "1.0", "py3-none-any", {"app/__init__.py": b""}, requires=["lib>=1"])
    write_wheel(root, "lib", "1.0", "py3-none-any", {"lib/__init__.py": b"", "lib/blob": b"x" * 100_000})
    yield from serve(root)


def _selector_of(
    client: SimpleClient, names: tuple[str, ...], selected: dict[str, threading.Event], **changes: Any
) -> Callable[[str], PresentedProject | None]:
    """Every file of these projects under its own name, all likely; ``selected`` fires per project.

    ``changes`` replace fields of every wheel link (as another index page would give them)."""
    pages = {name: client.project(name) for name in names}

    def selector(name: str) -> PresentedProject | None:
        page = pages.get(name)
        if page is None:
            return None
        selected.setdefault(name, threading.Event()).set()
        files = tuple(PresentedFile(link.filename, replace(link, **changes)) for link in page.files)
        return PresentedProject(name, files, likely=files)

    return selector


def test_read_ahead_fetches_the_likely_file_and_its_dependencies_before_anyone_asks(
    app_and_lib: IndexServer, tmp_path: Path
) -> None:
    """Selecting a project starts its file's download; the file's Requires-Dist are selected and
    fetched in turn; the installer's request is then served from the spool, which goes away.

    Files served from the view (a renamed variant, an index with credentials) are spooled so; here
    every file is, whatever its name."""
    client = SimpleClient(IndexSettings((app_and_lib.url,), ("test",)), cache_dir=tmp_path / "cache")
    selected = {"lib": threading.Event()}
    selector = _selector_of(client, ("app", "lib"), selected)
    lib_selected = selected["lib"]

    before = _spool_folders()
    view = IndexView(client, selector, read_ahead=True, direct_links=False)
    with view, httpx.Client(auth=view.auth) as http:
        spool = _spool_folders() - before
        assert len(spool) == 1
        view.project("app")
        assert lib_selected.wait(10), "app's wheel requires lib: the view should select it unasked"
        entry = http.get(f"{view.url}/lib/", headers={"Accept": JSON_TYPE}).json()["files"][0]
        served = http.get(f"{view.url}/lib/{entry['url']}")
        downloads = sorted(path for _, path, _ in app_and_lib.requests if path.startswith("/files/"))
    client.close()
    assert served.content == (app_and_lib.root / "lib-1.0-py3-none-any.whl").read_bytes()
    assert served.headers["Content-Length"] == str(len(served.content))
    # both files were read ahead, and only once: the installer's request came from the spool
    assert downloads == ["/files/app-1.0-py3-none-any.whl", "/files/lib-1.0-py3-none-any.whl"]
    assert not any(folder.exists() for folder in spool)


def test_files_under_their_upstream_name_are_linked_upstream_unless_the_index_needs_credentials(
    app_and_lib: IndexServer, tmp_path: Path
) -> None:
    """The installer downloads a file it may take as it is straight from upstream (and checks the
    page's hash itself); a renamed variant, or a file behind credentials, still comes from the view."""
    upstream = f"{app_and_lib.url.removesuffix('/simple')}/files/lib-1.0-py3-none-any.whl"
    client = SimpleClient(IndexSettings((app_and_lib.url,), ("test",)), cache_dir=tmp_path / "cache")
    logged_in = app_and_lib.url.replace("http://", "http://user:secret@")
    with_credentials = SimpleClient(IndexSettings((logged_in,), ("test",)), cache_dir=tmp_path / "cache")
    page = client.project("lib")
    assert page is not None
    (link,) = page.files

    def presenting(filename: str) -> Callable[[str], PresentedProject | None]:
        return lambda name: PresentedProject("lib", (PresentedFile(filename, link),))

    direct = IndexView(client, presenting(link.filename))
    renamed = IndexView(client, presenting("lib-1.0-py3-none-any-renamed.whl"))
    behind = IndexView(with_credentials, presenting(link.filename))
    with direct, renamed, behind, httpx.Client() as http:
        urls = {
            name: http.get(f"{view.url}/lib/", headers={"Accept": JSON_TYPE}, auth=view.auth).json()["files"][
                0
            ]["url"]
            for name, view in (("direct", direct), ("renamed", renamed), ("behind", behind))
        }
        html = http.get(f"{direct.url}/lib/", headers={"Accept": "text/html"}, auth=direct.auth).text
        served = http.get(urls["direct"]).content
    client.close()
    with_credentials.close()
    assert urls["direct"] == upstream and f'href="{upstream}#sha256=' in html
    assert served == (app_and_lib.root / link.filename).read_bytes()
    assert urls["renamed"].startswith("../../files/") and urls["behind"].startswith("../../files/")


def test_read_ahead_of_a_directly_linked_wheel_reads_only_its_published_metadata(
    app_and_lib: IndexServer, tmp_path: Path
) -> None:
    """The installer fetches a directly linked wheel itself: the view reads its PEP 658 metadata
    (hash-checked) to select the dependencies early, and never downloads the wheel."""
    import zipfile

    wheel = app_and_lib.root / "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("app-1.0.dist-info/METADATA")
    (app_and_lib.root / f"{wheel.name}.metadata").write_bytes(metadata)
    client = SimpleClient(IndexSettings((app_and_lib.url,), ("test",)), cache_dir=tmp_path / "cache")
    selected = {"lib": threading.Event()}
    digest = hashlib.sha256(metadata).hexdigest()
    selector = _selector_of(client, ("app", "lib"), selected, metadata_hashes=(("sha256", digest),))
    with IndexView(client, selector, read_ahead=True) as view:
        view.project("app")
        assert selected["lib"].wait(10), "app's metadata requires lib: the view should select it unasked"
    client.close()
    downloads = [path for _, path, _ in app_and_lib.requests if path.startswith("/files/")]
    assert downloads == [f"/files/{wheel.name}.metadata"]


def _request_threads_done() -> bool:
    """Every ``http.server`` request thread of this process has ended (the view's and upstream's)."""
    waited = threading.Event()
    for _ in range(3000):
        if not any("process_request_thread" in t.name for t in threading.enumerate()):
            return True
        waited.wait(0.01)
    return False


def _hang_up(sock: socket.socket) -> None:
    """Close with a reset, as a killed installer's connection ends."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


META = variant_metadata({"x86_64_v3": {"x86_64": {"level": ["v3"]}}})


def test_clients_that_hang_up_print_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "files"
    root.mkdir()
    big = {"demo/__init__.py": b"", "demo/blob.bin": random.Random(2).randbytes(8 << 20)}  # > socket buffers
    write_wheel(root, "demo", "1.0", "py3-none-any", big, label="x86_64_v3", variant_json=META)
    for upstream in serve(root):
        view, _ = _view(upstream, tmp_path)
        with view:
            with httpx.Client(auth=view.auth) as http:
                entry = http.get(f"{view.url}/demo/", headers={"Accept": JSON_TYPE}).json()["files"][0]
            credentials = base64.b64encode(":".join(view.auth).encode()).decode()
            port = int(view.url.split(":")[2].split("/")[0])
            mid_request = socket.create_connection(("127.0.0.1", port))
            mid_request.sendall(b"GET /simple/demo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            _hang_up(mid_request)
            mid_response = socket.socket()
            mid_response.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            mid_response.connect(("127.0.0.1", port))
            path = urljoin("/simple/demo/", entry["url"])
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\n\r\n"
            mid_response.sendall(request.encode())
            assert mid_response.recv(100).startswith(b"HTTP/1.1 200"), "the file began to arrive"
            _hang_up(mid_response)
        view.client.close()
        assert _request_threads_done()
    assert capfd.readouterr().err == ""
    assert view.problems == []


def test_the_spool_folder_goes_when_the_run_is_interrupted(upstream: IndexServer, tmp_path: Path) -> None:
    ours = f"pyvariant-spool-{os.getpid()}-*"  # other processes may run installs meanwhile
    view, _ = _view(upstream, tmp_path)
    with pytest.raises(KeyboardInterrupt), view:
        assert len(list(Path(tempfile.gettempdir()).glob(ours))) == 1
        raise KeyboardInterrupt
    assert list(Path(tempfile.gettempdir()).glob(ours)) == []


def test_spool_folders_of_killed_processes_are_removed_by_the_next_run(
    upstream: IndexServer, tmp_path: Path
) -> None:
    pid = [sys.executable, "-c", "import os; print(os.getpid())"]
    child = subprocess.run(pid, capture_output=True, text=True, check=True)
    orphan = Path(tempfile.gettempdir()) / f"pyvariant-spool-{child.stdout.strip()}-left"
    (orphan / "partial").mkdir(parents=True)
    view, _ = _view(upstream, tmp_path)
    with view:
        assert not orphan.exists()


def test_the_views_own_state_is_not_given_to_it_nor_compared(upstream: IndexServer, tmp_path: Path) -> None:
    """Its address, secret, spool and logs are made by the view: not constructor arguments, not part of
    equality (two views serving the same selector are two servers), never shown by ``repr``."""
    view, _ = _view(upstream, tmp_path)
    twin = IndexView(view.client, view.selector)
    assert view != twin and view == view
    for private in ("_secret", "_port", "_server", "_spool", "problems", "presented"):
        with pytest.raises(TypeError, match=private):
            IndexView(view.client, view.selector, **{private: None})  # type: ignore[arg-type]
    with view:
        assert view.auth[1] not in repr(view)
