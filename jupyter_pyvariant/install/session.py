"""One install, plan, lock or sync, from requested packages to the installer's resolution.

A :class:`Session` owns everything one ``install`` / ``plan`` / ``lock`` / ``sync`` needs: the
target interpreter, the supported properties (this host's, or a profile's), the index clients and
the loopback view. Its :class:`.choose.VariantChooser` decides, per project and version, which
wheel the installer may see, and remembers why; the installer's own dry run against the view then
says what would be installed, dependencies included. Nothing in the environment changes before the
plan is complete.
"""

from __future__ import annotations

__all__ = ["Session", "in_background"]

import threading
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from packaging.utils import canonicalize_name as normalize

from .. import _installer
from .._cache import user_cache_dir
from ..index.client import SimpleClient
from ..index.settings import IndexSettings, environment_prefix
from ..index.view import IndexView
from . import recipes, runner
from .choose import VariantChooser
from .plan import Options, Plan, PlanError, PlannedPackage
from .requirements import check_requirements, read_requirement_files
from .support import Support
from .target import PendingTarget, Target, ask_target, set_aside

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..display import Progress
    from ..variants.metadata import VariantMetadata
    from ..variants.supported import SupportedProperties


T = TypeVar("T")


class Session:
    """One planning and installing session: target, supported properties, index clients, the view."""

    def __init__(self, options: Options, *, target: PendingTarget | None = None) -> None:
        # The target answers from a subprocess, started before anything else (or by the caller, as
        # soon as it knows the interpreter): it answers while the index pages are read; what needs it
        # waits (``target``).
        self._target = ask_target(options.python) if target is None else target
        self.options = options
        self.settings = IndexSettings.from_options(
            options.index_url,
            options.extra_index_urls,
            options.find_links,
            prefix=environment_prefix(options.python),
        )
        self.support = Support(options, self.settings)
        self._clients: dict[tuple[str, ...], SimpleClient] = {}
        self.routes: dict[str, tuple[str, ...]] = {}
        self.warnings: list[str] = []
        """What the plan will say the user should know (a recipe route that fell back)."""
        self.chooser = VariantChooser(
            self._client_for, self._supported_for, lambda: self.target.tags, routed=self.routes.__contains__
        )
        self.view = IndexView(
            self._client_for(""), self.chooser.presented, state_dir=options.cache_dir or user_cache_dir()
        )

    @property
    def target(self) -> Target:
        """The target interpreter's answer (asked in the background since the session began)."""
        return self._target.result()

    @cached_property
    def installer(self) -> runner.TargetInstaller:
        return runner.TargetInstaller.choose(self.target, self.options.installer)

    # -- plumbing ----------------------------------------------------------------------------------

    def _client(self, urls: tuple[str, ...]) -> SimpleClient:
        if urls not in self._clients:
            settings = self.settings if urls == self.settings.urls else self.settings.routed(urls)
            kwargs: dict[str, Any] = {"timeout": self.options.timeout}
            if self.options.cache_dir is not None:
                kwargs["cache_dir"] = self.options.cache_dir
            self._clients[urls] = SimpleClient(settings, **kwargs)
        return self._clients[urls]

    def _client_for(self, project: str) -> SimpleClient:
        return self._client(self.routes.get(project, self.settings.urls))

    def _supported_for(self, metadata: VariantMetadata) -> SupportedProperties:
        return self.support.for_metadata(metadata, self._installed_versions)

    def _installed_versions(self) -> dict[str, str]:
        return {d.name: d.version for d in self.target.distributions}

    def __enter__(self) -> Session:
        self.view.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.view.__exit__(kind, value, traceback)
        for client in self._clients.values():
            client.close()

    # -- planning ----------------------------------------------------------------------------------

    def rewrites(self) -> list[recipes.Rewrite]:
        """The requested requirements after the recipes (when enabled), with index routes recorded.

        A package that needs a GPU stack this host lacks is refused here, before anything runs; an
        opt-in route whose index does not answer gives way to the next recipe, with a warning.
        """
        requested = [*self.options.requirements, *read_requirement_files(self.options.requirement_files)]
        if not requested:
            raise PlanError("nothing to install: name packages or pass -r requirements.txt")
        check_requirements(requested)
        rewrites = [
            recipes.apply(r, self.support.supported, opted_in=self.options.opt_in)
            if self.options.recipes
            else recipes.Rewrite(r, r)
            for r in requested
        ]
        if self.options.gpu_check:
            rewrites = [self.support.refuse(rewrite) for rewrite in rewrites]
        self._route(rewrites)
        if any(r.fallback for r in rewrites):
            rewrites = [self._fall_back(r) if r.fallback else r for r in rewrites]
            self._route(rewrites)
        return rewrites

    def _route(self, rewrites: Sequence[recipes.Rewrite]) -> None:
        from packaging.requirements import Requirement

        self.routes.clear()
        for rewrite in rewrites:
            self.chooser.wanted[rewrite.project] = Requirement(rewrite.requirement).specifier
            if rewrite.indexes:
                extra = () if rewrite.exclusive else self.settings.urls
                for project in rewrite.routed:
                    self.routes[project] = tuple(dict.fromkeys((*rewrite.indexes, *extra)))

    def _fall_back(self, rewrite: recipes.Rewrite) -> recipes.Rewrite:
        """``rewrite``, or the next recipe's when its opt-in index does not answer (or fail, if strict)."""
        from ..index.errors import IndexProblem

        try:
            self.chooser.prefetch([rewrite.project])
        except IndexProblem as exc:
            if self.options.strict_recipes:
                raise PlanError(f"{exc}; {rewrite.blame()}; --strict-recipes: no fallback") from None
            skip = {rewrite.rule or ""}
            instead = recipes.apply(
                rewrite.original, self.support.supported, opted_in=self.options.opt_in, skip=skip
            )
            self.warnings.append(
                f"{exc}: recipe {rewrite.rule} fell back to "
                + (f"recipe {instead.rule} ({', '.join(instead.indexes) or instead.requirement})"
                   if instead.rule else "the usual indexes")
                + " (--strict-recipes fails instead)"
            )  # fmt: skip
            return instead
        return rewrite

    def _blamed(self, error: Exception, rewrites: Sequence[recipes.Rewrite]) -> Exception:
        """``error`` with the recipe that chose the failing project's index, its URL and how to turn it
        off; unchanged when no recipe routed that project."""
        text = str(error)
        for rewrite in rewrites:
            if rewrite.rule and any(text.startswith(f"{p}: ") for p in (rewrite.project, *rewrite.routed)):
                return PlanError(f"{text}; {rewrite.blame()}")
        return error

    def _installed_closure(self, projects: Iterable[str]) -> list[str]:
        """These projects and their installed dependencies, transitively, as far as they are installed.

        An installed dependency satisfies the installer as it is, whatever its variant; these are the
        projects whose installed variant the plan must compare with the best fit.
        """
        from packaging.requirements import InvalidRequirement, Requirement

        seen: dict[str, None] = {}
        pending = [normalize(p) for p in projects]
        while pending:
            name = pending.pop()
            installed = self.target.installed(name)
            if name in seen or installed is None:
                continue
            seen[name] = None
            for text in installed.requires:
                try:
                    pending.append(normalize(Requirement(text).name))
                except InvalidRequirement:
                    continue
        return list(seen)

    def _stale(self, projects: Sequence[str]) -> list[str]:
        """Installed projects whose installed variant is not the one the view would now present."""
        projects = [name for name in projects if not self.view.hands_through(name)]  # no variants
        self.chooser.prefetch(projects)
        stale = []
        for name in projects:
            installed = self.target.installed(name)
            if installed is None:
                continue
            choice = self.chooser.choose(name)
            version = choice.version(installed.version) if choice else None
            if version and version.has_variants and version.wheels and installed.label != version.label:
                stale.append(name)
        return stale

    def _prepare(
        self, rewrites: Sequence[recipes.Rewrite], progress: Progress | None, fresh: bool
    ) -> list[str]:
        """Requested pages read and checked, and the installed projects whose variant to replace."""
        projects = [r.project for r in rewrites]
        if progress:
            progress.update(0, "reading indexes")
        self._read_ahead(projects, rewrites)  # bad metadata of a requested package fails here, by name
        stale = self._stale([] if fresh else self._installed_closure(projects))
        if progress:
            progress.update(0, f"resolving with {self.installer.kind}")
        return stale

    def _read_ahead(self, projects: Iterable[str], rewrites: Sequence[recipes.Rewrite] = ()) -> None:
        """Read these projects' pages (concurrently) and choose; the view starts fetching their files.

        An index that fails for a project a recipe routed is blamed on that recipe.
        """
        from ..index.errors import IndexProblem

        names = [name for name in projects if not self.view.hands_through(normalize(name))]
        try:
            self.chooser.prefetch(names)
            for name in names:
                self.view.project(name)
        except IndexProblem as exc:
            raise self._blamed(exc, rewrites) from None

    def _plan_from(
        self,
        rewrites: Sequence[recipes.Rewrite],
        resolved: Iterable[tuple[str, str]],
        reinstall: Sequence[str],
        repaired: Sequence[str] = (),
    ) -> Plan:
        by_project = {r.project: r for r in rewrites}
        packages = tuple(
            self._planned(name, version, by_project.get(normalize(name))) for name, version in resolved
        )
        return Plan(
            target=self.target.executable,
            installer=self.installer.kind,
            indexes=tuple(self.settings.describe()),
            supported_from=self.support.described,
            requests=tuple(rewrites),
            packages=packages,
            reinstall=tuple(reinstall),
            warnings=tuple(self.warnings),
            repaired=tuple(repaired),
        )

    def plan(self, progress: Progress | None = None, *, fresh: bool = False) -> Plan:
        """Resolve with the installer's dry run against the view; the environment is untouched.

        ``fresh`` lists everything the requirements need, as for an empty environment (locks).
        """
        rewrites = self.rewrites()
        upstream = () if fresh else self._hand_through(on_sight=False)  # a lock shows every file
        reinstall = self._prepare(rewrites, progress, fresh)
        requirements = [r.requirement for r in rewrites]
        problems = self.view.problems
        resolved = runner.resolve(
            self.installer,
            self.view.installer_url,
            requirements,
            problems,
            reinstall=reinstall,
            fresh=fresh,
            after=upstream,
        )
        return self._plan_from(rewrites, resolved, reinstall)

    def install(self, progress: Progress | None = None) -> Plan:
        """Install in one installer run, and return the plan it carried out.

        The installer resolves everything against the view, and fetches every file, before it
        changes anything; every variant choice is made by then. A separate dry run first would
        only double the work (``--dry-run`` / ``plan`` show it without installing). The view reads
        ahead: each selected project's likely file is fetched at once.

        The requested pages are read while the target interpreter is still being asked. When none
        of the requested projects is installed, no installed variant can need replacing, so the
        installer starts as soon as the target has answered, while the pages may still arrive.
        """
        self.view.read_ahead = True
        rewrites = self.rewrites()
        upstream = self._hand_through()
        projects = [r.project for r in rewrites]
        requirements = [r.requirement for r in rewrites]
        if progress:
            progress.update(0, "reading indexes")
        reading = in_background(self._read_ahead, projects, rewrites)
        reinstall: list[str] = []
        if any(r.indexes for r in rewrites):
            reading.result()  # a recipe's index that fails stops the install before the installer runs
        if present := self._installed_closure(projects):
            reading.result()  # bad metadata of a requested package fails here, by name
            reinstall = self._stale(present)
        broken = [d for d in self.target.distributions if not d.complete and d.folder]
        requirements += [f"{d.name}=={d.version}" for d in broken]
        if progress:
            progress.update(0, f"installing with {self.installer.kind}")
        try:
            with set_aside(broken):
                installed = runner.install(
                    self.installer,
                    self.view.installer_url,
                    requirements,
                    self.view.problems,
                    reinstall=reinstall,
                    progress=progress,
                    after=upstream,
                )
        except runner.InstallerError:
            # The read-ahead met the same failure first, and says which package, file and source.
            if (cause := reading.exception()) is not None:
                raise cause from None
            raise
        reading.exception()  # the installer succeeded: wait, whatever the read-ahead met
        if missing := self.target.incomplete(installed):
            raise runner.InstallerError(
                f"{self.installer.kind} reported success but left {', '.join(missing)} without its RECORD "
                "(was it interrupted?): run the same install again to repair it"
            )
        repaired = tuple(f"{d.name} {d.version}" for d in broken)
        return self._plan_from(rewrites, installed, reinstall, repaired)

    def _hand_through(self, *, on_sight: bool = True) -> tuple[str, ...]:
        """The upstream indexes uv reads itself after the view, for projects the view knows to have
        no variants (uv takes each project from the first index that has it); () where the view
        must answer for everything: pip (it merges every index's files), local indexes or
        find-links folders (only the view reads those)."""
        try:
            uv = _installer.requested(self.options.installer) != "pip" and _installer.find_uv() is not None
        except _installer.NoInstaller:
            return ()  # the installer's own choice fails with the reason
        urls = self.settings.urls
        if not uv or self.settings.find_links or not all(u.startswith(("https://", "http://")) for u in urls):
            return ()
        self.view.hand_through = lambda project: project not in self.routes
        self.view.hand_through_on_sight = on_sight
        return urls

    def _planned(self, name: str, version: str, rewrite: recipes.Rewrite | None) -> PlannedPackage:
        if (key := normalize(name)) in self.view.handed_through:
            summary = "no variant wheels (recently seen so): uv read it from the index itself"
            return PlannedPackage(key, version, None, None, None, None, None, None, (), summary, (), {},
                                  rewrite.rule if rewrite else None, None)  # fmt: skip
        return PlannedPackage.chosen(key, version, self.chooser.choose(name), rewrite)


def in_background(function: Callable[..., T], *args: Any) -> Future[T]:
    """Run ``function(*args)`` on a daemon thread; its future holds the result or the exception."""
    from concurrent.futures import Future

    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name=f"pyvariant-{function.__name__}", daemon=True).start()
    return future
