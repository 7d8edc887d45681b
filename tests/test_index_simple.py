"""The simple-API client against real loopback indexes: JSON and HTML, caching, credentials, bad indexes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from variant_wheels import IndexServer, build_plain, serve, variant_metadata

from jupyter_pyvariant.index.settings import IndexSettings
from jupyter_pyvariant.index.simple import (
    HashMismatch,
    IndexGarbage,
    IndexUnavailable,
    SimpleClient,
    redact,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    build_plain(folder, "alpha", "1.0")
    build_plain(folder, "alpha", "1.1")
    (folder / "alpha-1.1-variants.json").write_text('{"not": "checked here"}')
    return folder


@pytest.fixture
def index(root: Path) -> Iterator[IndexServer]:
    yield from serve(root)


def client(*urls: str, tmp_path: Path, timeout: float = 30.0) -> SimpleClient:
    settings = IndexSettings(tuple(urls), ("test",) * len(urls))
    return SimpleClient(settings, cache_dir=tmp_path / "cache", timeout=timeout)


@pytest.mark.parametrize("html_only", [False, True], ids=["pep691-json", "pep503-html"])
def test_reads_a_project_page_with_hashes(root: Path, tmp_path: Path, html_only: bool) -> None:
    for server in serve(root, html_only=html_only):
        page = client(server.url, tmp_path=tmp_path).project("Alpha")
        assert page is not None
        assert page.name == "alpha"
        names = sorted(f.filename for f in page.files)
        assert names == [
            "alpha-1.0-py3-none-any.whl",
            "alpha-1.1-py3-none-any.whl",
            "alpha-1.1-variants.json",
        ]
        wheel = next(f for f in page.files if f.filename == "alpha-1.0-py3-none-any.whl")
        assert wheel.sha256 == hashlib.sha256((root / wheel.filename).read_bytes()).hexdigest()
        assert wheel.url.startswith("http://127.0.0.1:") and wheel.url.endswith(
            "/files/alpha-1.0-py3-none-any.whl"
        )
        assert page.variants_json("1.1") is not None and page.variants_json("1.0") is None
        if html_only:
            assert wheel.requires_python == ">=3.8"


def test_second_read_revalidates_with_etag(index: IndexServer, tmp_path: Path) -> None:
    first = client(index.url, tmp_path=tmp_path).project("alpha")
    second = client(index.url, tmp_path=tmp_path).project("alpha")
    assert first == second
    statuses = [status for _, path, status in index.requests if path.startswith("/simple/alpha")]
    assert statuses == [200, 304]


def test_concurrent_fetch_takes_each_project_from_the_first_index_that_knows_it(
    root: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    build_plain(other, "alpha", "9.0")
    build_plain(other, "beta", "2.0")
    for preferred in serve(other):
        for fallback in serve(root):
            pages = client(preferred.url, fallback.url, tmp_path=tmp_path).projects(
                ["alpha", "beta", "gamma"]
            )
    assert pages["gamma"] is None
    assert pages["beta"] is not None and pages["beta"].index == preferred.url
    assert pages["alpha"] is not None
    assert [f.filename for f in pages["alpha"].files] == ["alpha-9.0-py3-none-any.whl"]


def test_runs_inside_a_running_event_loop(index: IndexServer, tmp_path: Path) -> None:
    async def in_a_kernel() -> object:
        return client(index.url, tmp_path=tmp_path).projects(["alpha"])

    pages = asyncio.run(in_a_kernel())
    assert isinstance(pages, dict) and pages["alpha"] is not None


def test_credentials_in_the_url_are_used_and_never_shown(root: Path, tmp_path: Path) -> None:
    for server in serve(root, credentials=("ann", "s3cret")):
        authed = server.url.replace("http://", "http://ann:s3cret@")
        assert client(authed, tmp_path=tmp_path).project("alpha") is not None
        with pytest.raises(IndexUnavailable, match="HTTP 401") as failure:
            client(authed.replace("s3cret", "wrong"), tmp_path=tmp_path / "other").project("alpha")
    assert "wrong" not in str(failure.value) and "s3cret" not in redact(authed)


def test_credentials_from_netrc(root: Path, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ann password s3cret\n")
    for server in serve(root, credentials=("ann", "s3cret")):
        reader = SimpleClient(
            IndexSettings((server.url,), ("test",)), cache_dir=None, environ={"NETRC": str(netrc)}
        )
        assert reader.project("alpha") is not None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_index_that_is_down_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/simple"
    with pytest.raises(
        IndexUnavailable, match=r"alpha: http://127\.0\.0\.1:\d+/simple/alpha/ did not answer"
    ):
        client(url, tmp_path=tmp_path).projects(["alpha"])


def test_a_slow_index_times_out(root: Path, tmp_path: Path) -> None:
    for server in serve(root, mode="slow"):
        with pytest.raises(IndexUnavailable, match=r"alpha: .* did not answer .*Timeout"):
            client(server.url, tmp_path=tmp_path, timeout=0.3).project("alpha")


def test_garbage_is_not_taken_for_a_page(root: Path, tmp_path: Path) -> None:
    for server in serve(root, mode="garbage"):
        with pytest.raises(IndexGarbage, match=r"alpha: .*/simple/alpha/ is not a simple-API page"):
            client(server.url, tmp_path=tmp_path).projects(["alpha"])


def test_small_files_are_hash_checked(root: Path, tmp_path: Path) -> None:
    (root / "alpha-1.1-variants.json").write_text(json.dumps(variant_metadata({"null": {}})))
    for server in serve(root):
        reader = client(server.url, tmp_path=tmp_path)
        page = reader.project("alpha")
        assert page is not None
        link = page.variants_json("1.1")
        assert link is not None
        assert reader.read(link, "alpha") == (root / "alpha-1.1-variants.json").read_bytes()
    for server in serve(root, mode="wrong-hash"):
        reader = client(server.url, tmp_path=tmp_path / "fresh")
        page = reader.project("alpha")
        assert page is not None
        wheel = page.files[0]
        with pytest.raises(
            HashMismatch, match=r"alpha: alpha-1\.0-py3-none-any\.whl from http://127\.0\.0\.1"
        ):
            reader.read(wheel, "alpha")
