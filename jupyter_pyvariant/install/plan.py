"""From requested packages to chosen files: recipes, indexes, variant selection, the installer's resolution.

A :class:`Session` owns everything one ``install`` / ``plan`` / ``lock`` / ``sync`` needs: the
target interpreter, the supported properties (this host's, or a profile's), the index clients and
the loopback view. Its :class:`VariantChooser` decides, per project and version, which wheel the
installer may see, and remembers why; the installer's own dry run against the view then says what
would be installed, dependencies included. Nothing in the environment changes before the plan is
complete.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _installer
from .._cache import user_cache_dir
from .._installer import InstallerKind
from ..index.settings import IndexSettings, environment_prefix
from ..index.simple import FileLink, ProjectPage, SimpleClient, normalize, redact
from ..index.view import IndexView, PresentedFile, PresentedProject
from . import recipes, runner

if TYPE_CHECKING:
    from concurrent.futures import Future

    from packaging.specifiers import SpecifierSet

    from ..display import Progress
    from ..variants.embedded import ExpectedVariant
    from ..variants.metadata import VariantMetadata
    from ..variants.ordering import Ranking
    from ..variants.plugins import PluginOptions
    from ..variants.properties import VariantLabel, WheelName
    from ..variants.providers import Overrides, SupportedProperties


T = TypeVar("T")

NOT_FOUND = "not found on the indexes"
"""A planned package's summary when no index offered a file for it."""


class PlanError(Exception):
    """The plan cannot be made; the message names the package, the file and the source."""


# --------------------------------------------------------------------------------------------------
# Requirements


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


def _check_requirements(requirements: Sequence[str]) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    for text in requirements:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise PlanError(f"invalid requirement {text!r}: {exc}") from None


# --------------------------------------------------------------------------------------------------
# Choices


@dataclass(frozen=True)
class VersionChoice:
    """For one project version: the label whose wheels the installer may see, and why."""

    project: str
    version: str
    label: str | None
    properties: tuple[str, ...]
    wheels: tuple[PresentedFile, ...]
    """The presented wheels (base filename, upstream link), best tag first."""
    has_variants: bool
    ranking: Ranking | None = None
    rejected: Mapping[str, str] = field(default_factory=dict)
    variants_json: FileLink | None = None

    @property
    def ranked(self) -> tuple[str | None, ...]:
        """Every compatible label, best first (None: the plain wheel)."""
        return (
            () if self.ranking is None else tuple(None if x is None else str(x) for x in self.ranking.order)
        )

    @property
    def why(self) -> tuple[str, ...]:
        """The ranking's explanation (composed only when someone reads it: choosing must stay cheap)."""
        if self.ranking is None:
            return ()
        if not self.wheels:
            return (
                *self.ranking.explain(),
                "nothing fits: only source distributions are offered for this version",
            )
        return tuple(self.ranking.explain())

    @property
    def summary(self) -> str:
        if not self.has_variants:
            return "no variant wheels"
        if not self.wheels:
            return "nothing fits: no compatible variant and no plain wheel"
        if self.label is None:
            return "plain wheel: no variant fits"
        if self.label == "null":
            return "null variant: no other variant fits"
        return f"best of {len(self.ranked)} compatible, {len(self.rejected)} rejected"


@dataclass(frozen=True)
class ProjectChoice:
    """Every version of one project as the view presents it."""

    page: ProjectPage
    versions: Mapping[str, VersionChoice]
    others: tuple[FileLink, ...]
    """Files that are not wheels (sdists), presented unchanged."""

    def presented(self, wanted: SpecifierSet | None = None, *, routed: bool = False) -> PresentedProject:
        """The view's page; ``likely`` is the best wheel of the newest version ``wanted`` allows.

        A page without variants, read from the indexes every host reads (no recipe ``routed`` it),
        is the same for every host and target: the installer may keep it as long as upstream says.
        """
        files = [presented for choice in self.versions.values() for presented in choice.wheels]
        files += [PresentedFile(link.filename, link) for link in self.others]
        shared = not routed and not any(choice.has_variants for choice in self.versions.values())
        likely = self._likely(wanted)
        return PresentedProject(self.page.name, tuple(files), likely, shared, self.page.fresh_until)

    def _likely(self, wanted: SpecifierSet | None) -> tuple[PresentedFile, ...]:
        """What an installer takes without other constraints: the newest final release it may have."""
        from packaging.version import InvalidVersion, Version

        releases = []
        for text, choice in self.versions.items():
            if not choice.wheels or choice.wheels[0].link.yanked is not None:
                continue
            try:
                version = Version(text)
            except InvalidVersion:
                continue
            if not version.is_prerelease and (wanted is None or wanted.contains(version)):
                releases.append((version, choice.wheels[0]))
        return (max(releases, key=lambda release: release[0])[1],) if releases else ()

    def version(self, version: str) -> VersionChoice | None:
        return self.versions.get(_canonical_version(version))


