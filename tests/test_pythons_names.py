"""Archive names as python-build-standalone has published them, current and legacy.

The test vectors are real: every file of pbs-installer 2026.10.25's versions.json and a trimmed
copy of uv's download-metadata.json (tests/data/pbs, see its README).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from pbs_catalogs import pbs_installer_files, uv_entries

from jupyter_pyvariant.pythons.names import InvalidArchiveName, parse_archive_name

TOKENS = {
    "install_only",
    "install_only_stripped",
    "full",
    "pgo",
    "lto",
    "noopt",
    "static",
    "debug",
    "freethreaded",
    "shared",
}
LAYOUTS = {"install_only", "install_only_stripped", "full"}


def _url_name(url: str) -> str:
    return unquote(url.rsplit("/", 1)[-1])


def test_every_pbs_installer_name_parses_and_formats_back() -> None:
    cpython = [(v, f) for v, f in pbs_installer_files() if v["implementation"] == "cpython"]
    assert len(cpython) == 1851
    for version, file in cpython:
        name = parse_archive_name(file["filename"])
        assert name.filename == file["filename"] == _url_name(file["url"])
        assert name.version == "{major}.{minor}.{micro}".format(**version), file["filename"]
        assert f"/download/{name.release}" in file["url"] or name.legacy, file["filename"]
        assert name.tokens <= TOKENS and len(name.tokens & LAYOUTS) == 1, file["filename"]
        assert name.freethreaded == version["freethreaded"], file["filename"]
        assert name.full != file["install_only"], file["filename"]
        assert "-" not in name.flavour.removesuffix("-full"), "one spelling: '+'-joined options"


def test_pbs_installer_pypy_files_are_not_cpython_archives() -> None:
    pypy = [f["filename"] for v, f in pbs_installer_files() if v["implementation"] == "pypy"]
    assert len(pypy) == 147
    for filename in pypy:
        with pytest.raises(InvalidArchiveName, match="not a python-build-standalone archive name"):
            parse_archive_name(filename)


def _uv_facts(entry: dict[str, Any]) -> tuple[str, str, str | None, str | None, bool, bool]:
    version = "{major}.{minor}.{patch}{prerelease}".format(**entry)
    variant = entry["arch"]["variant"]
    level = f"x86-64-{variant}" if variant else ("x86-64-v1" if entry["arch"]["family"] == "x86_64" else None)
    level = level if entry["os"] == "linux" else None
    libc = entry["libc"] if entry["libc"] != "none" else None
    flags = (entry["variant"] or "").split("+")
    return version, entry["build"], level, libc, "freethreaded" in flags, "debug" in flags


def test_every_uv_metadata_name_parses_to_what_uv_says() -> None:
    cpython = {k: e for k, e in uv_entries().items() if e["name"] == "cpython" and e["sha256"]}
    assert len(cpython) > 300
    for key, entry in cpython.items():
        name = parse_archive_name(_url_name(entry["url"]))
        assert name.filename == _url_name(entry["url"])
        facts = (name.version, name.release, name.level, name.libc, name.freethreaded, name.debug)
        assert facts == _uv_facts(entry), key
        assert not name.static


@pytest.mark.parametrize(
    ("filename", "version", "release", "triple", "flavour", "level", "libc"),
    [
        (
            "cpython-3.13.15+20260814-x86_64_v4-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz",
            "3.13.15",
            "20260814",
            "x86_64_v4-unknown-linux-gnu",
            "freethreaded+install_only_stripped",
            "x86-64-v4",
            "gnu",
        ),
        (
            "cpython-3.13.15+20260814-x86_64_v2-unknown-linux-musl-freethreaded+debug-full.tar.zst",
            "3.13.15",
            "20260814",
            "x86_64_v2-unknown-linux-musl",
            "freethreaded+debug-full",
            "x86-64-v2",
            "musl",
        ),
        (
            "cpython-3.14.0+20251014-x86_64_v4-unknown-linux-gnu-freethreaded+pgo+lto-full.tar.zst",
            "3.14.0",
            "20251014",
            "x86_64_v4-unknown-linux-gnu",
            "freethreaded+pgo+lto-full",
            "x86-64-v4",
            "gnu",
        ),
        (
            "cpython-3.15.0a7+20260310-aarch64-unknown-linux-gnu-debug-full.tar.zst",
            "3.15.0a7",
            "20260310",
            "aarch64-unknown-linux-gnu",
            "debug-full",
            None,
            "gnu",
        ),
        (
            "cpython-3.12.1+20240107-x86_64-pc-windows-msvc-shared-pgo-full.tar.zst",
            "3.12.1",
            "20240107",
            "x86_64-pc-windows-msvc",
            "pgo-full",
            None,
            None,
        ),
        (
            "cpython-3.14.6+20260623-x86_64_v2-unknown-linux-musl-lto+static-full.tar.zst",
            "3.14.6",
            "20260623",
            "x86_64_v2-unknown-linux-musl",
            "lto+static-full",
            "x86-64-v2",
            "musl",
        ),
        (
            "cpython-3.10.19+20251028-armv7-unknown-linux-gnueabihf-install_only.tar.gz",
            "3.10.19",
            "20251028",
            "armv7-unknown-linux-gnueabihf",
            "install_only",
            None,
            "gnu",
        ),
    ],
)
def test_current_names(
    filename: str, version: str, release: str, triple: str, flavour: str, level: str | None, libc: str | None
) -> None:
    name = parse_archive_name(filename)
    assert (name.version, name.release, name.triple, name.flavour) == (version, release, triple, flavour)
    assert (name.level, name.libc, name.legacy) == (level, libc, False)
    assert name.filename == filename and name.stem + "." + name.extension == filename


def test_flavour_facts() -> None:
    ft = parse_archive_name(
        "cpython-3.14.0+20251014-x86_64-unknown-linux-gnu-freethreaded+pgo+lto-full.tar.zst"
    )
    assert ft.full and ft.freethreaded and not ft.debug and not ft.static
    assert ft.tokens == {"freethreaded", "pgo", "lto", "full"}
    debug = parse_archive_name("cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-debug-full.tar.zst")
    assert debug.debug and debug.full and not debug.freethreaded
    stripped = parse_archive_name(
        "cpython-3.13.15+20260814-x86_64-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz"
    )
    assert not stripped.full and stripped.freethreaded and stripped.minor == "3.13"
    assert stripped.tokens == {"freethreaded", "install_only_stripped"}
    windows = parse_archive_name("cpython-3.12.1+20240107-x86_64-pc-windows-msvc-shared-pgo-full.tar.zst")
    assert "shared" in windows.tokens and windows.flavour == "pgo-full"


def test_static_musl_marked_or_from_before_dynamic_musl() -> None:
    marked = parse_archive_name("cpython-3.14.6+20260623-x86_64-unknown-linux-musl-lto+static-full.tar.zst")
    dynamic = parse_archive_name("cpython-3.14.6+20260623-x86_64-unknown-linux-musl-install_only.tar.gz")
    old = parse_archive_name("cpython-3.12.3+20240415-x86_64_v3-unknown-linux-musl-install_only.tar.gz")
    assert marked.static and not dynamic.static
    assert old.static, "musl builds before the switch to dynamic linking were static without saying so"


@pytest.mark.parametrize(
    ("filename", "triple", "flavour", "release"),
    [
        (
            "cpython-3.8.2-x86_64-unknown-linux-gnu-pgo-20200518T0154.tar.zst",
            "x86_64-unknown-linux-gnu",
            "pgo-full",
            "20200518",
        ),
        (
            "cpython-3.9.6-x86_64-unknown-linux-gnu-install_only-20210724T1424.tar.gz",
            "x86_64-unknown-linux-gnu",
            "install_only",
            "20210724",
        ),
        (
            "cpython-3.9.6-x86_64-pc-windows-msvc-shared-install_only-20210724T1424.tar.gz",
            "x86_64-pc-windows-msvc",
            "install_only",
            "20210724",
        ),
        (
            "cpython-3.8.2-x86_64-pc-windows-msvc-shared-pgo-20200518T0154.tar.zst",
            "x86_64-pc-windows-msvc",
            "pgo-full",
            "20200518",
        ),
        (
            "cpython-3.9.1-x86_64-unknown-linux-gnu-pgo+lto-20210103T1125.tar.zst",
            "x86_64-unknown-linux-gnu",
            "pgo+lto-full",
            "20210103",
        ),
        ("cpython-3.7.5-windows-amd64-20191025T0540.tar.zst", "windows-amd64", "full", "20191025"),
    ],
)
def test_legacy_names(filename: str, triple: str, flavour: str, release: str) -> None:
    name = parse_archive_name(filename)
    assert (name.triple, name.flavour, name.release, name.legacy) == (triple, flavour, release, True)
    assert name.filename == filename


def test_first_releases_fit_no_host() -> None:
    name = parse_archive_name("cpython-3.7.1-linux64-20181218T1905.tar.zst")
    assert name.full and name.level is None and name.libc is None


def test_legacy_musl_is_static() -> None:
    assert parse_archive_name("cpython-3.8.2-x86_64-unknown-linux-musl-noopt-20200518T0154.tar.zst").static


@pytest.mark.parametrize(
    "filename",
    [
        "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-install_only_stripped.zip",
        "pypy3.10-v7.3.17-linux64.tar.bz2",
        "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu.tar.gz",
        "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-install_only.tar.gz.sha256",
        "cpython-3.8.2-x86_64-unknown-linux-gnu-turbo-20200518T0154.tar.zst",
        "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-pgo+lto.tar.zst",
        "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-install_only-full.tar.zst",
    ],
)
def test_rejects_other_names(filename: str) -> None:
    with pytest.raises(
        InvalidArchiveName,
        match=r"not a python-build-standalone archive name|no known flavour|unknown flavour|does not end",
    ):
        parse_archive_name(filename)
