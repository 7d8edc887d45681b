"""Optimized kernels: a venv on a python-build-standalone interpreter, ipykernel, and a kernelspec.

``venv`` makes the environment, ``spec`` writes the kernelspec, ``manage`` installs, lists and
removes kernels end to end, ``switch`` moves a running notebook to another kernel, ``provisioner``
picks the interpreter per node at kernel start and ``compare`` measures two kernels side by side.
Every module imports its heavy dependencies lazily.
"""

from __future__ import annotations

from typing import Any

from ..errors import KernelError

__all__ = ["KernelError", "kernel_facts"]


def kernel_facts() -> dict[str, Any]:
    """The knowledge table of this wing (``data/kernels.json``)."""
    from .._data import table

    data: dict[str, Any] = table("kernels", "kernels.json")
    return data
