"""What the target supports: this host's properties (or a profile's), the user's overrides applied.

One route for both consumers: the built-in providers answer once per session (from the host's
facts, :mod:`jupyter_pyvariant.host.properties`); the recipes test that answer with the overrides
applied, and each package's variant ranking starts from the same answer.

Worked out only when something needs it (a recipe naming a requested project, a project with
variants): started at once instead, it took CPU time from the installer and from installs that
never needed it.
"""

from __future__ import annotations

__all__ = ["HostSupport", "Support"]

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from . import recipes
from .plan import PlanError

if TYPE_CHECKING:
    from ..host.facts import HostFacts
    from ..host.properties import Supported
    from ..index.settings import IndexSettings
    from ..variants.metadata import VariantMetadata
    from ..variants.overrides import Overrides
    from ..variants.plugins import PluginOptions
    from ..variants.supported import SupportedProperties
    from .plan import Options


@dataclass(frozen=True)
class HostSupport:
    """The target's facts, what the built-in providers say of it (None when a profile stands in for
    it), and what it supports with the overrides applied (what the recipes test)."""

    facts: HostFacts
    builtin: SupportedProperties | None
    supported: SupportedProperties


class Support:
    """The supported properties of one session, worked out on first use (thread-safe)."""

    def __init__(self, options: Options, settings: IndexSettings) -> None:
        self.options = options
        self.settings = settings
        self.described = _describe(options)
        """Where the supported properties come from, and what the user changed (shown with the plan)."""
        if _overridden(options):
            self.overrides  # noqa: B018 - a bad --force or --profile fails now, before anything is read
        self._host: HostSupport | None = None
        self._lock = threading.Lock()
        self._by_metadata: dict[str, SupportedProperties] = {}

    @cached_property
    def overrides(self) -> Overrides:
        from ..variants.overrides import Overrides
        from ..variants.profiles import ProfileError

        options = self.options
        try:
            return Overrides.parse(
                force=options.force,
                forbid=options.forbid,
                prefer=options.prefer,
                profile=options.profile,
                enable_optional=options.enable_optional,
            )
        except (ProfileError, ValueError) as exc:
            raise PlanError(str(exc)) from None

    def host(self) -> HostSupport:
        """This host's facts and what it supports (a profile stands in for it when given)."""
        with self._lock:
            if self._host is None:
                from ..variants.providers import host_profile

                facts = _host_facts(self.options)
                if (profile := self.overrides.profile) is not None:
                    self._host = HostSupport(facts, None, self.overrides.apply(profile))
                else:
                    builtin = host_profile(facts)
                    self._host = HostSupport(facts, builtin, self.overrides.apply(builtin))
            return self._host

    def supported(self) -> Supported:
        """What the recipes test: the supported properties, overrides applied."""
        return self.host().supported.table

    def refuse(self, rewrite: recipes.Rewrite) -> recipes.Rewrite:
        """``rewrite``, unless it needs a GPU stack the target lacks: refused for this host, noted for
        a profile (the profiled machine may have more than its profile says)."""
        from dataclasses import replace

        refusal = recipes.refusal(rewrite.requirement, self.supported)
        if refusal is None:
            return rewrite
        if self.options.profile:
            found = f"profile {self.options.profile} has no {refusal.needs.upper()}"
            return replace(rewrite, note=refusal.message(rewrite.project, found))
        from ..host.properties import absent_reason

        namespace = "nvidia" if refusal.needs == "cuda" else "amd"
        lacking = absent_reason(namespace, self.host().facts)
        raise PlanError(
            f"{refusal.message(rewrite.project, f'this host has none ({lacking})')}; "
            "nothing was installed (--no-gpu-check installs it anyway)"
        )

    @cached_property
    def plugin_options(self) -> PluginOptions:
        from ..variants.plugins import PluginOptions

        return PluginOptions(
            cache_dir=self.options.cache_dir,
            installer_args=self.settings.installer_args(),
            installer=self.options.installer,
        )

    def for_metadata(
        self, metadata: VariantMetadata, installed: Callable[[], Mapping[str, str]]
    ) -> SupportedProperties:
        """What the target supports for one release's variants.json, asked once per set of providers
        and priorities (releases share them); ``installed`` gives the target's distributions and
        versions, asked only then."""
        from ..variants.providers import host_supported

        key = repr((metadata.priorities.namespaces, sorted(metadata.providers.items())))
        if key not in self._by_metadata:
            host = self.host()
            self._by_metadata[key] = host_supported(
                host.facts,
                metadata,
                builtin=host.builtin,
                trusted_plugins=self.options.trusted_plugins,
                overrides=self.overrides,
                plugin_options=self.plugin_options,
                installed=installed(),
            )
        return self._by_metadata[key]


def _overridden(options: Options) -> bool:
    """Whether the user said anything about support (then it is checked at once)."""
    return any((options.force, options.forbid, options.prefer, options.profile, options.enable_optional))


def _describe(options: Options) -> str:
    text = f"profile {options.profile}" if options.profile else "this host (built-in providers)"
    changes = [
        (what, items)
        for what, items in (
            ("forced", options.force),
            ("forbidden", options.forbid),
            ("preferred", options.prefer),
            ("optional providers enabled", options.enable_optional),
            ("trusted plugins", options.trusted_plugins),
        )
        if items
    ]
    return "; ".join([text, *(f"{what}: {', '.join(items)}" for what, items in changes)])


def _host_facts(options: Options) -> HostFacts:
    """The facts of the host the options name (another process's report), else of this one."""
    if options.host is not None:
        return options.host
    from ..host import report

    return report().facts
