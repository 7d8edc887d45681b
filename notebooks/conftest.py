"""Offline stand-ins for the quickstart notebook's network: a package index and a python-build-standalone
mirror on 127.0.0.1.

nbval starts a notebook's kernel when the notebook's first cell is set up; the hook below puts the
stand-ins' addresses into the environment for exactly that moment, so the kernel (and only the
kernel) sees them the way a user's kernel sees ``UV_INDEX_URL`` or ``PYVARIANT_PYTHON_MIRROR``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

NEEDS_STANDINS = "quickstart.ipynb"
_stack = ExitStack()
_environ: dict[str, str] = {}


def _start_standins() -> dict[str, str]:
    """Build the demo wheels and archives, start both servers, and say where they are."""
    import pbs_mirror
    import variant_wheels

    work = Path(_stack.enter_context(tempfile.TemporaryDirectory(prefix="pyvariant-notebook-")))
    wheels = work / "wheels"
    wheels.mkdir()
    variant_wheels.build_simdinfo(wheels, work / "build")
    index = variant_wheels.IndexServer(wheels).start()
    _stack.callback(index.close)
    mirror = _stack.enter_context(pbs_mirror.Mirror())
    release = "20261101"
    mirror.publish(
        [
            pbs_mirror.make_archive("3.13.9", release, triple)
            for triple in (
                "x86_64-unknown-linux-gnu",
                "x86_64_v2-unknown-linux-gnu",
                "x86_64_v3-unknown-linux-gnu",
                "x86_64_v4-unknown-linux-gnu",
            )
        ]
    )
    return {
        "UV_INDEX_URL": index.url,
        "PIP_INDEX_URL": index.url,
        "PYVARIANT_DEMO_PACKAGE": "simdinfo",
        "PYVARIANT_PYTHON_CATALOG": f"{mirror.url}/index.ndjson",
        "PYVARIANT_PYTHON_MIRROR": mirror.url,
        "PYVARIANT_CACHE_DIR": str(work / "cache"),
        "PYVARIANT_PYTHON_STORE": str(work / "store"),
        "JUPYTER_DATA_DIR": str(work / "jupyter-data"),
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[Any]:
    """Around the set-up that starts the quickstart's kernel, expose the stand-ins to it."""
    if item.path.name != NEEDS_STANDINS:
        yield
        return
    if not _environ:
        _environ.update(_start_standins())
    saved = {name: os.environ.get(name) for name in _environ}
    os.environ.update(_environ)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_sessionfinish(session: pytest.Session) -> None:
    _stack.close()
