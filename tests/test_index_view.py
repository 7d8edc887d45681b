"""The loopback view: base filenames, upstream bytes and hashes, and no corrupt file handed over whole."""

from __future__ import annotations

import hashlib
import random
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


def test_a_file_that_does_not_match_its_hash_never_arrives_whole(
    upstream: IndexServer, tmp_path: Path
) -> None:
    view, data = _view(upstream, tmp_path, corrupt=True)
    with view, httpx.Client() as http:
        entry = http.get(f"{view.url}/demo/", headers={"Accept": JSON_TYPE}).json()["files"][0]
        received = b""
        with (
            pytest.raises(httpx.HTTPError),
            http.stream("GET", f"{view.url}/demo/{entry['url']}") as response,
        ):
            for chunk in response.iter_bytes():
                received += chunk
    assert 0 < len(received) < len(data)  # streamed, but the last chunk was held back
    (problem,) = view.problems
    assert problem.startswith(f"demo: {VARIANT} from {upstream.url.removesuffix('/simple')}/files/{VARIANT}")
    assert "promised 0000" in problem and "not handed to the installer" in problem
