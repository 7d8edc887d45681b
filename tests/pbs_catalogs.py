"""The real python-build-standalone catalogs under tests/data/pbs (see its README for their origin)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "pbs"
# pbs-installer 2026.10.25, pbs_installer/versions.json (gzip'd, unchanged).
PBS_INSTALLER = DATA / "pbs-installer-versions.json.gz"
# astral-sh/uv crates/uv-python/download-metadata.json at 26a9dd4b (2026-08-21), trimmed.
UV_METADATA = DATA / "uv-download-metadata.json"


def pbs_installer_text() -> str:
    return gzip.decompress(PBS_INSTALLER.read_bytes()).decode()


def pbs_installer_files() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (python_version, file) pair of pbs-installer's versions.json."""
    return [
        (entry["python_version"], file)
        for entry in json.loads(pbs_installer_text())
        for file in entry["files"]
    ]


def uv_entries() -> dict[str, dict[str, Any]]:
    """uv's download metadata: key → entry."""
    entries: dict[str, dict[str, Any]] = json.loads(UV_METADATA.read_text(encoding="utf-8"))
    return entries
