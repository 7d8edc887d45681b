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

from jupyter_pyvariant._http import redact
from jupyter_pyvariant.index.client import SimpleClient
from jupyter_pyvariant.index.errors import HashMismatch, IndexGarbage, IndexUnavailable
from jupyter_pyvariant.index.settings import IndexSettings, Setting


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


def _tree_on_disk(root: Path, tmp_path: Path, as_json: bool) -> Path:
    """A PEP 503 tree (``simple/<project>/index.html`` or ``index.json``) beside the files it links."""
    tree = tmp_path / "tree"
    (tree / "files").mkdir(parents=True)
    for path in root.iterdir():
        (tree / "files" / path.name).write_bytes(path.read_bytes())
    body, _ = IndexServer(tree / "files").page("alpha", as_json)
    page = tree / "simple" / "alpha" / ("index.json" if as_json else "index.html")
    page.parent.mkdir(parents=True)
    page.write_bytes(body)
    return tree / "simple"


@pytest.mark.parametrize("as_json", [False, True], ids=["index.html", "index.json"])
def test_a_file_index_is_read_from_disk_and_never_linked_directly(
    root: Path, tmp_path: Path, as_json: bool
) -> None:
    reader = client(_tree_on_disk(root, tmp_path, as_json).as_uri(), tmp_path=tmp_path)
    page = reader.project("alpha")
    assert page is not None and reader.project("beta") is None
    wheel = next(f for f in page.files if f.filename == "alpha-1.0-py3-none-any.whl")
    assert wheel.url == (tmp_path / "tree/files/alpha-1.0-py3-none-any.whl").as_uri().replace(
        "file://", "file://localhost"
    )
    assert wheel.sha256 == hashlib.sha256((root / wheel.filename).read_bytes()).hexdigest()
    reader.download(wheel, "alpha", tmp_path / "copy.whl")
    assert (tmp_path / "copy.whl").read_bytes() == (root / wheel.filename).read_bytes()
    assert not reader.installer_can_fetch(wheel.url)


def test_find_links_folders_and_pages_join_the_index_page(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    build_plain(folder, "alpha", "2.0")
    build_plain(folder, "beta", "1.0")
    (folder / "notes.txt").write_text("not a distribution")
    (folder / "alpha-2.0-variants.json").write_text('{"local": true}')
    for server in serve(root):
        settings = IndexSettings(
            (server.url,), ("test",), find_links=(Setting(folder.as_uri(), "--find-links"),)
        )
        reader = SimpleClient(settings, cache_dir=None)
        pages = reader.projects(["alpha", "beta", "gamma"])
        alpha, beta = pages["alpha"], pages["beta"]
        assert alpha is not None and beta is not None and pages["gamma"] is None
        local = [f for f in alpha.files if f.url.startswith("file:")]
        assert sorted(f.filename for f in local) == ["alpha-2.0-py3-none-any.whl", "alpha-2.0-variants.json"]
        assert len(alpha.files) == 5 and alpha.index == server.url
        assert [f.filename for f in beta.files] == ["beta-1.0-py3-none-any.whl"]
        assert not any(reader.installer_can_fetch(f.url) for f in local)
        assert all(reader.installer_can_fetch(f.url) for f in alpha.files if f not in local)
        variants = alpha.variants_json("2.0")
        assert variants is not None and reader.read(variants, "alpha") == b'{"local": true}'
        # A page of links over HTTP is a find-links location too.
        over_http = IndexSettings(
            (folder.as_uri(),), ("test",), find_links=(Setting(f"{server.url}/alpha/", "x"),)
        )
        page = SimpleClient(over_http, cache_dir=None).project("alpha")
        assert page is not None
        assert {f.filename for f in page.files if f.sha256} == {
            "alpha-1.0-py3-none-any.whl",
            "alpha-1.1-py3-none-any.whl",
            "alpha-1.1-variants.json",
        }


def test_trusted_hosts_and_a_private_cert_keep_files_behind_the_view(tmp_path: Path) -> None:
    url = "https://mirror.example:8443/files/alpha-1.0-py3-none-any.whl"
    trusted = SimpleClient(
        IndexSettings(("https://mirror.example:8443/simple",), ("x",), trusted_hosts=("mirror.example",))
    )
    assert not trusted.installer_can_fetch(url)
    cert = Setting(str(tmp_path / "ca.pem"), "PIP_CERT")
    private = SimpleClient(IndexSettings(("https://mirror.example:8443/simple",), ("x",), cert=cert))
    assert not private.installer_can_fetch(url)
    assert private.installer_can_fetch("https://files.example/alpha-1.0-py3-none-any.whl")
    with pytest.raises(IndexUnavailable, match=r"the CA bundle .*ca\.pem \(PIP_CERT\) cannot be read"):
        private.project("alpha")
