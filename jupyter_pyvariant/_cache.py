"""Where this project keeps what it can fetch again (index pages, provider environments)."""

from __future__ import annotations

__all__ = ["user_cache_dir"]

import os
from pathlib import Path

CACHE_ENV = "PYVARIANT_CACHE_DIR"


def user_cache_dir() -> Path:
    """``$PYVARIANT_CACHE_DIR``, else the platform's per-user cache folder for jupyter_pyvariant."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("jupyter_pyvariant", appauthor=False))
