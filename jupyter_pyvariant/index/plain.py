"""Projects lately seen without variants, remembered per set of indexes between runs."""

from __future__ import annotations

__all__ = ["PlainProjects"]

import hashlib
import json
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PlainProjects:
    """Projects lately seen without variants on these indexes (no recipe routing them either): an
    installer that reads the indexes after the view may be left to read them itself.

    Kept per set of upstream indexes in the state folder, each verdict for ``lifetime`` seconds
    (the time PyPI lets installers keep a project page), so a project that gains variants is
    chosen for again soon after.
    """

    path: Path | None
    lifetime: float = 600.0
    _until: dict[str, float] = field(default_factory=dict)
    _changed: bool = False

    @classmethod
    def for_indexes(cls, state_dir: Path | None, urls: tuple[str, ...]) -> PlainProjects:
        digest = hashlib.sha256("\n".join(urls).encode()).hexdigest()[:16]
        return cls(state_dir / f"view-plain-{digest}.json" if state_dir is not None else None)

    def load(self) -> None:
        if self.path is None:
            return
        with suppress(OSError, ValueError, TypeError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            now = time.time()
            self._until = {str(k): float(v) for k, v in data.items() if float(v) > now}

    def known(self, project: str) -> bool:
        return self._until.get(project, 0.0) > time.time()

    def record(self, project: str) -> None:
        if not self.known(project):
            self._until[project] = time.time() + self.lifetime
            self._changed = True

    def save(self) -> None:
        """The verdicts still fresh when the run began, and this run's."""
        if self.path is None or not self._changed:
            return
        with suppress(OSError):
            from .._atomic import write_text_atomic

            write_text_atomic(self.path, json.dumps(self._until, sort_keys=True))
