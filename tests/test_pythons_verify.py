"""An unpacked interpreter is asked how it was built; its kernel is named for the answer.

Test vectors: ``tests/data/interpreters/*.json`` are the answers of Debian 12's real interpreters to
the verification query (packages python3.11-minimal and python3.11-dbg, version 3.11.2-6+deb12u9,
amd64; the machine-specific ``prefix`` removed). The provisioning tests run those interpreters
themselves, repacked as python-build-standalone archives (``pbs_fixture``), under names that
promise more than they hold.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pbs_fixture import FixtureUnavailable, artifact_cache, debian_debug_python_archive, debian_python_archive
from pbs_mirror import Archive, Mirror

from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.host.recommend import KERNEL_CLAIM_ENV, build_disagreements, recommendations
from jupyter_pyvariant.kernels.spec import default_kernel_name, display_name
from jupyter_pyvariant.pythons.build import Build
from jupyter_pyvariant.pythons.catalog import load_catalog
from jupyter_pyvariant.pythons.fetch import provision
from jupyter_pyvariant.pythons.names import parse_archive_name
from jupyter_pyvariant.pythons.store import Store
from jupyter_pyvariant.pythons.verify import BuildFacts, Verification

DATA = Path(__file__).parent / "data" / "interpreters"
GENERIC = "x86_64-unknown-linux-gnu"
V4_NAME = "cpython-3.11.2+20260101-x86_64_v4-unknown-linux-gnu-install_only_stripped.tar.gz"
V1_NAME = f"cpython-3.11.2+20260101-{GENERIC}-install_only_stripped.tar.gz"


def answer(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def build(filename: str) -> Build:
    return Build.from_name(parse_archive_name(filename), f"https://example.org/{filename}", "0" * 64)


# -- the answer, parsed by the host wing's rules -------------------------------------------------------


def test_debians_generic_build_under_a_v4_name_is_named_v1_with_a_warning() -> None:
    checked = Verification.of(build(V4_NAME), answer("debian-python3.11"))
    facts = checked.facts
    assert checked.verified
    assert (facts.isa_level, facts.march, facts.pgo, facts.lto, facts.debug) == (
        "x86-64-v1",
        None,
        False,
        False,
        False,
    )
    assert display_name(facts) == "Python 3.11 · x86-64-v1"
    assert default_kernel_name(facts) == "pyvariant-3.11-v1"
    level, optimizations = checked.warnings
    assert "published as x86-64-v4" in level and "compiled for x86-64-v1 (no -march flag)" in level
    assert "published as PGO+LTO" in optimizations and "shows no PGO/LTO" in optimizations


def test_a_debug_interpreter_under_a_release_name_is_named_debug_with_a_warning() -> None:
    checked = Verification.of(build(V1_NAME), answer("debian-python3.11-dbg"))
    assert checked.facts.debug and checked.facts.isa_level == "x86-64-v1"
    assert display_name(checked.facts) == "Python 3.11 · x86-64-v1 · debug"
    assert default_kernel_name(checked.facts) == "pyvariant-3.11-v1-debug"
    assert len(checked.warnings) == 1
    assert "published as a release build, but its interpreter is a debug build" in checked.warnings[0]


def test_a_build_that_keeps_its_promise_has_no_warning() -> None:
    """A python-build-standalone x86_64_v3 answer (configure arguments as its builds record them)."""
    config = {
        "CONFIG_ARGS": "'--prefix=/install' '--enable-optimizations' '--with-lto' 'CFLAGS=-march=x86-64-v3'",
        "CFLAGS": "-O3 -march=x86-64-v3",
        "Py_DEBUG": 0,
    }
    reply = {"version": "3.13.5", "implementation": "cpython", "platform": "linux-x86_64", "config": config}
    filename = "cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-install_only_stripped.tar.gz"
    checked = Verification.of(build(filename), reply)
    assert checked.warnings == ()
    assert display_name(checked.facts) == "Python 3.13 · x86-64-v3 · PGO+LTO"


def test_what_an_interpreter_cannot_tell_comes_from_the_name_and_never_disagrees() -> None:
    filename = "cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-install_only_stripped.tar.gz"
    checked = Verification.of(build(filename), {"version": "3.13.5", "freethreaded": False, "debug": False})
    assert checked.verified and checked.warnings == ()
    assert checked.facts == BuildFacts.claimed_by(build(filename))


def test_a_marker_without_verification_reads_as_the_unverified_promise() -> None:
    promised = build(V4_NAME)
    for marker in ({}, {"verification": "damaged"}, {"verification": {"facts": {}}}):
        checked = Verification.recorded(promised, marker)
        assert not checked.verified and checked.facts.isa_level == "x86-64-v4"
    stored = Verification.of(promised, answer("debian-python3.11")).to_dict()
    assert Verification.recorded(promised, {"verification": stored}).facts.isa_level == "x86-64-v1"


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ({"isa_level": None, "debug": None, "pgo": None, "lto": None}, []),
        ({"isa_level": "x86-64-v3", "debug": False, "pgo": True, "lto": True}, []),
        ({"isa_level": "x86-64-v3", "debug": False, "pgo": False, "lto": True}, ["shows LTO"]),
        (
            {"isa_level": "x86-64-v2", "march": "x86-64-v2", "debug": False},
            ["compiled for x86-64-v2 (-march"],
        ),
        ({"implementation": "pypy", "isa_level": "x86-64-v3"}, ["its interpreter is pypy"]),
    ],
)
def test_disagreements_name_each_broken_promise(actual: dict[str, Any], expected: list[str]) -> None:
    claimed = {"archive": "a.tar.gz", "implementation": "cpython", "isa_level": "x86-64-v3", "debug": False}
    found = build_disagreements({**claimed, "pgo": True, "lto": True}, actual)
    assert len(found) == len(expected)
    assert all(part in line for part, line in zip(expected, found, strict=True))


# -- the kernel's own report compares the kernelspec's promise with itself ------------------------------


def test_the_kernels_report_warns_only_for_the_interpreter_the_promise_was_made_for() -> None:
    python = BuildFacts.reported(answer("debian-python3.11")).to_dict()
    python["real_executable"] = "/store/python/bin/python3.11"
    claim = {"archive": V4_NAME, **BuildFacts.claimed_by(build(V4_NAME)).to_dict()}
    report = HostFacts.from_dict({"python": python, "cpu": {}, "system": {}})

    def warnings(executable: str) -> list[str]:
        environ = {KERNEL_CLAIM_ENV: json.dumps({**claim, "executable": executable})}
        found: list[str] = recommendations(report, environ)["warnings"]
        return found

    assert any("published as x86-64-v4" in line for line in warnings("/store/python/bin/python3.11"))
    assert not any(V4_NAME in line for line in warnings("/elsewhere/bin/python3"))
    assert not any(V4_NAME in line for line in recommendations(report, {KERNEL_CLAIM_ENV: "{"})["warnings"])


# -- real interpreters, provisioned under names they do not deserve ------------------------------------


ProvisionAs = Callable[[Callable[[Path], Path], str], Verification]
"""(the maker of a real interpreter archive, the file name to publish it under) -> what was recorded."""


@pytest.fixture
def provision_as(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProvisionAs]:
    """Provision a real interpreter, made by its maker in the artifact cache, published under a name
    of the test's choosing on a loopback mirror; what the store recorded when it verified it."""
    if sys.platform != "linux":
        pytest.skip("the real interpreter fixtures are Debian's CPython")

    def provisioned(make: Callable[[Path], Path], filename: str) -> Verification:
        try:
            archive = make(artifact_cache(request))
        except FixtureUnavailable as exc:
            pytest.skip(f"real interpreter fixture unavailable: {exc}")
        mirror.publish([Archive(filename, archive.read_bytes(), "20260101")])
        catalog = load_catalog(f"{mirror.url}/index.ndjson", mirror=mirror.url)
        python = provision(next(b for b in catalog if b.filename == filename), Store(tmp_path))
        return Verification.recorded(python.build, python.marker)

    with Mirror() as mirror:
        yield provisioned


@pytest.mark.slow
def test_provisioning_records_that_debians_generic_build_is_not_v4(provision_as: ProvisionAs) -> None:
    checked = provision_as(debian_python_archive, V4_NAME)
    assert checked.verified and checked.facts.isa_level == "x86-64-v1"
    assert any("published as x86-64-v4" in line for line in checked.warnings)


@pytest.mark.slow
def test_provisioning_records_that_debians_debug_interpreter_is_a_debug_build(
    provision_as: ProvisionAs,
) -> None:
    checked = provision_as(debian_debug_python_archive, V1_NAME)
    assert checked.verified and checked.facts.debug
    assert display_name(checked.facts) == "Python 3.11 · x86-64-v1 · debug"
    assert any("debug build (Py_DEBUG)" in line for line in checked.warnings)
