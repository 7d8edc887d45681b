"""The host probes' stand-ins for ``platform`` and ``importlib.util`` answer as those do."""

from __future__ import annotations

import importlib.util
import platform
import sys

import pytest

from jupyter_pyvariant.host._runtime import find_spec, python_build, uname

# sys.version of real builds: python.org/Debian, python-build-standalone, conda-forge, a dev build.
SYS_VERSIONS = [
    ("3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]", "3.11.2", "GCC 12.2.0"),
    ("3.13.1 (main, Dec 19 2024, 14:32:52) [Clang 18.1.8 ]", "3.13.1", "Clang 18.1.8 "),
    (
        "3.12.7 | packaged by conda-forge | (main, Oct  4 2024, 16:05:46) [GCC 13.3.0]",
        "3.12.7",
        "GCC 13.3.0",
    ),
    ("3.14.0a1+ (heads/main:1f2e3d4, Oct 20 2024, 10:00:00) \n[GCC 14.2.0]", "3.14.0a1+", "GCC 14.2.0"),
]


@pytest.mark.parametrize(("text", "version", "compiler"), SYS_VERSIONS)
def test_python_build_reads_sys_version_as_platform_does(text: str, version: str, compiler: str) -> None:
    assert python_build(text) == (version, compiler)


def test_python_build_of_this_interpreter_is_platforms() -> None:
    assert python_build() == (platform.python_version(), platform.python_compiler())


def test_uname_is_platforms() -> None:
    live = uname()
    assert (live.system, live.node, live.release, live.machine) == (
        platform.system(),
        platform.node(),
        platform.release(),
        platform.machine(),
    )


@pytest.mark.parametrize("name", ["json", "pytest", "archspec", "no_such_module_here", "sys"])
def test_find_spec_finds_what_importlib_finds(name: str) -> None:
    ours, theirs = find_spec(name), importlib.util.find_spec(name)
    assert (ours is None) == (theirs is None)
    if theirs is not None and ours is not None:
        assert (ours.name, ours.origin) == (theirs.name, theirs.origin)


def test_find_spec_does_not_import_the_module() -> None:
    if "archspec" in sys.modules:
        pytest.skip("archspec was imported earlier in this process")
    assert find_spec("archspec") is not None
    assert "archspec" not in sys.modules
