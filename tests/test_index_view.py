"""The loopback view: base filenames, upstream bytes and hashes, and no corrupt file handed over whole."""

from __future__ import annotations

import hashlib
import random
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from variant_wheels import IndexServer, serve, variant_metadata, write_wheel

from jupyter_pyvariant.index.simple import JSON_TYPE, IndexSettings, SimpleClient
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
    with view, httpx.Client() as http:
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
    with view, httpx.Client() as http:
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


def test_read_ahead_fetches_the_likely_file_and_its_dependencies_before_anyone_asks(
    app_and_lib: IndexServer, tmp_path: Path
) -> None:
    """Selecting a project starts its file's download; the file's Requires-Dist are selected and
    fetched in turn; the installer's request is then served from the spool, which goes away."""
    client = SimpleClient(IndexSettings((app_and_lib.url,), ("test",)), cache_dir=tmp_path / "cache")
    pages = {name: client.project(name) for name in ("app", "lib")}
    lib_selected = threading.Event()

    def selector(name: str) -> PresentedProject | None:
        page = pages.get(name)
        if page is None:
            return None
        if name == "lib":
            lib_selected.set()
        files = tuple(PresentedFile(link.filename, link) for link in page.files)
        return PresentedProject(name, files, likely=files)

    before = _spool_folders()
    view = IndexView(client, selector, read_ahead=True)
    with view, httpx.Client() as http:
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
