"""Selection of the best build for a host report: levels, libc, flavours, versions, release pins,
on synthetic catalogs and on real ones (the matrix at the end)."""

from __future__ import annotations

from functools import cache
from urllib.parse import unquote

import pytest
from pbs_catalogs import UV_METADATA, pbs_installer_text, uv_entries
from pbs_mirror import host_facts, host_report

from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.pythons import snapshot
from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.catalog import Catalog, load_catalog
from jupyter_pyvariant.pythons.errors import NoMatchingBuild
from jupyter_pyvariant.pythons.formats import parse_catalog_text
from jupyter_pyvariant.pythons.names import parse_archive_name
from jupyter_pyvariant.pythons.select import InvalidRequest, Request, fitting_builds, normalize_level, select

LEVELS = ("x86_64_v4", "x86_64_v3", "x86_64_v2", "x86_64")


def catalog_of(*names: str) -> Catalog:
    sums = "".join(f"{i:064x}  {name}\n" for i, name in enumerate(names))
    return Catalog(tuple(parse_catalog_text(sums, "https://mirror.test/r/SHA256SUMS")), "test")


def names(version: str, release: str, arches: tuple[str, ...], libc: str, *flavours: str) -> list[str]:
    ext = {True: "tar.zst", False: "tar.gz"}
    return [
        f"cpython-{version}+{release}-{arch}-unknown-linux-{libc}-{flavour.replace('+install', '-install')}"
        f".{ext[flavour.endswith('-full')]}"
        for arch in arches
        for flavour in flavours
    ]


FLAVOURS = (
    "install_only_stripped",
    "install_only",
    "pgo+lto-full",
    "debug-full",
    "freethreaded+install_only_stripped",
)
CATALOG = catalog_of(
    *names("3.13.5", "20250612", LEVELS, "gnu", *FLAVOURS),
    *names("3.13.4", "20250604", LEVELS, "gnu", *FLAVOURS),
    *names("3.14.0", "20251014", LEVELS, "gnu", *FLAVOURS),
    *names("3.15.0a1", "20251014", LEVELS, "gnu", *FLAVOURS),
    *names("3.13.5", "20250612", LEVELS, "musl", "install_only_stripped", "lto+static-full"),
    *names("3.12.11", "20250612", LEVELS, "musl", "lto+static-full"),
    *names("3.13.5", "20250612", ("aarch64",), "gnu", "install_only_stripped"),
)


@pytest.mark.parametrize(
    ("level", "triple"),
    [
        ("x86-64-v4", "x86_64_v4-unknown-linux-gnu"),
        ("x86-64-v3", "x86_64_v3-unknown-linux-gnu"),
        ("x86-64-v2", "x86_64_v2-unknown-linux-gnu"),
        ("x86-64-v1", "x86_64-unknown-linux-gnu"),
        (None, "x86_64-unknown-linux-gnu"),
    ],
)
def test_highest_level_the_cpu_runs(level: str | None, triple: str) -> None:
    selection = select(CATALOG, host_facts(level=level), Request.parse("3.13"))
    assert selection.best.triple == triple
    assert selection.best.flavour == "install_only_stripped" and selection.best.version == "3.13.5"


def test_level_gap_takes_the_next_published_one_down() -> None:
    catalog = catalog_of(
        *names("3.13.5", "20250612", ("x86_64_v3", "x86_64"), "gnu", "install_only_stripped")
    )
    selection = select(catalog, host_facts(level="x86-64-v2"), Request.parse("3.13"))
    assert selection.best.triple == "x86_64-unknown-linux-gnu"
    assert selection.fallbacks(selection.best) == []
    v4 = select(catalog, host_facts(level="x86-64-v4"), Request())
    assert v4.best.level == "x86-64-v3"
    assert any("no x86-64-v4 build" in line for line in v4.explain())
    assert [b.level for b in v4.fallbacks(v4.best)] == ["x86-64-v1"]


def test_musl_host_gets_dynamic_musl_and_never_static() -> None:
    selection = select(CATALOG, host_facts(libc="musl"), Request.parse("3.13"))
    assert selection.best.triple == "x86_64_v3-unknown-linux-musl"
    assert all(not b.static and b.libc == "musl" for b in selection.candidates)
    assert any("statically linked" in line for line in selection.explain())
    with pytest.raises(NoMatchingBuild, match=r"3\.12.*versions published here: 3\.13\.5"):
        select(CATALOG, host_facts(libc="musl"), Request.parse("3.12"))


