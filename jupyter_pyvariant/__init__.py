"""jupyter_pyvariant: make a notebook use the hardware it actually runs on.

Only the doors live here (IPython extension, server extension, lab extension paths); every wing is
imported lazily so that loading the extension stays cheap.
"""

from __future__ import annotations

from ._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["__version__", "load_ipython_extension"]

COMM_TARGET = "pyvariant"


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_pyvariant`: register the magics (their modules load on first use) and the
    ``pyvariant`` comm target through which a frontend performs kernel switches."""
    from .magics import register

    register(ipython)
    register_comm_target(ipython)


def register_comm_target(shell: Any) -> None:
    """In a kernel, let a frontend announce itself on target ``pyvariant``; the switch wing is
    imported when one does, so that loading the extension does not pay for it."""
    if getattr(shell, "kernel", None) is None:
        return
    import comm

    comm.get_comm_manager().register_target(COMM_TARGET, _frontend_opened)


def _frontend_opened(comm: Any, open_msg: Any) -> None:
    from .kernels.switch import frontend_opened

    frontend_opened(comm, open_msg)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_pyvariant.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-pyvariant"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .server import _load_jupyter_server_extension as load

    load(server_app)
