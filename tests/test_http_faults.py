"""Hostile and faulty servers against every network read: caps, retries, stalls, redirects, secrets.

The server below is a loopback ``http.server`` whose paths each misbehave one way: an endless body,
a body larger than its promise, a connection dropped half-way, a stall, a redirect loop. It counts
the body bytes it managed to send, so a test can show that a refused read stopped early.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jupyter_pyvariant import _http
from jupyter_pyvariant.index.client import SimpleClient
from jupyter_pyvariant.index.errors import IndexTooLarge, IndexUnavailable
from jupyter_pyvariant.index.models import FileLink
from jupyter_pyvariant.index.settings import IndexSettings
from jupyter_pyvariant.pythons.catalog import load_catalog
from jupyter_pyvariant.pythons.errors import CatalogError, DownloadError
from jupyter_pyvariant.pythons.fetch import FetchPolicy, download

CHUNK = 64 * 1024
CAP = 1 << 20
SLACK = 16 << 20
"""What loopback socket buffers may hold beyond what the client read (sent, never read)."""
ENDLESS_LIMIT = 512 << 20
"""Where the endless body stops anyway, so that a client without a cap fails the test, not the run."""


@dataclass
class Hostile:
    """Counts per path; ``released`` frees a stalled response at teardown."""

    port: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    payload: bytes = bytes(range(256)) * 1024  # 256 KiB

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(state: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self, data: bytes) -> None:
            self.wfile.write(data)
            state.sent[self.path] = state.sent.get(self.path, 0) + len(data)

        def _headers(self, status: int, **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()

        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Range")))
            with contextlib.suppress(ConnectionError, TimeoutError):
                getattr(self, "_" + self.path.strip("/").split("/")[0].replace("-", "_"))()

        def _endless(self) -> None:
            """No length, no end: chunks until the client hangs up."""
            self.close_connection = True
            self._headers(200, Content_Type="application/vnd.pypi.simple.v1+json", Connection="close")
            while state.sent.get(self.path, 0) < ENDLESS_LIMIT:
                self._body(b" " * CHUNK)

        def _declared(self) -> None:
            """Says how big it is up front."""
            self.close_connection = True
            self._headers(200, Content_Length=str(10 * CAP), Connection="close")
            while state.sent.get(self.path, 0) < 10 * CAP:
                self._body(b" " * CHUNK)

        def _drop(self) -> None:
            """The payload, with the first connection dropped half-way; Range honoured after."""
            data, start = state.payload, 0
            if self.headers.get("Range"):
                start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
                self._headers(
                    206,
                    Content_Length=str(len(data) - start),
                    Content_Range=f"bytes {start}-{len(data) - 1}/{len(data)}",
                )
                self._body(data[start:])
                return
            self.close_connection = True
            self._headers(200, Content_Length=str(len(data)), Accept_Ranges="bytes")
            self._body(data[: len(data) // 2])
            self.wfile.flush()

        def _stall(self) -> None:
            """Headers, then nothing until the test ends."""
            self._headers(200, Content_Length="1000")
            self.wfile.flush()
            state.released.wait(60)

        def _loop(self) -> None:
            self._headers(302, Location="/loop/again", Content_Length="0")

    return Handler


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    state = Hostile()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_http.CAPS_ENV, ",".join(f"{kind}={CAP}" for kind in _http.CAPS))


def _client(url: str, tmp_path: Path, timeout: float = 30.0) -> SimpleClient:
    return SimpleClient(IndexSettings((url,), ("test",)), cache_dir=tmp_path / "cache", timeout=timeout)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_an_endless_response_is_refused_at_the_cap_having_read_at_most_one_chunk_more(
    hostile: Hostile,
) -> None:
    with _http.client() as http, pytest.raises(_http.TooLarge, match="larger than") as refused:
        _http.get_document(http, f"{hostile.url}/endless", "page")
    assert CAP < refused.value.size <= CAP + CHUNK
    assert hostile.sent["/endless"] < CAP + SLACK


def test_a_declared_size_over_the_cap_is_refused_before_the_body_is_read(hostile: Hostile) -> None:
    with _http.client() as http, pytest.raises(_http.TooLarge) as refused:
        _http.get_document(http, f"{hostile.url}/declared", "variants")
    assert refused.value.size == 10 * CAP
    assert hostile.sent.get("/declared", 0) < SLACK


def test_an_endless_project_page_is_refused_and_nothing_is_cached(hostile: Hostile, tmp_path: Path) -> None:
    # the page of project "endless" is the endless stream: /endless/ under the index root
    client = _client(hostile.url, tmp_path)
    with pytest.raises(IndexTooLarge, match=r"endless: .*larger than the most read"):
        client.project("endless")
    assert hostile.sent["/endless/"] < CAP + SLACK
    assert _files_under(tmp_path / "cache") == []


def test_an_endless_variants_json_is_refused_and_not_kept(hostile: Hostile, tmp_path: Path) -> None:
    link = FileLink("demo-1.0-variants.json", f"{hostile.url}/endless/v", "test", (("sha256", "0" * 64),))
    with pytest.raises(IndexTooLarge, match="demo: "):
        _client(hostile.url, tmp_path).read(link, "demo")
    assert hostile.sent["/endless/v"] < CAP + SLACK
    assert _files_under(tmp_path / "cache") == []


def test_a_wheel_larger_than_its_page_says_is_refused_and_removed(hostile: Hostile, tmp_path: Path) -> None:
    link = FileLink("demo-1.0-py3-none-any.whl", f"{hostile.url}/endless/w", "test", size=1000)
    dest = tmp_path / "demo.whl"
    with pytest.raises(IndexTooLarge, match="larger than the size its index or catalog gave"):
        _client(hostile.url, tmp_path).download(link, "demo", dest)
    assert not dest.exists() and hostile.sent["/endless/w"] < SLACK


def test_an_endless_archive_is_refused_and_nothing_is_kept(hostile: Hostile, tmp_path: Path) -> None:
    dest = tmp_path / "downloads" / "x.part"
    with pytest.raises(DownloadError, match="larger than the most read for such a file"):
        download(f"{hostile.url}/endless/a.tar.gz", dest, "0" * 64, policy=FetchPolicy(backoff_s=0.0))
    assert not dest.exists() and hostile.sent["/endless/a.tar.gz"] < CAP + SLACK
    assert [path for path, _ in hostile.requests] == ["/endless/a.tar.gz"], "a refusal is not retried"


def test_an_endless_catalog_is_refused_and_not_cached(hostile: Hostile, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="larger than"):
        load_catalog(f"{hostile.url}/endless/index.ndjson", cache_dir=tmp_path)
    assert hostile.sent["/endless/index.ndjson"] < CAP + SLACK
    assert _files_under(tmp_path) == []


def test_a_catalog_that_does_not_parse_is_never_cached(tmp_path: Path) -> None:
    from pbs_mirror import Mirror

    with Mirror() as mirror:
        mirror.files["/garbage.ndjson"] = b"<html>a login page, not a catalog</html>\n"
        for _ in range(2):  # the second run asks the network again: nothing was kept
            with pytest.raises(CatalogError, match="none of the catalog formats"):
                load_catalog(f"{mirror.url}/garbage.ndjson", cache_dir=tmp_path)
        assert len(mirror.requests_for("/garbage.ndjson")) == 2
    assert _files_under(tmp_path) == []


def _dropped_wheel(hostile: Hostile, path: str) -> FileLink:
    """A wheel of the payload, with its sha256, at ``/drop/<path>``: its first connection drops half-way."""
    sha256 = hashlib.sha256(hostile.payload).hexdigest()
    return FileLink("demo-1.0-py3-none-any.whl", f"{hostile.url}/drop/{path}", "test", (("sha256", sha256),))


def test_a_wheel_whose_connection_drops_is_resumed_with_range(hostile: Hostile, tmp_path: Path) -> None:
    dest = tmp_path / "demo.whl"
    _client(hostile.url, tmp_path).download(_dropped_wheel(hostile, "w"), "demo", dest)
    assert dest.read_bytes() == hostile.payload
    assert hostile.requests == [("/drop/w", None), ("/drop/w", f"bytes={len(hostile.payload) // 2}-")]


def test_the_spool_retries_a_dropped_wheel(hostile: Hostile, tmp_path: Path) -> None:
    from jupyter_pyvariant.index.spool import Spool

    spool = Spool(_client(hostile.url, tmp_path))
    spool.open()
    try:
        assert spool.path(_dropped_wheel(hostile, "s"), "demo").read_bytes() == hostile.payload
    finally:
        spool.close()
    assert len(hostile.requests) == 2


def test_a_stalled_server_is_given_up_after_one_timeout(hostile: Hostile, tmp_path: Path) -> None:
    link = FileLink("demo-1.0-py3-none-any.whl", f"{hostile.url}/stall/w", "test")
    with pytest.raises(IndexUnavailable, match="Timeout"):
        _client(hostile.url, tmp_path, timeout=0.3).download(link, "demo", tmp_path / "demo.whl")
    assert hostile.requests == [("/stall/w", None)], "a try that brought nothing new is not repeated"


def test_a_redirect_loop_ends_with_a_clear_error(hostile: Hostile, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=f"redirected more than {_http.MAX_REDIRECTS} times"):
        download(f"{hostile.url}/loop/a.tar.gz", tmp_path / "a.part", "0" * 64)
    assert len(hostile.requests) == _http.MAX_REDIRECTS + 1


SECRET = "s3cret-word"


def _closed_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://alice:{SECRET}@127.0.0.1:{port}"


def _message(action: Callable[[], object]) -> str:
    try:
        action()
    except Exception as exc:
        return str(exc)
    raise AssertionError("the action did not fail")


def test_credentials_never_appear_in_error_text(hostile: Hostile, tmp_path: Path) -> None:
    down = _closed_url()
    authed = hostile.url.replace("http://", f"http://alice:{SECRET}@")
    assert SECRET not in _message(lambda: _client(f"{down}/simple", tmp_path).project("demo"))
    messages = [
        _message(lambda: load_catalog(f"{down}/index.ndjson", cache_dir=tmp_path)),
        _message(lambda: load_catalog(f"{authed}/endless/i.ndjson", cache_dir=tmp_path)),
        _message(
            lambda: download(
                f"{down}/a.tar.gz", tmp_path / "a.part", "0" * 64, policy=FetchPolicy(attempts=1)
            )
        ),
        _message(lambda: download(f"{authed}/endless/a.tar.gz", tmp_path / "b.part", "0" * 64)),
    ]
    for message in messages:
        assert SECRET not in message and "alice:***@" in message, message
    assert all(SECRET not in path.read_text() for path in _files_under(tmp_path))


def test_with_a_mirror_entries_pointing_elsewhere_are_refused(tmp_path: Path) -> None:
    from pbs_mirror import PUBLIC_PREFIX

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name = "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
    elsewhere = [
        f"{PUBLIC_PREFIX}/20250612/{name}",  # the release prefix: rewritten into the mirror
        f"http://127.0.0.1:9/{name.replace('3.13.5', '3.13.4')}",
        f"{mirror.as_uri()}/../outside/{name.replace('3.13.5', '3.13.3')}",
        f"{(tmp_path / 'other').as_uri()}/{name.replace('3.13.5', '3.13.2')}",
    ]
    catalog = tmp_path / "index.ndjson"
    artifacts = [{"url": url, "sha256": "0" * 64} for url in elsewhere]
    catalog.write_text(json.dumps({"tag": "20250612", "artifacts": artifacts}) + "\n")
    loaded = load_catalog(str(catalog), mirror=str(mirror))
    assert [build.version for build in loaded] == ["3.13.5"]
    assert loaded.builds[0].url == f"{mirror.as_uri()}/20250612/{name}"
    assert any("3 catalog entries point outside the mirror" in note for note in loaded.notes)
