"""Provisioning from a loopback mirror: checksums, resume, hostile archives, locks, kills, fallback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbs_mirror import (
    Archive,
    Mirror,
    add_device,
    add_file,
    add_hardlink,
    add_symlink,
    host_facts,
    make_archive,
)

from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.catalog import load_catalog
from jupyter_pyvariant.pythons.errors import (
    ChecksumMismatch,
    DownloadError,
    IllegalInstruction,
    UnsafeArchive,
)
from jupyter_pyvariant.pythons.fetch import FetchPolicy, provision
from jupyter_pyvariant.pythons.select import Request, select
from jupyter_pyvariant.pythons.store import MARKER_NAME, Store

RELEASE = "20250612"
TRIPLE = "x86_64_v3-unknown-linux-gnu"
QUICK = FetchPolicy(attempts=3, backoff_s=0.0, chunk_size=1024)

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the synthetic interpreters are shell scripts"),
    pytest.mark.usefixtures("private_catalog_cache"),
]


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    with Mirror() as server:
        yield server


def build_of(archive: Archive, mirror: Mirror) -> Build:
    """The catalog's Build for ``archive``, reached through the mirror setting."""
    catalog = load_catalog(f"{mirror.url}/index.ndjson", mirror=mirror.url)
    return next(b for b in catalog if b.filename == archive.filename)


def visible_entries(store: Store) -> list[str]:
    return sorted(p.name for p in store.root.iterdir() if not p.name.startswith("."))


