"""Build hook: a clone without the built lab extension needs node and npm; say so in one line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUILT = "jupyter_pyvariant/labextension/package.json"
"""The lab extension's build output (the jupyter-builder hook's skip-if-exists)."""


def missing_tools(root: str | Path) -> str | None:
    """Why this tree cannot build its lab extension here, in one line (None: it can, or need not)."""
    if (Path(root) / BUILT).is_file():
        return None
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return None
    return (
        f"jupyter_pyvariant: building from a source tree compiles the lab extension, which needs node >= 20 "
        f"and npm ({' and '.join(missing)} not found on PATH): install them (Debian: apt-get install "
        "nodejs npm), or install a wheel built elsewhere with `python -m build`, which needs no node"
    )


class NpmCheckHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs before the jupyter-builder hook, whose own failure is a long traceback."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        message = missing_tools(self.root)
        if message:
            raise SystemExit(message)