def test_glibc_host_never_gets_musl() -> None:
    assert all(b.libc == "gnu" for b in select(CATALOG, host_facts(), Request()).candidates)


def test_flavours() -> None:
    report = host_facts()
    freethreaded = select(CATALOG, report, Request.parse("3.14t"))
    assert (
        freethreaded.best.flavour == "freethreaded+install_only_stripped" and freethreaded.best.freethreaded
    )
    debug = select(CATALOG, report, Request.parse("3.13", debug=True))
    assert debug.best.flavour == "debug-full" and debug.best.filename.endswith(".tar.zst")
    plain = select(CATALOG, report, Request.parse("3.13.4"))
    assert plain.best.version == "3.13.4" and not plain.best.freethreaded and not plain.best.debug


def test_optimized_full_archive_when_no_install_only() -> None:
    catalog = catalog_of(
        *names("3.13.5", "20250612", ("x86_64",), "gnu", "pgo+lto-full", "debug-full", "noopt-full")
    )
    assert select(catalog, host_facts(), Request()).best.flavour == "pgo+lto-full"


def test_versions_latest_and_prerelease() -> None:
    report = host_facts()
    assert select(CATALOG, report, Request.parse("latest")).best.version == "3.14.0"
    assert select(CATALOG, report, Request.parse(None)).best.version == "3.14.0"
    assert select(CATALOG, report, Request.parse("3.15")).best.version == "3.15.0a1"
    assert select(CATALOG, report, Request.parse("3")).best.version == "3.14.0"
    with pytest.raises(NoMatchingBuild, match=r"3\.9.*published here: 3\.15\.0a1, 3\.14\.0, 3\.13\.5"):
        select(CATALOG, report, Request.parse("3.9"))
    with pytest.raises(NoMatchingBuild):
        select(CATALOG, report, Request.parse("3.1"))


def test_release_pin() -> None:
    pinned = select(CATALOG, host_facts(), Request.parse("3.13", release="20250604"))
    assert pinned.best.release == "20250604" and pinned.best.version == "3.13.4"
    with pytest.raises(NoMatchingBuild, match=r"release 20990101 has no build.*20251014"):
        select(CATALOG, host_facts(), Request.parse("3.13", release="20990101"))


def test_no_level_split_on_aarch64() -> None:
    selection = select(CATALOG, host_facts(arch="aarch64", level="armv8.2-a"), Request.parse("3.13"))
    assert selection.best.triple == "aarch64-unknown-linux-gnu" and selection.best.level is None
    assert any("no x86-64 level split" in line for line in selection.explain())


def test_unsupported_platform() -> None:
    with pytest.raises(NoMatchingBuild, match="no build for this host"):
        select(CATALOG, host_facts(arch="sparc64"), Request())


def test_forced_level_above_the_host() -> None:
    selection = select(CATALOG, host_facts(level="x86-64-v2"), Request.parse("3.13"), level="v4")
    assert selection.best.level == "x86-64-v4"
    assert not selection.runs_here(selection.best)
    assert any("above what this CPU runs" in line for line in selection.explain())
    below = select(CATALOG, host_facts(level="x86-64-v4"), Request.parse("3.13"), level="baseline")
    assert below.best.triple == "x86_64-unknown-linux-gnu" and below.runs_here(below.best)


def test_explain_says_why() -> None:
    report = host_report(level="x86-64-v3")
    report["cpu"].update(isa_next_level="x86-64-v4", isa_level_missing=["avx512f", "avx512bw"])
    lines = select(CATALOG, HostFacts.from_dict(report), Request.parse("3.13")).explain()
    text = "\n".join(lines)
    assert "x86-64-v4 would need avx512f, avx512bw" in text
    assert "x86-64-v3, the highest this CPU runs" in text
    assert "3.13 → 3.13.5" in text
    assert "falls back to x86_64_v2-unknown-linux-gnu, x86_64-unknown-linux-gnu" in text


