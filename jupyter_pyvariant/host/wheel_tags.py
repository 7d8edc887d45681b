"""The interpreter's most specific wheel tags, without importing ``packaging.tags`` on the report's path.

``packaging.tags`` is the reference, but importing it costs more than the rest of the system probe
(logging, its ELF reader). For CPython on a 64-bit glibc Linux the head of its ``sys_tags()`` follows
from facts at hand: ``cp3X`` with the ABI's ``t``/``d`` flags (PEP 425, PEP 703), then the native
``linux_<arch>`` and ``manylinux_2_<minor>_<arch>`` from glibc's own minor downwards (PEP 600). Every
other case (musl, macOS, Windows, 32-bit interpreters, a glibc old enough for the head to reach the
legacy ``manylinux2014`` aliases, a ``_manylinux`` override module) asks packaging itself.
"""

from __future__ import annotations

import sys
import sysconfig
from itertools import islice

from ._runtime import find_spec
from ._values import data_table

# Below glibc 2.18 the list interleaves the legacy aliases (2.17 is manylinux2014): packaging's case.
_LOWEST_PLAIN_MINOR = 18
# packaging 26.3 moved the native linux_<arch> tag ahead of the manylinux ones.
_NATIVE_FIRST_SINCE = (26, 3)


def top_tags(count: int, libc_family: str, libc_version: str | None) -> tuple[str, ...]:
    """The first ``count`` tags of ``packaging.tags.sys_tags()``, as strings."""
    return _glibc_cpython_head(count, libc_family, libc_version) or _packaging_head(count)


def _packaging_head(count: int) -> tuple[str, ...]:
    from packaging.tags import sys_tags

    return tuple(str(tag) for tag in islice(sys_tags(), count))


def _glibc_cpython_head(count: int, libc_family: str, libc_version: str | None) -> tuple[str, ...] | None:
    """The head for CPython on 64-bit glibc Linux; None where only packaging knows."""
    major, _, minor = (libc_version or "").partition(".")
    arch = sysconfig.get_platform().removeprefix("linux-").replace("-", "_").replace(".", "_")
    if (
        sys.implementation.name != "cpython"
        or not sys.platform.startswith("linux")
        or libc_family != "glibc"
        or major != "2"
        or not minor.isdigit()
        or sys.maxsize <= 2**32
        or arch not in data_table("system.json")["manylinux_arches"]
        or _has_manylinux_override()
    ):
        return None
    platforms = [f"manylinux_2_{m}_{arch}" for m in range(int(minor), _LOWEST_PLAIN_MINOR - 1, -1)]
    if len(platforms) < count:  # the head would reach the legacy aliases
        return None
    platforms.insert(0 if _native_first() else len(platforms), f"linux_{arch}")
    interpreter = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    return tuple(f"{interpreter}-{_abi(interpreter)}-{name}" for name in platforms[:count])


def _abi(interpreter: str) -> str:
    """``cp313t``, ``cp311d``: the free-threading and debug flags of the running build."""
    debug = sysconfig.get_config_var("Py_DEBUG")
    if debug is None:
        debug = hasattr(sys, "gettotalrefcount")
    threading = sys.version_info >= (3, 13) and bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return f"{interpreter}{'t' if threading else ''}{'d' if debug else ''}"


def _native_first() -> bool:
    from packaging import __version__

    numbers = [int(part) for part in __version__.split(".")[:2] if part.isdigit()]
    return tuple(numbers) >= _NATIVE_FIRST_SINCE


def _has_manylinux_override() -> bool:
    """A ``_manylinux`` module may veto manylinux tags (PEP 600): packaging then has to ask it."""
    return "_manylinux" in sys.modules or find_spec("_manylinux") is not None
