"""Shared pytest set-up: pytest-jupyter's server fixtures (jp_fetch, jp_serverapp, ...), configured the
way the server tests need them."""

from __future__ import annotations

from typing import Any

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]


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


@pytest.fixture(autouse=True)
def _no_machine_index_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index settings of the machine running the tests (a pip.conf naming a local mirror, a
    ``PIP_FIND_LINKS``) are not the test's: every test starts without them, and a test about
    settings writes its own files and variables."""
    import os

    for name in _MACHINE_INDEX_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
