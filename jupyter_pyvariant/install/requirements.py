"""Requirements as the user gives them: pip-style requirement files read, every requirement checked.

Errors are :class:`~.plan.PlanError`, naming the file and line or the requirement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .plan import PlanError


def read_requirement_files(paths: Iterable[str], _seen: frozenset[Path] = frozenset()) -> list[str]:
    """Requirement lines of pip-style files: comments, continuations and nested ``-r`` are handled."""
    found: list[str] = []
    for name in paths:
        path = Path(name).resolve()
        if path in _seen:
            raise PlanError(f"{name}: requirement files include each other")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PlanError(f"cannot read requirement file {name}: {exc.strerror or exc}") from None
        for number, raw in enumerate(text.replace("\\\n", "").splitlines(), 1):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith(("-r ", "--requirement ")):
                nested = line.split(None, 1)[1].strip()
                found += read_requirement_files([str(path.parent / nested)], _seen | {path})
            elif line.startswith("-"):
                raise PlanError(
                    f"{name}:{number}: option lines are not supported here ({line}); pass it as a flag"
                )
            else:
                found.append(line)
    return found


def check_requirements(requirements: Sequence[str]) -> None:
    """Fail on the first malformed requirement, by its text, before any index is read."""
    from packaging.requirements import InvalidRequirement, Requirement

    for text in requirements:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise PlanError(f"invalid requirement {text!r}: {exc}") from None