@pytest.mark.parametrize(
    ("text", "version", "freethreaded", "debug"),
    [
        ("3.13", "3.13", False, False),
        ("3.14t", "3.14", True, False),
        ("3.13.5", "3.13.5", False, False),
        ("cpython-3.13+debug", "3.13", False, True),
        ("3.14+freethreaded", "3.14", True, False),
        ("latest", None, False, False),
        ("", None, False, False),
        ("3.15.0a1", "3.15.0a1", False, False),
    ],
)
def test_request_parsing(text: str, version: str | None, freethreaded: bool, debug: bool) -> None:
    request = Request.parse(text)
    assert (request.version, request.freethreaded, request.debug) == (version, freethreaded, debug)


@pytest.mark.parametrize("text", ["three", "3.x", "3.13q", "pypy3.10"])
def test_bad_requests(text: str) -> None:
    with pytest.raises(InvalidRequest, match="cannot read the Python version request"):
        Request.parse(text)


def test_bad_release_and_level() -> None:
    with pytest.raises(InvalidRequest, match="YYYYMMDD"):
        Request.parse("3.13", release="latest")
    with pytest.raises(InvalidRequest, match="unknown level 'v5'"):
        normalize_level("v5")
    assert normalize_level("x86_64_v3") == normalize_level("v3") == "x86-64-v3"


def test_fitting_builds_order() -> None:
    builds: list[Build] = fitting_builds(CATALOG, host_facts(level="x86-64-v2"))
    assert builds[0].version == "3.15.0a1" and builds[0].level == "x86-64-v2"
    assert all(b.level in ("x86-64-v2", "x86-64-v1") for b in builds)
    assert [b.version for b in builds] == sorted([b.version for b in builds], key=_vkey, reverse=True)


def _vkey(version: str) -> object:
    from packaging.version import Version

    return Version(version)


# -- real catalogs ---------------------------------------------------------------------------------
# pbs-installer 2026.10.25's versions.json, a trimmed copy of uv's download-metadata.json and the
# snapshot shipped in the package (tests/data/pbs/README.md).

HOSTS = {
    "v1": host_facts(level="x86-64-v1"),
    "v2": host_facts(level="x86-64-v2"),
    "v3": host_facts(level="x86-64-v3"),
    "v4": host_facts(level="x86-64-v4"),
    "musl-v3": host_facts(level="x86-64-v3", libc="musl"),
    "aarch64": host_facts(arch="aarch64", level="armv8.2-a"),
}
UV_ARCH = {"v1": "x86_64", "v2": "x86_64", "v3": "x86_64", "v4": "x86_64", "musl-v3": "x86_64"}


@cache
def real_catalog(name: str) -> Catalog:
    if name == "pbs-installer":
        return Catalog(tuple(parse_catalog_text(pbs_installer_text(), "https://unused.test/")), name)
    if name == "uv":
        return load_catalog(str(UV_METADATA))
    return Catalog(snapshot.builds(), name)


def uv_choice(host: str, minor: str, variant: str | None) -> str:
    """The file uv installs for ``uv python install {minor}`` on ``host``: the newest stable patch of
    the minor for the host's os, arch and libc, at the baseline level (uv picks no x86-64 level)."""
    libc = "musl" if host.startswith("musl") else "gnu"
    arch = UV_ARCH.get(host, "aarch64")
    entries = [
        e
        for e in uv_entries().values()
        if e["name"] == "cpython"
        and f"{e['major']}.{e['minor']}" == minor
        and not e["prerelease"]
        and (e["os"], e["arch"]["family"], e["arch"]["variant"], e["libc"], e["variant"])
        == ("linux", arch, None, libc, variant)
    ]
    newest = max(entries, key=lambda e: e["patch"])
    return unquote(newest["url"].rsplit("/", 1)[-1])


REQUESTS = {
    "3.13": Request.parse("3.13"),
    "3.13 --freethreaded": Request.parse("3.13", freethreaded=True),
    "3.14t": Request.parse("3.14t"),
    "3.12 --debug": Request.parse("3.12", debug=True),
    "3.13 freethreaded+debug": Request.parse("3.13+freethreaded+debug"),
    ">=3.12,<3.14": Request.parse(">=3.12,<3.14"),
}
UV_VARIANT = {"3.13": None, "3.13 --freethreaded": "freethreaded", "3.14t": "freethreaded"}
UV_VARIANT |= {"3.12 --debug": "debug", "3.13 freethreaded+debug": "freethreaded+debug"}


