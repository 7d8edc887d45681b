"""Catalogs in every format users have (the loopback mirror's index and SHA256SUMS, real copies of
uv's download-metadata.json and pbs-installer's versions.json under tests/data/pbs), mirror
rewriting, which catalog answers (network, cache, snapshot, file), and errors that say the way out."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbs_catalogs import UV_METADATA, pbs_installer_text, uv_entries
from pbs_mirror import PUBLIC_PREFIX, Mirror, make_archive

from jupyter_pyvariant.host.triples import target_for_triple
from jupyter_pyvariant.pythons import snapshot
from jupyter_pyvariant.pythons.catalog import apply_mirror, load_catalog
from jupyter_pyvariant.pythons.errors import CatalogError, CatalogTimeout, CatalogUnreachable
from jupyter_pyvariant.pythons.formats import parse_catalog_text
from jupyter_pyvariant.pythons.names import pbs_data

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
    import jupyter_pyvariant.pythons.catalog_cache as catalog_module

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
    with pytest.raises(
        CatalogUnreachable, match=r"cannot fetch the catalog: cannot connect to 127\.0\.0\.1"
    ) as down:
        load_catalog(url)
    with pytest.raises(CatalogError, match="offline and no cached copy") as offline:
        load_catalog(url, offline=True)
    for message in (str(down.value), str(offline.value)):
        assert all(way in message for way in WAYS_OUT), message
    assert not isinstance(down.value, CatalogTimeout)


WAYS_OUT = ("--catalog", "PYVARIANT_PYTHON_CATALOG", "--mirror", "PYVARIANT_PYTHON_MIRROR")


def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    mirror: Mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_pyvariant.pythons._http as http

    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.2)
    reached, release = mirror.block("/index.ndjson", after_bytes=10)
    try:
        with pytest.raises(CatalogTimeout, match="did not answer in time") as slow:
            load_catalog(f"{mirror.url}/index.ndjson")
    finally:
        release.set()
    assert reached.is_set() and all(way in str(slow.value) for way in WAYS_OUT)


def test_bad_catalogs(tmp_path: Path, mirror: Mirror) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not a catalog\n")
    with pytest.raises(CatalogError, match="line 1 'this is not a catalog' is neither JSON nor") as refused:
        load_catalog(str(garbage))
    assert all(f in str(refused.value) for f in FORMATS), "a refusal names the formats read"
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"version": "3.13.5+20250612"}\n{"version": "3.13.4+20250604"}\n')
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


FORMATS = (
    "release index (NDJSON)",
    "SHA256SUMS",
    "uv's download-metadata.json",
    "pbs-installer's versions.json",
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"cpython-3.13.15-linux-x86_64-gnu": [1, 2]}', "entry 'cpython-3.13.15-linux-x86_64-gnu' is not"),
        ('[{"python_version": {}}]', "item 1 is not an object with files"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_json_that_is_no_catalog_names_the_formats(text: str, problem: str) -> None:
    with pytest.raises(CatalogError, match=problem) as refused:
        parse_catalog_text(text, "https://mirror.test/")
    assert all(f in str(refused.value) for f in FORMATS)


def test_uv_download_metadata_is_read_by_content() -> None:
    """A real, trimmed copy of uv's download-metadata.json (tests/data/pbs/README.md)."""
    catalog = load_catalog(str(UV_METADATA))
    expected = {e["url"] for e in uv_entries().values() if e["name"] == "cpython" and e["sha256"]}
    assert {b.url for b in catalog} == expected, "GraalPy, PyPy and entries without a sha256 are skipped"
    assert catalog.origin == "file" and catalog.releases()[0] == "20260814"
    assert [b.release for b in catalog] == sorted((b.release for b in catalog), reverse=True)
    key = "cpython-3.13.15+freethreaded-linux-x86_64_v4-gnu"
    build = next(b for b in catalog if b.url == uv_entries()[key]["url"])
    assert (build.triple, build.flavour) == (
        "x86_64_v4-unknown-linux-gnu",
        "freethreaded+install_only_stripped",
    )
    assert build.sha256 == uv_entries()[key]["sha256"]


def test_pbs_installer_versions_json_is_read_by_content(tmp_path: Path) -> None:
    """pbs-installer 2026.10.25's own versions.json (tests/data/pbs/README.md)."""
    path = tmp_path / "versions.json"
    path.write_text(pbs_installer_text())
    catalog = load_catalog(str(path))
    assert len(catalog) == 1722, "1,851 CPython files, of which 129 from before 2021-07 have no sha256"
    assert catalog.releases()[0] == "20261021"
    assert all(b.url.startswith(PUBLIC_PREFIX) and len(b.sha256) == 64 for b in catalog)


