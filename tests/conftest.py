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
