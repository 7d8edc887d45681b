"""Which wheels the installer may see: per project and version, the best-fit variant the target runs.

The :class:`VariantChooser` reads each project's index page once, groups its wheels by version,
keeps those whose tags the target interpreter accepts, and ranks their variant labels as PEP 825
says against the supported properties; every decision is kept with its reason, for the plan. The
view asks it from its request threads while the installer resolves.
"""

from __future__ import annotations

__all__ = ["ProjectChoice", "SupportedFor", "VariantChooser", "VersionChoice"]

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name as normalize

from .._http import redact
from ..index.client import SimpleClient
from ..index.models import FileLink, ProjectPage
from ..index.view import PresentedFile, PresentedProject

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

    from ..variants.embedded import ExpectedVariant
    from ..variants.metadata import VariantMetadata
    from ..variants.ordering import Ranking
    from ..variants.properties import VariantLabel, WheelName
    from ..variants.supported import SupportedProperties


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

        A compressed tag set (``py2.py3-none-any``) counts by its best member, expanded by packaging;
        computed once per tag triple: every wheel of a release usually shares it.
        """
        if self._tag_rank is None:
            return 0
        triple = (wheel.python_tag, wheel.abi_tag, wheel.platform_tag)
        if triple not in self._tag_positions:
            rank = self._tag_rank
            positions = [rank[text] for tag in wheel.tags if (text := str(tag)) in rank]
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
        from ..variants.reader import parse_variants_json

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
    from ..variants.supported import SupportedProperties

    return SupportedProperties()
