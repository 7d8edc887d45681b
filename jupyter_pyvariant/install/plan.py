"""The plan as values: what the user asked for (:class:`Options`) and what an install would do
(:class:`Plan`, one :class:`PlannedPackage` per file), decided before anything changes.

:mod:`.session` makes them; the verbs show them and :mod:`.lock` writes them down.
"""

from __future__ import annotations

__all__ = ["NOT_FOUND", "Options", "Plan", "PlanError", "PlannedPackage"]

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InstallError

if TYPE_CHECKING:
    from .._installer import InstallerKind
    from ..host.facts import HostFacts
    from ..index.models import FileLink
    from . import recipes
    from .choose import ProjectChoice

NOT_FOUND = "not found on the indexes"
"""A planned package's summary when no index offered a file for it."""


class PlanError(InstallError):
    """The plan cannot be made; the message names the package, the file and the source."""


@dataclass(frozen=True)
class PlannedPackage:
    """One file the installer will install, and how it was chosen."""

    name: str
    version: str
    filename: str | None
    """The upstream filename (with its variant label); None when the view had no file to show."""
    presented_filename: str | None
    url: str | None
    index: str | None
    sha256: str | None
    variant_label: str | None
    properties: tuple[str, ...]
    summary: str
    why: tuple[str, ...]
    rejected: Mapping[str, str]
    recipe: str | None
    variants_json: FileLink | None
    recipe_note: str | None = None
    """What the recipe did, or why a GPU-only package will not work on the profiled machine."""

    @classmethod
    def chosen(
        cls, name: str, version: str, choice: ProjectChoice | None, rewrite: recipes.Rewrite | None
    ) -> PlannedPackage:
        """What the installer resolved, ``name`` at ``version``, as the chooser presented it: the
        chosen wheel, else the version's sdist, else :data:`NOT_FOUND`."""
        chosen = choice.version(version) if choice else None
        link: FileLink | None = None
        presented: str | None = None
        if chosen is not None and chosen.wheels:
            link, presented = chosen.wheels[0].link, chosen.wheels[0].filename
            summary = chosen.summary
        elif choice is not None:
            link = next((other for other in choice.others if _sdist_version(other) == version), None)
            presented = link.filename if link else None
            summary = "source distribution" if link else NOT_FOUND
        else:
            summary = NOT_FOUND
        return cls(
            name=name,
            version=version,
            filename=link.filename if link else None,
            presented_filename=presented,
            url=link.url if link else None,
            index=link.index if link else None,
            sha256=link.sha256 if link else None,
            variant_label=chosen.label if chosen and chosen.wheels else None,
            properties=chosen.properties if chosen and chosen.wheels else (),
            summary=summary,
            why=chosen.why if chosen else (),
            rejected=dict(chosen.rejected) if chosen else {},
            recipe=rewrite.rule if rewrite else None,
            variants_json=chosen.variants_json if chosen else None,
            recipe_note=rewrite.note if rewrite else None,
        )

    def to_json(self) -> dict[str, Any]:
        variants = self.variants_json
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "presented_filename": self.presented_filename,
            "variant_label": self.variant_label,
            "properties": list(self.properties),
            "summary": self.summary,
            "why": list(self.why),
            "rejected": dict(self.rejected),
            "recipe": self.recipe,
            "recipe_note": self.recipe_note,
            "index": self.index,
            "url": self.url,
            "sha256": self.sha256,
            "variants_json": None if variants is None else {"url": variants.url, "sha256": variants.sha256},
        }


@dataclass(frozen=True)
class Plan:
    """Everything an install would do, decided before anything changes."""

    target: str
    installer: str
    indexes: tuple[str, ...]
    supported_from: str
    requests: tuple[recipes.Rewrite, ...]
    packages: tuple[PlannedPackage, ...]
    reinstall: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    """What the user should know before trusting the plan (a route that fell back)."""
    repaired: tuple[str, ...] = ()
    """Distributions an interrupted install had left without RECORD, installed again whole."""

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(r.requirement for r in self.requests)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "installer": self.installer,
            "indexes": list(self.indexes),
            "supported_from": self.supported_from,
            "requests": [
                {
                    "requested": r.original,
                    "requirement": r.requirement,
                    "recipe": r.rule,
                    "note": r.note,
                    "indexes": list(r.indexes),
                    "turn_off": r.switch if r.rule else None,
                }
                for r in self.requests
            ],
            "reinstall": list(self.reinstall),
            "packages": [p.to_json() for p in self.packages],
            "warnings": list(self.warnings),
            "repaired": list(self.repaired),
        }


@dataclass(frozen=True)
class Options:
    """What the user asked for; the verbs fill it from flags."""

    requirements: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    python: str | None = None
    profile: str | None = None
    recipes: bool = True
    installer: InstallerKind | None = None
    trusted_plugins: tuple[str, ...] = ()
    """Provider plugins (package, namespace or plugin API) allowed to run, in their own environment."""
    force: tuple[str, ...] = ()
    """``namespace :: feature :: value`` to treat as supported, ahead of what the providers say."""
    forbid: tuple[str, ...] = ()
    """Namespaces, features or properties never to use."""
    prefer: tuple[str, ...] = ()
    """Namespaces, features or properties to rank first."""
    enable_optional: tuple[str, ...] = ()
    """Optional providers (by namespace) to use."""
    opt_in: tuple[str, ...] = ()
    """Experimental recipe routes to use (``torch-variant-index``)."""
    strict_recipes: bool = False
    """Fail, instead of falling back to the usual route, when an opt-in route does not answer."""
    gpu_check: bool = True
    """Refuse packages that need a GPU stack this host lacks (``refusals.toml``)."""
    timeout: float = 30.0
    cache_dir: Path | None = None
    host: HostFacts | None = None
    """The facts of a host standing in for this one (a remote kernel's report, read with
    ``HostFacts.from_dict``; tests); None: probe this host."""


def _sdist_version(link: FileLink) -> str | None:
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        return str(parse_sdist_filename(link.filename)[1])
    except InvalidSdistFilename:
        return None
