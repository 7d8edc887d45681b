"""The per-node request: what ``kernel install --per-node`` records and the provisioner reads.

One typed value, written into ``metadata.pyvariant`` by :mod:`.manage` and read back at every
kernel start by :mod:`.provisioner`, so the two sides cannot drift apart. The metadata layout
(``request`` and ``variants``) is the one earlier kernelspecs carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import KernelError

if TYPE_CHECKING:
    from ..pythons.build import Build
    from ..pythons.select import Request


@dataclass(frozen=True)
class NodeBuild:
    """One level of a per-node kernel: its archive, its venv's interpreter, environment and warnings."""

    build: Build
    python: Path
    env: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "build": self.build.to_dict(),
            "python": str(self.python),
            "env": dict(self.env),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class PerNodeRequest:
    """The version and flavour asked for, and one venv per level to choose among at each start."""

    request: Request
    builds: tuple[NodeBuild, ...]

    def to_metadata(self) -> dict[str, Any]:
        """The ``request`` and ``variants`` keys of ``metadata.pyvariant``."""
        asked = self.request
        return {
            "request": {"version": asked.version, "freethreaded": asked.freethreaded, "debug": asked.debug},
            "variants": [build.to_dict() for build in self.builds],
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> PerNodeRequest:
        """Read back what :meth:`to_metadata` wrote; :class:`KernelError` for a kernelspec edited
        out of shape."""
        from ..pythons.build import Build
        from ..pythons.select import Request

        wanted = metadata.get("request") or {}
        variants = metadata.get("variants") or ()
        try:
            request = Request(
                version=wanted.get("version"),
                freethreaded=bool(wanted.get("freethreaded")),
                debug=bool(wanted.get("debug")),
            )
            builds = tuple(
                NodeBuild(
                    Build.from_dict(v["build"]),
                    Path(v["python"]),
                    {str(key): str(value) for key, value in (v.get("env") or {}).items()},
                    tuple(str(w) for w in v.get("warnings") or ()),
                )
                for v in variants
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise KernelError(f"the kernelspec's per-node request is malformed ({exc!r})") from None
        return cls(request, builds)

    def for_python(self, python: Path) -> NodeBuild | None:
        """The level whose venv interpreter is ``python``."""
        return next((build for build in self.builds if build.python == python), None)