@pytest.mark.parametrize("catalog", ["uv", "snapshot"])
@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("request_text", UV_VARIANT)
def test_equal_to_or_better_than_uv(catalog: str, host: str, request_text: str) -> None:
    request = REQUESTS[request_text]
    best = select(real_catalog(catalog), HOSTS[host], request).best
    minor = request.version or ""
    uv = parse_archive_name(uv_choice(host, minor, UV_VARIANT[request_text]))
    assert (best.version, best.release, best.flavour, best.libc) == (
        uv.version,
        uv.release,
        uv.flavour,
        uv.libc,
    )
    assert best.triple.split("-", 1)[1] == uv.triple.split("-", 1)[1]
    if best.level is not None:
        host_level = HOSTS[host].cpu.level
        assert best.level == host_level, "the highest level the CPU runs: better than uv's baseline"


def test_free_threaded_requests_take_the_real_install_only_archive() -> None:
    """The archive an outside evaluation expected (and uv's level-blind choice, one level up)."""
    for request in (REQUESTS["3.13 --freethreaded"], Request.parse("3.13t")):
        best = select(real_catalog("uv"), HOSTS["v4"], request).best
        assert best.filename == (
            "cpython-3.13.15+20260814-x86_64_v4-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz"
        )
    best = select(real_catalog("pbs-installer"), HOSTS["v4"], REQUESTS["3.14t"]).best
    assert best.filename == (
        "cpython-3.14.9+20261021-x86_64-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz"
    ), "pbs-installer lists only baseline x86-64 builds"


@pytest.mark.parametrize("catalog", ["pbs-installer", "uv", "snapshot"])
@pytest.mark.parametrize("host", HOSTS)
def test_debug_builds_only_when_asked(catalog: str, host: str) -> None:
    for text, request in REQUESTS.items():
        try:
            selection = select(real_catalog(catalog), HOSTS[host], request)
        except NoMatchingBuild:
            assert catalog == "pbs-installer", f"{text} on {host}: only pbs-installer lacks musl and debug"
            continue
        assert all(b.debug == request.debug for b in selection.candidates), text
        assert all(b.freethreaded == request.freethreaded for b in selection.candidates), text
        assert not selection.best.static


def test_version_ranges_and_prereleases_on_real_catalogs() -> None:
    uv, pbsi = real_catalog("uv"), real_catalog("pbs-installer")
    assert select(uv, HOSTS["v3"], REQUESTS[">=3.12,<3.14"]).best.version == "3.13.15"
    assert select(uv, HOSTS["v3"], Request.parse("~=3.13.0")).best.version == "3.13.15"
    assert select(uv, HOSTS["v3"], Request.parse(">=3.12,!=3.14.7")).best.version == "3.14.6"
    assert select(uv, HOSTS["v3"], Request.parse("latest")).best.version == "3.14.7", "stable before rc"
    assert select(uv, HOSTS["v3"], Request.parse("3.15")).best.version == "3.15.0rc1", "only pre-releases"
    assert select(uv, HOSTS["v3"], Request.parse("3.15.0b4")).best.version == "3.15.0b4"
    assert select(uv, HOSTS["v3"], Request.parse(">=3.15.0a1")).best.version == "3.15.0rc1"
    assert select(pbsi, HOSTS["v1"], Request.parse("3.15")).best.version == "3.15.1"
    with pytest.raises(InvalidRequest, match="version range"):
        Request.parse(">=three")


def test_musl_and_aarch64_on_pbs_installer_say_what_is_missing() -> None:
    with pytest.raises(NoMatchingBuild, match="no build for x86_64_v3-unknown-linux-musl"):
        select(real_catalog("pbs-installer"), HOSTS["musl-v3"], Request.parse("3.13"))
    best = select(real_catalog("pbs-installer"), HOSTS["aarch64"], Request.parse("3.13")).best
    assert best.filename == "cpython-3.13.17+20261021-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz"


@pytest.mark.parametrize("host", HOSTS)
def test_the_snapshot_keeps_what_selection_chooses(host: str) -> None:
    """Trimming the full uv catalog loses no choice: the shipped snapshot was made from it."""
    trimmed = Catalog(tuple(snapshot.trim(real_catalog("uv"))), "trimmed")
    for text, request in REQUESTS.items():
        full = select(real_catalog("uv"), HOSTS[host], request)
        assert select(trimmed, HOSTS[host], request).best == full.best, text
