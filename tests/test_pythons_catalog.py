"""The catalog from a loopback mirror: NDJSON index, SHA256SUMS, mirror rewriting, offline cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pbs_mirror import PUBLIC_PREFIX, Mirror, make_archive

from jupyter_pyvariant.pythons.catalog import apply_mirror, load_catalog
from jupyter_pyvariant.pythons.errors import CatalogError

ARCHIVES = [
    make_archive("3.14.0", "20251014", "x86_64_v3-unknown-linux-gnu"),
    make_archive("3.14.0", "20251014", "x86_64_v3-unknown-linux-gnu", "debug-full"),
    make_archive("3.13.5", "20250612", "x86_64_v3-unknown-linux-gnu"),
]


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    with Mirror() as server:
        server.publish(ARCHIVES)
        yield server


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYVARIANT_PYTHON_CATALOG", raising=False)
    monkeypatch.delenv("PYVARIANT_PYTHON_MIRROR", raising=False)


def test_ndjson_index_newest_first(mirror: Mirror) -> None:
    catalog = load_catalog(f"{mirror.url}/index.ndjson")
    assert [b.release for b in catalog] == ["20251014", "20251014", "20250612"]
    assert {b.filename for b in catalog} == {a.filename for a in ARCHIVES}
    assert all(b.url.startswith(PUBLIC_PREFIX) for b in catalog), "without a mirror the public URLs stay"
    by_name = {b.filename: b for b in catalog}
    assert all(by_name[a.filename].sha256 == a.sha256 for a in ARCHIVES)


def test_mirror_replaces_the_download_prefix(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog(f"{mirror.url}/index.ndjson", mirror=mirror.url + "/")
    assert {b.url for b in catalog} == {mirror.url + a.path for a in ARCHIVES}
    monkeypatch.setenv("PYVARIANT_PYTHON_MIRROR", "file:///srv/pbs")
    monkeypatch.setenv("PYVARIANT_PYTHON_CATALOG", f"{mirror.url}/index.ndjson")
    from_env = load_catalog()
    assert all(b.url.startswith("file:///srv/pbs/2025") for b in from_env)
    assert (
        apply_mirror("https://example.org/other/file.tar.gz", "file:///srv")
        == "https://example.org/other/file.tar.gz"
    )


def test_sha256sums_of_one_release(mirror: Mirror) -> None:
    catalog = load_catalog(f"{mirror.url}/20251014/SHA256SUMS")
    assert {b.filename for b in catalog} == {a.filename for a in ARCHIVES[:2]}
    assert all(b.url.startswith(f"{mirror.url}/20251014/cpython-3.14.0%2B20251014-") for b in catalog)


def test_release_pin_reads_sha256sums_under_the_mirror(mirror: Mirror) -> None:
    catalog = load_catalog(mirror=mirror.url, release="20250612")
    assert [b.filename for b in catalog] == [ARCHIVES[2].filename]
    assert mirror.requests_for("/20250612/SHA256SUMS")


def test_local_path_catalog(tmp_path: Path, mirror: Mirror) -> None:
    index = tmp_path / "index.ndjson"
    index.write_bytes(mirror.files["/index.ndjson"])
    assert len(load_catalog(str(index))) == 3
    assert len(load_catalog(index.as_uri(), offline=True)) == 3


def test_offline_cache_and_stale_fallback(mirror: Mirror) -> None:
    url = f"{mirror.url}/index.ndjson"
    fresh = load_catalog(url)
    assert not fresh.stale
    load_catalog(url)
    assert len(mirror.requests_for("/index.ndjson")) == 1, "a fresh cached copy is used without asking again"
    mirror.stop()
    offline = load_catalog(url, offline=True)
    assert offline.stale and offline.builds == fresh.builds
    assert any("offline" in note for note in offline.notes)


def test_stale_cache_used_when_the_server_is_down(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    import jupyter_pyvariant.pythons.catalog as catalog_module

    url = f"{mirror.url}/index.ndjson"
    load_catalog(url)
    monkeypatch.setattr(catalog_module, "CACHE_FRESH_SECONDS", 0.0)
    revalidated = load_catalog(url)
    assert [r.path for r in mirror.requests][-1] == "/index.ndjson" and len(revalidated) == 3
    mirror.stop()
    stale = load_catalog(url)
    assert stale.stale and len(stale) == 3
    assert any("cannot connect" in note and "cached" in note for note in stale.notes)


def test_down_without_cache_is_a_clear_error(mirror: Mirror) -> None:
    url = f"{mirror.url}/index.ndjson"
    mirror.stop()
    with pytest.raises(CatalogError, match=r"cannot fetch the catalog: cannot connect to 127\.0\.0\.1"):
        load_catalog(url)
    with pytest.raises(CatalogError, match="offline and no cached copy"):
        load_catalog(url, offline=True)


def test_bad_catalogs(tmp_path: Path, mirror: Mirror) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not a catalog\n")
    with pytest.raises(CatalogError, match="SHA256SUMS line 1"):
        load_catalog(str(garbage))
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"version": "3.13.5+20250612"}\n')
    with pytest.raises(CatalogError, match="line 1 is not a release object"):
        load_catalog(str(broken))
    with pytest.raises(CatalogError, match="cannot read the catalog file"):
        load_catalog(str(tmp_path / "missing.ndjson"))
    with pytest.raises(CatalogError, match="HTTP 404"):
        load_catalog(f"{mirror.url}/nothing-here.ndjson")
    other = tmp_path / "SHA256SUMS"
    other.write_text(f"{'0' * 64}  pypy3.10-v7.3.17-linux64.tar.bz2\n")
    with pytest.raises(CatalogError, match="lists no CPython builds"):
        load_catalog(str(other))