@lru_cache(maxsize=4096)
def _canonical_version(text: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(text))
    except InvalidVersion:
        return text


SupportedFor = Callable[["VariantMetadata"], "SupportedProperties"]


@dataclass
class VariantChooser:
    """Chooses, per project and version, the best-fit variant among the wheels the target can run.

    ``target_tags`` gives the target's compatibility tags best first (None: do not filter by tag);
    it is called when the first wheel is chosen, so pages can be read while the target is still
    being asked. Thread-safe: the view asks from its request threads.
    """

    clients: Callable[[str], SimpleClient]
    supported_for: SupportedFor
    target_tags: Callable[[], Sequence[str] | None]
    wanted: dict[str, SpecifierSet] = field(default_factory=dict)
    """Version specifiers of the requested projects: the view reads ahead the version they allow."""
    routed: Callable[[str], bool] = lambda project: False
    """Whether a recipe sends this project to indexes of its own (which depend on the host)."""
    _tag_positions: dict[tuple[str, str, str], int | None] = field(default_factory=dict, init=False)
    _documents: dict[tuple[str, bytes], VariantMetadata] = field(default_factory=dict, init=False)
    _rankings: dict[tuple[int, tuple[str | None, ...]], Ranking] = field(default_factory=dict, init=False)
    """(id of a metadata in ``_documents``, labels) -> ranking: releases sharing a document rank once."""
    _pages: dict[str, ProjectPage | None] = field(default_factory=dict, init=False)
    _choices: dict[str, ProjectChoice | None] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    """Guards ``_pages``, ``_choices`` and ``_gates``. The other caches only ever gain entries equal
    to any they would replace: two threads racing there repeat work, never disagree."""
    _gates: dict[str, threading.Lock] = field(default_factory=dict, init=False)
    """One per project: it is chosen once, while other projects are chosen at the same time."""

    @cached_property
    def _tag_rank(self) -> dict[str, int] | None:
        tags = self.target_tags()
        return None if tags is None else {tag: i for i, tag in enumerate(tags)}

    def prefetch(self, projects: Iterable[str]) -> None:
        """Fetch the pages of these projects concurrently (grouped by the client that serves each)."""
        groups: dict[int, tuple[SimpleClient, list[str]]] = {}
        for name in projects:
            if normalize(name) in self._pages:
                continue
            client = self.clients(normalize(name))
            groups.setdefault(id(client), (client, []))[1].append(normalize(name))
        for client, names in groups.values():
            pages = client.projects(names)
            with self._lock:
                self._pages.update(pages)

    def choose(self, project: str) -> ProjectChoice | None:
        """The project's choice, made once; projects are chosen concurrently (installers ask so)."""
        name = normalize(project)
        with self._lock:
            if name in self._choices:
                return self._choices[name]
            gate = self._gates.setdefault(name, threading.Lock())
        with gate:
            if name in self._choices:  # chosen while this thread waited at the gate
                return self._choices[name]
            page = self._pages[name] if name in self._pages else self.clients(name).project(name)
            choice = None if page is None else self.choose_page(page, self.clients(name))
            with self._lock:
                self._pages[name] = page
                self._choices[name] = choice
            return choice

    def presented(self, project: str) -> PresentedProject | None:
        """The view's selector."""
        choice = self.choose(project)
        name = normalize(project)
        return None if choice is None else choice.presented(self.wanted.get(name), routed=self.routed(name))

    def choose_page(self, page: ProjectPage, client: SimpleClient) -> ProjectChoice:
        """Group a page's wheels by version and choose within each (no network unless variants)."""
        from ..variants.properties import VariantFormatError, WheelName

        by_version: dict[str, list[tuple[WheelName, FileLink]]] = {}
        others: list[FileLink] = []
        for link in page.files:
            if link.filename.endswith("-variants.json"):
                continue
            if not link.is_wheel:
                others.append(link)
                continue
            try:
                wheel = WheelName.parse(link.filename)
            except VariantFormatError:
                continue  # not installable by any installer; leaving it out changes nothing
            by_version.setdefault(_canonical_version(wheel.version), []).append((wheel, link))
        versions = {
            version: self._choose_version(page, client, version, wheels)
            for version, wheels in by_version.items()
        }
        return ProjectChoice(page, versions, tuple(others))

    def _tag_position(self, wheel: WheelName) -> int | None:
        """The best position of the wheel's tags among the target's (None: the target cannot run it).

        Computed once per tag triple: every wheel of a release usually shares it.
        """
        if self._tag_rank is None:
            return 0
        triple = (wheel.python_tag, wheel.abi_tag, wheel.platform_tag)
        if triple not in self._tag_positions:
            positions = [
                self._tag_rank[tag]
                for python in triple[0].split(".")
                for abi in triple[1].split(".")
                for platform in triple[2].split(".")
                if (tag := f"{python}-{abi}-{platform}") in self._tag_rank
            ]
            self._tag_positions[triple] = min(positions) if positions else None
        return self._tag_positions[triple]

    def _choose_version(
        self, page: ProjectPage, client: SimpleClient, version: str, wheels: list[tuple[WheelName, FileLink]]
    ) -> VersionChoice:
        if all(wheel.label is None for wheel, _ in wheels):
            links = _presented(self._by_tag(wheels))
            return VersionChoice(page.name, version, None, (), links, has_variants=False)
        compatible = [(w, link) for w, link in wheels if self._tag_position(w) is not None]
        labels = list(dict.fromkeys(w.label for w, _ in compatible))
        variants_link = page.variants_json(version)
        metadata = None
        rejected: dict[str, str] = {}
        if variants_link is None:
            for label in labels:
                if label is not None:
                    rejected[label] = f"{page.name}-{version}-variants.json is not on {page.index}"
            labels = [label for label in labels if label is None]
        else:
            metadata = self._metadata(page, client, variants_link)
        ranking = self._rank(labels, metadata)
        rejected.update({str(label): reason for label, reason in ranking.rejected.items()})
        for wheel, _ in wheels:
            if self._tag_position(wheel) is None and wheel.label is not None and wheel.label not in labels:
                rejected.setdefault(
                    wheel.label, "no wheel of this label has a tag the target interpreter runs"
                )
        if not ranking.candidates:
            return VersionChoice(page.name, version, None, (), (), True, ranking, rejected, variants_link)
        best = ranking.best
        chosen = self._by_tag([(w, link) for w, link in wheels if w.label == best])
        properties = tuple(sorted(str(p) for p in ranking.candidate(best).properties))
        links = _presented(chosen, _expected(best, metadata, variants_link))
        return VersionChoice(
            page.name, version, best, properties, links, True, ranking, rejected, variants_link
        )

    def _rank(self, labels: list[VariantLabel | None], metadata: VariantMetadata | None) -> Ranking:
        from ..variants.ordering import rank

        key = (id(metadata), tuple(labels))  # the metadata is kept in _documents: its id stays its own
        if key not in self._rankings:
            supported = self.supported_for(metadata) if metadata is not None else _empty_supported()
            self._rankings[key] = rank(labels, supported, metadata)
        return self._rankings[key]

    def _by_tag(self, wheels: list[tuple[WheelName, FileLink]]) -> list[tuple[WheelName, FileLink]]:
        """Runnable wheels first, best tag first (the installer would take the first)."""
        never = 1 << 30
        return sorted(wheels, key=lambda item: p if (p := self._tag_position(item[0])) is not None else never)

    def _metadata(self, page: ProjectPage, client: SimpleClient, link: FileLink) -> VariantMetadata:
        """The release's variants.json, read once per distinct document of a project (releases share them)."""
        from ..variants.metadata import parse_variants_json

        data = client.read(link, page.name)
        key = (page.name, data)
        if key not in self._documents:
            self._documents[key] = parse_variants_json(
                data, redact(link.url), package=page.name, file=link.filename
            )
        return self._documents[key]


