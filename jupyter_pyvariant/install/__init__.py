"""`%pyvariant install`: plan, recipes, the installer run, and locks."""

from __future__ import annotations


def failures() -> tuple[type[Exception], ...]:
    """Every error an install can end with because of its input or its sources (indexes, metadata,
    recipes, the installer, a lock): callers report these as one line; anything else is a bug."""
    from ..index.errors import IndexProblem
    from ..variants.metadata import MetadataError
    from ..variants.properties import VariantFormatError
    from .lock import LockError
    from .plan import PlanError
    from .recipes import RecipeError
    from .runner import InstallerError

    return (
        IndexProblem,
        LockError,
        PlanError,
        RecipeError,
        InstallerError,
        MetadataError,
        VariantFormatError,
    )
