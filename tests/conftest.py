"""Shared pytest set-up: pytest-jupyter's server fixtures (jp_fetch, jp_serverapp, ...), configured the
way the server tests need them; the shared fixtures of the helper modules (``world``, ``venv``,
``simd_wheels``, ``private_catalog_cache`` ...), and the markers every module may use."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "browser_support",
    # helpers before the helpers that import them, so that pytest rewrites their asserts
    "variant_wheels",
    "pbs_mirror",
    "pbs_fixture",
    "gpu_support",
    "recipe_indexes",
]

X86_64_LINUX = sys.platform.startswith("linux") and platform.machine() == "x86_64"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "x86_64_linux(reason): needs an x86-64 Linux host (compiled test packages, uv's x86_64 provider); "
        "skipped elsewhere with the reason",
    )
    config.addinivalue_line(
        "markers", "world(levels, kernels): the interpreter levels and kernels of the module's world fixture"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("x86_64_linux")
    if marker is not None and not X86_64_LINUX:
        why = marker.kwargs.get("reason", "the test is written for x86-64 Linux")
        pytest.skip(f"{why}; this host is {sys.platform} on {platform.machine() or 'an unknown machine'}")


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    # Every route must be authenticated even where the server would let unauthenticated requests
    # through to handlers that forget to ask.
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_pyvariant": True},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def jp_base_url() -> str:
    # A non-root base URL proves the routes are mounted below it, as behind JupyterHub.
    return "/user/someone/"


_MACHINE_INDEX_SETTINGS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_TRUSTED_HOST",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_FIND_LINKS",
)


@pytest.fixture(autouse=True, scope="session")
def _no_machine_index_settings() -> Iterator[None]:
    """The index settings of the machine running the tests (a pip.conf naming a local mirror, a
    ``PIP_FIND_LINKS``) are not the tests': the run starts without them (before any other fixture
    sets its own), and a test about settings writes its own files and variables."""
    with pytest.MonkeyPatch.context() as patch:
        for name in _MACHINE_INDEX_SETTINGS:
            patch.delenv(name, raising=False)
        patch.setenv("PIP_CONFIG_FILE", os.devnull)
        patch.setenv("UV_NO_CONFIG", "1")
        yield


@pytest.fixture(scope="session")
def ipython() -> Any:
    """The terminal IPython shell of this test run, with the extension loaded: IPython starts one
    per process (a second ``start_ipython`` returns None), so every module shares it."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()
    shell.run_line_magic("load_ext", "jupyter_pyvariant")
    return shell
