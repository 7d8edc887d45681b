"""Shared pytest set-up: pytest-jupyter's server fixtures (jp_fetch, jp_serverapp, ...)."""

from __future__ import annotations

pytest_plugins = ["pytest_jupyter.jupyter_server"]
