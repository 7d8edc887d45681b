"""`%pyvariant install`: plan, recipes, the installer run, and locks."""

from __future__ import annotations

__all__ = ["failures"]


def failures() -> tuple[type[Exception], ...]:
    """Every error an install can end with because of its input or its sources (indexes, metadata,
    recipes, the installer, a lock): callers report these as one line; anything else is a bug."""
    from ..errors import INSTALL_BRANCHES

    return INSTALL_BRANCHES
