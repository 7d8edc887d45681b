"""Facts about the running process that the standard library gives only behind costly imports.

``platform`` costs a tenth of a report run from a terminal to import, and on POSIX its uname answers
are ``os.uname()``'s; ``importlib.util`` brings contextlib for one lookup through ``sys.meta_path``.
"""

from __future__ import annotations

import os
import sys

from ._values import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec


class Uname(Record):
    """``platform.system()``, ``node()``, ``release()`` and ``machine()`` of this process's host."""

    system: str
    node: str
    release: str
    machine: str


def uname() -> Uname:
    if hasattr(os, "uname"):
        live = os.uname()
        return Uname(live.sysname, live.nodename, live.release, live.machine)
    import platform  # Windows has no os.uname

    other = platform.uname()
    return Uname(other.system, other.node, other.release, other.machine)


def find_spec(name: str) -> ModuleSpec | None:
    """``importlib.util.find_spec`` for a top-level module: where it is, without running it."""
    if name in sys.modules:
        return getattr(sys.modules[name], "__spec__", None)
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(name, None) if find is not None else None
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


def python_build(version: str = sys.version) -> tuple[str, str]:
    """``platform.python_version()`` and ``python_compiler()``: the first word of ``sys.version``
    and what its last brackets hold, as platform's parser reads them."""
    _, bracket, compiler = version.rpartition("[")
    return version.split(maxsplit=1)[0], compiler.rstrip("]") if bracket else ""
