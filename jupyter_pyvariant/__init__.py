"""jupyter_pyvariant: make a notebook use the hardware it actually runs on.

Only the doors live here (IPython extension, server extension, lab extension paths); every wing is
imported lazily so that loading the extension stays cheap.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_pyvariant`: register the magics (their modules load on first use) and the
    ``pyvariant`` comm target through which a frontend performs kernel switches."""
    from .kernels.switch import register_comm_target
    from .magics import register

    register(ipython)
    register_comm_target(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_pyvariant.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-pyvariant"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .server import _load_jupyter_server_extension as load

    load(server_app)
