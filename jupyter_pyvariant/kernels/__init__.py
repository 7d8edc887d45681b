"""Optimized kernels: a venv on a python-build-standalone interpreter, ipykernel, and a kernelspec.

``venv`` makes the environment, ``spec`` writes the kernelspec, ``manage`` installs, lists and
removes kernels end to end, ``switch`` moves a running notebook to another kernel, ``provisioner``
picks the interpreter per node at kernel start and ``compare`` measures two kernels side by side.
Every module imports its heavy dependencies lazily.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


class KernelError(Exception):
    """A kernel could not be made, found, removed or switched; the message says what and why."""


@cache
def kernel_facts() -> dict[str, Any]:
    """The knowledge table of this wing (``data/kernels.json``)."""
    text = resources.files(__package__).joinpath("data", "kernels.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
