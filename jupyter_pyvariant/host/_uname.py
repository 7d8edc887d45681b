"""The running system's name, release and machine, as ``platform`` gives them.

``platform`` costs a tenth of a report run from a terminal to import, and on POSIX its answers are
``os.uname()``'s; it is imported only where ``os.uname`` does not exist (Windows).
"""

from __future__ import annotations

import os

from ._values import Record


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
    import platform

    other = platform.uname()
    return Uname(other.system, other.node, other.release, other.machine)
