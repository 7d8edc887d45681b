"""Archive names as python-build-standalone has published them, current and legacy."""

from __future__ import annotations

import pytest

from jupyter_pyvariant.pythons.names import InvalidArchiveName, parse_archive_name


@pytest.mark.parametrize(
    ("filename", "version", "release", "triple", "flavour", "level", "libc"),
    [
        (
            "cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-install_only_stripped.tar.gz",
            "3.13.5",
            "20250612",
            "x86_64_v3-unknown-linux-gnu",
            "install_only_stripped",
            "x86-64-v3",
            "gnu",
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
            "cpython-3.13.1+20241206-x86_64-unknown-linux-musl-freethreaded+install_only.tar.gz",
            "3.13.1",
            "20241206",
            "x86_64-unknown-linux-musl",
            "freethreaded+install_only",
            "x86-64-v1",
            "musl",
        ),
        (
            "cpython-3.12.10+20250409-aarch64-apple-darwin-install_only.tar.gz",
            "3.12.10",
            "20250409",
            "aarch64-apple-darwin",
            "install_only",
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
    assert name.stem + "." + name.extension == filename


def test_flavour_facts() -> None:
    ft = parse_archive_name(
        "cpython-3.14.0+20251014-x86_64-unknown-linux-gnu-freethreaded+pgo+lto-full.tar.zst"
    )
    assert ft.full and ft.freethreaded and not ft.debug and not ft.static
    assert ft.tokens == {"freethreaded", "pgo", "lto"}
    debug = parse_archive_name("cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-debug-full.tar.zst")
    assert debug.debug and debug.full and not debug.freethreaded
    stripped = parse_archive_name(
        "cpython-3.13.5+20250612-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
    )
    assert not stripped.full and stripped.minor == "3.13"


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
    ],
)
def test_legacy_names(filename: str, triple: str, flavour: str, release: str) -> None:
    name = parse_archive_name(filename)
    assert (name.triple, name.flavour, name.release, name.legacy) == (triple, flavour, release, True)


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
    ],
)
def test_rejects_other_names(filename: str) -> None:
    with pytest.raises(
        InvalidArchiveName,
        match=r"not a python-build-standalone archive name|no known flavour|unknown flavour",
    ):
        parse_archive_name(filename)