def test_install_only_layout_marker_and_sysconfig(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    store = Store(tmp_path / "store")
    seen: list[str] = []
    python = provision(
        build_of(archive, mirror), store, progress=lambda phase, done, total: seen.append(phase)
    )
    assert python.root == store.root / archive.filename.removesuffix(".tar.gz")
    assert python.executable == (python.root / "bin" / "python3.13").resolve()
    marker = json.loads((python.root / MARKER_NAME).read_text())
    assert marker["triple"] == TRIPLE and marker["flavour"] == "install_only_stripped"
    assert marker["release"] == RELEASE and marker["version"] == "3.13.5" and marker["level"] == "x86-64-v3"
    assert marker["sha256"] == archive.sha256 and marker["url"].startswith(mirror.url)
    assert marker["smoke_test"]["ran"] and marker["smoke_test"]["reported"]["version"] == "3.13.5"
    sysconfig = (python.root / "lib/python3.13/_sysconfigdata__linux_x86_64-linux-gnu.py").read_text()
    assert "'/install" not in sysconfig and f"'{python.root}/lib'" in sysconfig
    assert "/install-not-a-build-path" in sysconfig, "only the build prefix itself is rewritten"
    assert {"download", "extract", "smoke-test"} <= set(seen)
    assert store.installed() == [python]
    assert not list((store.root / ".downloads").iterdir()), "the verified archive is not kept"


def test_full_layout_zstd_skips_build_objects(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE, "debug-full")
    mirror.publish([archive])
    python = provision(build_of(archive, mirror), Store(tmp_path))
    assert (python.root / "bin/python3.13").is_file()
    assert json.loads((python.root / "PYTHON.json").read_text())["target_triple"] == TRIPLE
    assert not (python.root / "build").exists() and not (python.root / "install").exists()
    assert python.build.debug and python.build.full


def test_already_installed_needs_no_network(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    first = provision(build, Store(tmp_path))
    mirror.stop()
    assert provision(build, Store(tmp_path)) == first


def test_checksum_mismatch_refused(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    mirror.serve_instead(
        archive.path, make_archive("3.13.5", RELEASE, TRIPLE, reported_version="3.13.4").data
    )
    store = Store(tmp_path)
    with pytest.raises(ChecksumMismatch, match="different file"):
        provision(build, store, policy=QUICK)
    assert visible_entries(store) == []
    assert not list((store.root / ".downloads").iterdir())


def test_resume_after_dropped_connection(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    half = len(archive.data) // 2
    mirror.drop_once(archive.path, after_bytes=half)
    python = provision(build_of(archive, mirror), Store(tmp_path), policy=QUICK)
    assert python.build.sha256 == archive.sha256
    ranges = [r.range for r in mirror.requests_for(archive.path)]
    assert ranges == [None, f"bytes={half}-"]


def test_mirror_down_is_a_clear_error(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    mirror.stop()
    store = Store(tmp_path)
    with pytest.raises(DownloadError, match=r"cannot connect to 127\.0\.0\.1.*mirror up"):
        provision(build, store, policy=QUICK)
    assert visible_entries(store) == []


def test_missing_file_on_mirror(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    del mirror.files[archive.path]
    with pytest.raises(DownloadError, match="HTTP 404"):
        provision(build, Store(tmp_path), policy=QUICK)
    assert len(mirror.requests_for(archive.path)) == 1, "a 404 is not retried"


def test_file_mirror(tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    folder = tmp_path / "mirror" / RELEASE
    folder.mkdir(parents=True)
    (folder / archive.filename).write_bytes(archive.data)
    (folder / "SHA256SUMS").write_text(f"{archive.sha256}  {archive.filename}\n")
    catalog = load_catalog(str(folder / "SHA256SUMS"))
    python = provision(catalog.builds[0], Store(tmp_path / "store"))
    assert python.build.url.startswith("file://")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (lambda tar: add_file(tar, "/tmp/pyvariant-escape-abs", b"x"), "absolute"),
        (lambda tar: add_file(tar, "python/../../escape-dotdot", b"x"), r"'\.\.'"),
        (lambda tar: add_symlink(tar, "python/lib/evil", "../../../../etc"), "outside"),
        (lambda tar: add_symlink(tar, "python/lib/evil", "/etc/passwd"), "outside"),
        (lambda tar: add_hardlink(tar, "python/lib/evil", "etc/passwd"), "outside the python/ folder"),
        (lambda tar: add_device(tar, "python/dev-null"), "device"),
        (lambda tar: add_file(tar, "elsewhere/file", b"x"), "outside the python/ folder"),
    ],
    ids=["absolute", "dotdot", "symlink-escape", "symlink-absolute", "hardlink-escape", "device", "outside"],
)
def test_hostile_archives_refused(mirror: Mirror, tmp_path: Path, extra: object, message: str) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE, extra=[extra])  # type: ignore[list-item]
    mirror.publish([archive])
    store = Store(tmp_path / "store")
    with pytest.raises(UnsafeArchive, match=message):
        provision(build_of(archive, mirror), store)
    assert visible_entries(store) == []
    assert not list((store.root / ".tmp").iterdir()), "the staging folder is removed"
    assert not Path("/tmp/pyvariant-escape-abs").exists()
    assert not (tmp_path / "escape-dotdot").exists()


def test_link_chain_escaping_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    """Each link looks inside on its own; together they lead out. Checked once all exist."""

    def chain(tar: object) -> None:
        add_symlink(tar, "python/e", "d1/d2/up/..")  # type: ignore[arg-type]
        add_symlink(tar, "python/d1/d2/up", "../..")  # type: ignore[arg-type]

    archive = make_archive("3.13.5", RELEASE, TRIPLE, extra=[chain])
    mirror.publish([archive])
    store = Store(tmp_path / "store")
    with pytest.raises(UnsafeArchive, match="resolves outside"):
        provision(build_of(archive, mirror), store)
    assert visible_entries(store) == []


def test_sigill_walks_down_a_level(mirror: Mirror, tmp_path: Path) -> None:
    archives = [
        make_archive("3.13.5", RELEASE, "x86_64_v4-unknown-linux-gnu", sigill=True),
        make_archive("3.13.5", RELEASE, "x86_64_v3-unknown-linux-gnu", sigill=True),
        make_archive("3.13.5", RELEASE, "x86_64_v2-unknown-linux-gnu"),
    ]
    mirror.publish(archives)
    catalog = load_catalog(f"{mirror.url}/index.ndjson", mirror=mirror.url)
    selection = select(catalog, host_facts(level="x86-64-v4"), Request.parse("3.13"))
    assert selection.best.level == "x86-64-v4"
    store = Store(tmp_path)
    python = provision(selection, store)
    assert python.build.level == "x86-64-v2"
    assert [p.build.level for p in store.installed()] == ["x86-64-v2"]
    with pytest.raises(IllegalInstruction, match="SIGILL"):
        provision(selection.best, store)


def test_level_above_host_installed_without_smoke_test(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, "x86_64_v4-unknown-linux-gnu", sigill=True)
    mirror.publish([archive])
    catalog = load_catalog(f"{mirror.url}/index.ndjson", mirror=mirror.url)
    selection = select(catalog, host_facts(level="x86-64-v3"), Request.parse("3.13"), level="v4")
    python = provision(selection, Store(tmp_path))
    assert python.build.level == "x86-64-v4"
    assert python.marker["smoke_test"]["ran"] is False


def test_version_mismatch_fails_smoke_test(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE, reported_version="3.12.0")
    mirror.publish([archive])
    store = Store(tmp_path)
    with pytest.raises(Exception, match=r"promises CPython 3\.13\.5.*reports 3\.12\.0"):
        provision(build_of(archive, mirror), store)
    assert store.installed() == []


def _lock_waiters() -> int:
    """Blocked flock requests on this machine (lines with '->' in /proc/locks)."""
    return sum("->" in line for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs /proc/locks to see a blocked lock")
def test_concurrent_requests_download_once(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    store = Store(tmp_path)
    reached, release = mirror.block(archive.path, after_bytes=100)
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(provision(build, store)))
    first.start()
    assert reached.wait(30), "the first download never started"
    waiters_before = _lock_waiters()
    second = subprocess.Popen(
        [sys.executable, "-c", _PROVISION_SCRIPT, json.dumps(build.to_dict()), str(tmp_path)]
    )
    try:
        waited = threading.Event()
        for _ in range(3000):  # until the second process blocks on the build's lock
            if _lock_waiters() > waiters_before or second.poll() is not None:
                break
            waited.wait(0.01)
        assert _lock_waiters() > waiters_before, "the second provisioner did not wait for the lock"
        release.set()
        assert second.wait(60) == 0
    finally:
        release.set()
        if second.poll() is None:
            second.kill()
    first.join(60)
    assert len(mirror.requests_for(archive.path)) == 1
    assert len(Store(tmp_path).installed()) == 1


_PROVISION_SCRIPT = """
import json, sys
from pathlib import Path
from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.fetch import provision
from jupyter_pyvariant.pythons.store import Store
build = Build.from_dict(json.loads(sys.argv[1]))
python = provision(build, Store(Path(sys.argv[2])))
print(python.root)
"""


def test_kill_mid_download_leaves_nothing_half_done_and_resumes(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive(
        "3.13.5", RELEASE, TRIPLE, extra=[lambda tar: add_file(tar, "python/big", os.urandom(200_000))]
    )
    mirror.publish([archive])
    build = build_of(archive, mirror)
    half = len(archive.data) // 2
    reached, release = mirror.block(archive.path, after_bytes=half)
    child = subprocess.Popen(
        [sys.executable, "-c", _PROVISION_SCRIPT, json.dumps(build.to_dict()), str(tmp_path)]
    )
    try:
        assert reached.wait(60), "the child never started downloading"
        partial = Store(tmp_path).download_path(build)
        waited = threading.Event()
        for _ in range(3000):  # the child has written what the mirror sent before it paused
            if partial.exists() and partial.stat().st_size >= half:
                break
            waited.wait(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        release.set()
    store = Store(tmp_path)
    assert store.installed() == [] and visible_entries(store) == []
    assert partial.stat().st_size == half, "the partial download stays for the next run"
    python = provision(build, store)
    assert python.build.sha256 == archive.sha256
    assert mirror.requests_for(archive.path)[-1].range == f"bytes={half}-"


def test_full_disk_is_a_clear_error(mirror: Mirror, tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full to simulate a full disk")
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    store = Store(tmp_path)
    downloads = store.root / ".downloads"
    downloads.mkdir(parents=True)
    (downloads / f"{build.sha256}.part").symlink_to("/dev/full")
    with pytest.raises(Exception, match="no space left on the device while downloading"):
        provision(build, store, policy=QUICK)
    assert store.installed() == []


def test_file_mirror_replaces_the_public_prefix(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    folder = tmp_path / "pbs" / RELEASE
    folder.mkdir(parents=True)
    (folder / archive.filename).write_bytes(archive.data)
    index = tmp_path / "index.ndjson"
    index.write_bytes(mirror.files["/index.ndjson"])
    mirror.stop()
    for setting in ((tmp_path / "pbs").as_uri(), str(tmp_path / "pbs")):
        build = load_catalog(str(index), mirror=setting).builds[0]
        assert build.url.startswith((tmp_path / "pbs").as_uri())
        store = Store(tmp_path / f"store-{len(setting)}")
        assert provision(build, store).build.sha256 == archive.sha256


def test_complete_partial_file_is_not_downloaded_again(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    store = Store(tmp_path)
    store.download_path(build).parent.mkdir(parents=True)
    store.download_path(build).write_bytes(archive.data)  # a run killed after its download finished
    provision(build, store)
    assert [r.range for r in mirror.requests_for(archive.path)] == [f"bytes={len(archive.data)}-"]


def test_no_partial_download_stays_once_the_build_is_installed(mirror: Mirror, tmp_path: Path) -> None:
    archive = make_archive("3.13.5", RELEASE, TRIPLE)
    mirror.publish([archive])
    build = build_of(archive, mirror)
    store = Store(tmp_path)
    provision(build, store)
    partial = store.download_path(build)
    assert not partial.exists(), "the download goes with the commit"
    partial.write_bytes(archive.data[:100])  # a run killed between its commit and its clean-up
    assert provision(build, store).build.sha256 == archive.sha256
    assert not partial.exists()