def test_real_catalogs_are_served_through_a_mirror(mirror: Mirror) -> None:
    mirror.serve_instead("/download-metadata.json", UV_METADATA.read_bytes())
    catalog = load_catalog(f"{mirror.url}/download-metadata.json", mirror=mirror.url)
    assert catalog.origin == "network" and len(catalog) > 300
    assert all(b.url.startswith(f"{mirror.url}/2026") for b in catalog)


@pytest.fixture
def default_index(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> str:
    """The package's default catalog URL, pointed at the loopback mirror's index."""
    url = f"{mirror.url}/index.ndjson"
    monkeypatch.setitem(pbs_data(), "catalog_url", url)
    return url


def test_default_catalog_network_then_cache_then_snapshot(
    mirror: Mirror, default_index: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_pyvariant.pythons.catalog_cache as catalog_module

    fresh = load_catalog()
    assert (fresh.origin, fresh.source, fresh.stale) == ("network", default_index, False)
    assert "catalog: network" in fresh.describe() and "fetched just now" in fresh.describe()
    assert load_catalog().origin == "cache", "a fresh cached copy answers without the network"
    monkeypatch.setattr(catalog_module, "CACHE_FRESH_SECONDS", 0.0)
    revalidated = load_catalog()
    assert revalidated.origin == "network" and revalidated.builds == fresh.builds
    assert mirror.requests_for("/index.ndjson")[-1] and len(mirror.requests_for("/index.ndjson")) == 2
    mirror.stop()
    cached = load_catalog()
    assert (cached.origin, cached.stale) == ("cache", True) and cached.builds == fresh.builds
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "empty-cache"))
    shipped = load_catalog()
    assert (shipped.origin, shipped.stale) == ("snapshot", True)
    assert shipped.builds == snapshot.builds()
    assert "cannot connect to 127.0.0.1" in shipped.notes[0] and "snapshot shipped" in shipped.notes[0]
    assert "catalog: snapshot" in shipped.describe() and "days ago" in shipped.describe()
    assert load_catalog(offline=True).origin == "snapshot"


def test_conditional_get_keeps_the_cached_copy(
    mirror: Mirror, default_index: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_pyvariant.pythons.catalog_cache as catalog_module

    assert len(load_catalog()) == 3
    monkeypatch.setattr(catalog_module, "CACHE_FRESH_SECONDS", 0.0)
    (cached,) = (tmp_path / "cache").glob("catalog-*.txt")
    cached.write_text(cached.read_text().splitlines()[0] + "\n")
    unchanged = load_catalog()
    assert unchanged.origin == "network" and len(unchanged) == 2, "304 Not Modified: the cached text is kept"
    mirror.serve_instead("/index.ndjson", mirror.files["/index.ndjson"] + b"\n")
    assert len(load_catalog()) == 3, "a changed index is downloaded again"
    assert len(mirror.requests_for("/index.ndjson")) == 3


def test_a_mirror_alone_is_enough(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYVARIANT_PYTHON_MIRROR", mirror.url)
    catalog = load_catalog()
    assert catalog.origin == "snapshot" and not catalog.stale
    assert len(catalog) == len(snapshot.builds())
    assert all(b.url.startswith(mirror.url + "/") for b in catalog)
    assert mirror.requests == [], "the shipped snapshot answers; nothing is asked of the network"


def test_the_shipped_snapshot_is_small_and_holds_only_choosable_builds() -> None:
    from importlib import resources

    data = resources.files("jupyter_pyvariant.pythons").joinpath("data", snapshot.FILENAME).read_bytes()
    assert len(data) <= 1_000_000
    builds = snapshot.builds()
    assert len(builds) > 300 and all(b.url.startswith(PUBLIC_PREFIX + "/") for b in builds)
    assert all(not b.static and target_for_triple(b.triple) is not None for b in builds)
    kinds = [(b.minor, b.triple, b.freethreaded, b.debug) for b in builds]
    assert len(kinds) == len(set(kinds)), "one build per minor version, triple and kind"
    assert {b.libc for b in builds} >= {"gnu", "musl", None}
    assert {b.level for b in builds} >= {"x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4"}
    newest = max(b.release for b in builds)
    made = snapshot.made_at(builds)
    assert made is not None and time.strftime("%Y%m%d", time.gmtime(made)) == newest


@pytest.mark.parametrize("real", ["pbs-installer", "uv"])
def test_the_script_makes_a_snapshot_from_a_real_catalog(tmp_path: Path, real: str) -> None:
    source = tmp_path / "catalog.json"
    source.write_text(pbs_installer_text() if real == "pbs-installer" else UV_METADATA.read_text())
    output = tmp_path / "snapshot.ndjson"
    script = Path(__file__).parents[1] / "scripts" / "make_python_snapshot.py"
    result = subprocess.run(
        [sys.executable, str(script), str(source), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{output}: " in result.stderr and " builds, releases " in result.stderr
    made = parse_catalog_text(output.read_text(), "https://unused.test/")
    assert made == snapshot.trim(load_catalog(str(source)))
    assert 0 < len(made) < len(load_catalog(str(source)))