def _presented(
    wheels: Iterable[tuple[WheelName, FileLink]], expected: ExpectedVariant | None = None
) -> tuple[PresentedFile, ...]:
    """Wheels under their base filenames: what an installer that knows nothing of variants accepts."""
    return tuple(PresentedFile(wheel.base_filename, link, expected) for wheel, link in wheels)


def _expected(
    label: VariantLabel | None, metadata: VariantMetadata | None, link: FileLink | None
) -> ExpectedVariant | None:
    """What the release's variants.json says the chosen label stands for (the wheels must agree)."""
    if label is None or metadata is None or link is None:
        return None
    from ..variants.embedded import ExpectedVariant

    return ExpectedVariant(str(label), metadata.properties(label), redact(link.url))


def _empty_supported() -> SupportedProperties:
    from ..variants.providers import SupportedProperties

    return SupportedProperties()


# --------------------------------------------------------------------------------------------------
# The plan


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
    report: Mapping[str, Any] | None = None
    """A host report dict standing in for this host's (tests, remote kernels); None: probe this host."""


@dataclass(frozen=True)
class HostSupport:
    """This host's report and what it supports (overrides applied), as the recipes see it."""

    report: dict[str, Any]
    supported: dict[str, dict[str, list[str]]]


class Session:
    """One planning and installing session: target, supported properties, index clients, the view."""

    def __init__(self, options: Options, *, target: runner.PendingTarget | None = None) -> None:
        # The target answers from a subprocess, started before anything else (or by the caller, as
        # soon as it knows the interpreter): it answers while the index pages are read; what needs it
        # waits (``target``).
        self._target = runner.ask_target(options.python) if target is None else target
        self.options = options
        if _overridden(options):
            self.overrides  # noqa: B018 - a bad --force or --profile fails now, before anything is read
        # Only a recipe naming a requested project, or a project with variants, needs to know what
        # this host supports: it is worked out then, once. Started in the background at once instead,
        # it took CPU time from the installer (on two cores) and from installs that never needed it.
        self._host: HostSupport | None = None
        self._host_lock = threading.Lock()
        self.supported_from = _describe_support(options)
        self.settings = IndexSettings.from_options(
            options.index_url,
            options.extra_index_urls,
            options.find_links,
            prefix=environment_prefix(options.python),
        )
        self._clients: dict[tuple[str, ...], SimpleClient] = {}
        self.routes: dict[str, tuple[str, ...]] = {}
        self.warnings: list[str] = []
        """What the plan will say the user should know (a recipe route that fell back)."""
        self._supported: dict[str, SupportedProperties] = {}
        self.chooser = VariantChooser(
            self._client_for, self._supported_for, lambda: self.target.tags, routed=self.routes.__contains__
        )
        self.view = IndexView(
            self._client_for(""), self.chooser.presented, state_dir=options.cache_dir or user_cache_dir()
        )

    @cached_property
    def overrides(self) -> Overrides:
        from ..variants.providers import Overrides, ProfileError

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

    def host_support(self) -> HostSupport:
        """This host's report and what it supports, worked out on first use (thread-safe)."""
        with self._host_lock:
            if self._host is None:
                from ..variants.providers import host_profile

                options = self.options
                report = dict(options.report) if options.report is not None else _host_report()
                whole = self.overrides.profile or host_profile(report)
                self._host = HostSupport(report, self.overrides.apply(whole).to_dict())
            return self._host

    @cached_property
    def plugin_options(self) -> PluginOptions:
        from ..variants.plugins import PluginOptions

        return PluginOptions(
            cache_dir=self.options.cache_dir,
            installer_args=self.settings.installer_args(),
            installer=self.options.installer,
        )

    @property
    def target(self) -> runner.Target:
        """The target interpreter's answer (asked in the background since the session began)."""
        return self._target.result()

    @cached_property
    def installer(self) -> runner.Installer:
        return runner.Installer.choose(self.target, self.options.installer)

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

    def _recipe_facts(self) -> recipes.Supported:
        """What the recipes test: the supported properties, overrides applied."""
        return self.host_support().supported

    def _supported_for(self, metadata: VariantMetadata) -> SupportedProperties:
        from ..variants.providers import host_supported

        key = repr((metadata.priorities.namespaces, sorted(metadata.providers.items())))
        if key not in self._supported:
            self._supported[key] = host_supported(
                self.host_support().report,
                metadata,
                trusted_plugins=self.options.trusted_plugins,
                overrides=self.overrides,
                plugin_options=self.plugin_options,
                installed={d.name: d.version for d in self.target.distributions},
            )
        return self._supported[key]

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
        _check_requirements(requested)
        rewrites = [
            recipes.apply(r, self._recipe_facts, opted_in=self.options.opt_in)
            if self.options.recipes
            else recipes.Rewrite(r, r)
            for r in requested
        ]
        if self.options.gpu_check:
            rewrites = [self._refuse(rewrite) for rewrite in rewrites]
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

    def _refuse(self, rewrite: recipes.Rewrite) -> recipes.Rewrite:
        """``rewrite``, unless it needs a GPU stack the target lacks: refused for this host, noted for
        a profile (the profiled machine may have more than its profile says)."""
        from dataclasses import replace

        refusal = recipes.refusal(rewrite.requirement, self._recipe_facts)
        if refusal is None:
            return rewrite
        if self.options.profile:
            found = f"profile {self.options.profile} has no {refusal.needs.upper()}"
            return replace(rewrite, note=refusal.message(rewrite.project, found))
        from ..variants.providers import absent_reason

        namespace = "nvidia" if refusal.needs == "cuda" else "amd"
        lacking = absent_reason(namespace, self.host_support().report)
        raise PlanError(
            f"{refusal.message(rewrite.project, f'this host has none ({lacking})')}; "
            "nothing was installed (--no-gpu-check installs it anyway)"
        )

    def _fall_back(self, rewrite: recipes.Rewrite) -> recipes.Rewrite:
        """``rewrite``, or the next recipe's when its opt-in index does not answer (or fail, if strict)."""
        from ..index.simple import IndexProblem

        try:
            self.chooser.prefetch([rewrite.project])
        except IndexProblem as exc:
            if self.options.strict_recipes:
                raise PlanError(f"{exc}; {rewrite.blame()}; --strict-recipes: no fallback") from None
            skip = {rewrite.rule or ""}
            instead = recipes.apply(
                rewrite.original, self._recipe_facts, opted_in=self.options.opt_in, skip=skip
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
            if (
                version
                and version.has_variants
                and version.wheels
                and installed_label(installed) != version.label
            ):
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
        from ..index.simple import IndexProblem

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
            supported_from=self.supported_from,
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
            with _set_aside(broken):
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
        choice = self.chooser.choose(name)
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
        return PlannedPackage(
            name=normalize(name),
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


@contextmanager
def _set_aside(broken: Sequence[runner.Installed]) -> Iterator[None]:
    """Move the ``.dist-info`` folders of incomplete distributions out of the installer's sight (it
    cannot uninstall what has no RECORD), so that it installs them whole; put them back if the
    install fails, drop them once it succeeded."""
    import os
    import shutil

    moved = []
    try:
        for dist in broken:
            assert dist.folder is not None
            aside = f"{dist.folder}.pyvariant-incomplete"
            os.replace(dist.folder, aside)
            moved.append((dist.folder, aside))
        yield
    except BaseException:
        for folder, aside in reversed(moved):
            with suppress(OSError):
                os.replace(aside, folder)
        raise
    for _, aside in moved:
        shutil.rmtree(aside, ignore_errors=True)


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


def _sdist_version(link: FileLink) -> str | None:
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        return str(parse_sdist_filename(link.filename)[1])
    except InvalidSdistFilename:
        return None


def installed_label(installed: runner.Installed) -> str | None:
    """The label recorded in an installed distribution's ``variant.json`` (None: a plain wheel)."""
    if installed.variant_json is None:
        return None
    from ..variants.metadata import MetadataError, parse_variants_json

    try:
        metadata = parse_variants_json(installed.variant_json, f"{installed.name}.dist-info/variant.json")
    except MetadataError:
        return None
    return str(next(iter(metadata.variants), "")) or None


def _overridden(options: Options) -> bool:
    """Whether the user said anything about support (then it is checked at once)."""
    return any((options.force, options.forbid, options.prefer, options.profile, options.enable_optional))


def _describe_support(options: Options) -> str:
    """Where the supported properties come from, and what the user changed (shown with the plan)."""
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


def _host_report() -> dict[str, Any]:
    from ..host import report

    return report().to_dict()
