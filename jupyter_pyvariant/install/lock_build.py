"""One lock for many nodes: each node's plan, merged into one set of versions and every file a node
needs.

Each node (this host, or the machine a profile describes) is planned as ``install`` would plan it:
the installer resolves against the view that presents that node's best fit. The nodes must agree on
every version: a resolution "for all" would need the installer to see every variant's dependencies
at once, which no installer does. When they disagree the lock is refused, naming the package, each
node's version and the pin that makes them agree; a lock that silently gave some node a version it
was never resolved with would break the reproduction a lock promises.

For each variant-enabled package the lock keeps every wheel a node chose, the null variant and the
plain wheel when the index has them (any other machine still gets something), or with
``all_variants`` every label; its variant metadata is kept inline, cut to those labels. A package
that only some nodes install is needed by some variant: the dependencies each locked wheel names
(its PEP 658 metadata, else its own ``METADATA``) say which, and the lock writes it as
``needed-by``; a wheel naming dependencies no node resolved is marked so that ``sync`` never
chooses it.
"""

from __future__ import annotations

__all__ = ["BuiltLock", "NodePlan", "build_lock", "installed_elsewhere", "single_target"]

import re
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name as normalize

from .lock import PLAIN, THIS_HOST, Lock, LockedFile, LockedPackage, LockError, Requirer, node_name
from .lock_sync import tag_order, tag_position

if TYPE_CHECKING:
    from ..display import Progress
    from ..index.client import SimpleClient
    from ..index.models import FileLink
    from ..variants.metadata import VariantMetadata
    from .plan import Options, Plan, PlannedPackage
    from .session import Session
    from .target import PendingTarget


@dataclass(frozen=True)
class NodePlan:
    node: str
    """``this host`` or ``profile FILE``."""
    plan: Plan


@dataclass(frozen=True)
class BuiltLock:
    lock: Lock
    nodes: tuple[NodePlan, ...]
    warnings: tuple[str, ...] = ()


def build_lock(
    options: Options,
    targets: Sequence[str | None],
    *,
    all_variants: bool = False,
    single: bool = False,
    target: PendingTarget | None = None,
    progress: Progress | None = None,
) -> BuiltLock:
    """Plan for each target (a profile file, or None / :data:`THIS_HOST` for this host) and merge;
    ``single``: the one target's files exactly (:func:`single_target`)."""
    from .session import Session
    from .target import ask_target

    pending = target or ask_target(options.python)
    with ExitStack() as stack:
        sessions, nodes = [], []
        for each in targets:
            profile = None if each in (None, THIS_HOST) else each
            if progress:
                progress.update(0, f"planning for {node_name(each)}")
            session = stack.enter_context(Session(replace(options, profile=profile), target=pending))
            nodes.append(NodePlan(node_name(each), session.plan(progress, fresh=True)))
            sessions.append(session)
        if single:
            (node,) = nodes
            return BuiltLock(single_target(node.plan), (node,))
        if progress:
            progress.update(0, "merging the nodes' files")
        return _Merge(sessions, nodes, all_variants).built()


def single_target(plan: Plan) -> Lock:
    """The lock of exactly one machine's files (``lock --profile``): one file per package, its
    label in the tool table; ``sync`` installs those files wherever it runs."""
    packages = []
    for planned in plan.packages:
        file = _planned_file(planned)
        variants = planned.variants_json
        packages.append(
            LockedPackage(
                planned.name,
                planned.version,
                planned.index,
                (file,),
                file.filename.endswith(".whl"),
                variants_json=_locked(variants, planned.name) if variants and variants.sha256 else None,
                variant_label=planned.variant_label,
                properties=planned.properties,
            )
        )
    return Lock("", tuple(packages), plan.supported_from)


def _planned_file(planned: PlannedPackage) -> LockedFile:
    if planned.filename is None or planned.url is None or planned.sha256 is None:
        raise LockError(
            f"{planned.name} {planned.version}: no file with a sha256 to lock ({planned.summary})"
        )
    return LockedFile(planned.filename, planned.url, planned.sha256)


def _locked(link: FileLink, project: str) -> LockedFile:
    if link.sha256 is None:
        raise LockError(f"{project}: {link.filename}: its index gives no sha256 to lock")
    return LockedFile(link.filename, link.url, link.sha256)


@dataclass
class _Merge:
    sessions: list[Session]
    nodes: list[NodePlan]
    all_variants: bool
    warnings: list[str] = field(default_factory=list)
    _links: dict[str, FileLink] = field(default_factory=dict)
    """Filename -> its link on the index page (for its PEP 658 metadata)."""
    _deps: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def client(self) -> SimpleClient:
        return self.sessions[0].view.client

    def built(self) -> BuiltLock:
        by_name: dict[str, list[tuple[int, PlannedPackage]]] = {}
        for position, node in enumerate(self.nodes):
            for planned in node.plan.packages:
                by_name.setdefault(normalize(planned.name), []).append((position, planned))
        packages = [self._package(name, entries) for name, entries in by_name.items()]
        packages = self._dependencies(packages, by_name)
        lock = Lock(
            path="",
            packages=tuple(packages),
            supported_from="; ".join(node.plan.supported_from for node in self.nodes),
            nodes=tuple(node.node for node in self.nodes),
        )
        return BuiltLock(lock, tuple(self.nodes), tuple(self.warnings))

    def _package(self, name: str, entries: list[tuple[int, PlannedPackage]]) -> LockedPackage:
        from packaging.version import Version

        versions = {Version(p.version) for _, p in entries}
        if len(versions) > 1:
            each = "; ".join(f"{self.nodes[i].node} resolves {p.version}" for i, p in entries)
            if len({v.public for v in versions}) == 1:  # torch 2.9.0+cu128 and +cpu: per-build indexes
                fix = "the nodes' recipes route it to per-build indexes: lock with --no-recipes, or "
                fix += "with --torch-variant-index for PyTorch's variant wheels"
            else:
                fix = f"require the one every node can use (e.g. {name}=={min(versions)})"
            raise LockError(
                f"{name}: the nodes need different versions ({each}); one lock holds one version for "
                f"every node: {fix}"
            )
        first, planned = entries[0]
        chosen = {file.filename: file for file in (_planned_file(p) for _, p in entries)}
        session = self.sessions[first]
        choice = session.chooser.choose(name)
        links = {link.filename: link for link in choice.page.files} if choice else {}
        self._links.update(links)
        version = choice.version(planned.version) if choice else None
        is_wheel = next(iter(chosen)).endswith(".whl")
        base = LockedPackage(name, planned.version, planned.index, tuple(chosen.values()), is_wheel)
        if version is None or not version.has_variants or version.variants_json is None:
            return base
        link = version.variants_json
        metadata = self._metadata(link, name)
        order = tag_order(session.target.tags)
        files = self._files(name, planned.version, list(chosen.values()), metadata, links.values(), order)
        labels = {f.label for f in files} - {None}
        kept = {label: props for label, props in metadata.variants.items() if str(label) in labels}
        locked = replace(metadata, variants=kept, sources=())
        return replace(base, files=tuple(files), variants_json=_locked(link, name), metadata=locked)

    def _metadata(self, link: FileLink, project: str) -> VariantMetadata:
        from ..variants.reader import parse_variants_json

        return parse_variants_json(
            self.client.read(link, project), link.url, package=project, file=link.filename
        )

    def _files(
        self,
        project: str,
        version: str,
        chosen: list[LockedFile],
        metadata: VariantMetadata,
        links: Iterable[FileLink],
        order: dict[str, int] | None,
    ) -> list[LockedFile]:
        """The chosen files, then every label (``all_variants``) and the fallbacks (null, plain),
        each label's wheel with the best tag the target runs."""
        from packaging.version import InvalidVersion, Version

        from ..variants.properties import VariantFormatError, WheelName

        best: dict[str | None, tuple[int, FileLink]] = {}
        for link in links:
            if not link.is_wheel:
                continue
            try:
                wheel = WheelName.parse(link.filename)
                same = normalize(wheel.name) == project and Version(wheel.version) == Version(version)
            except (VariantFormatError, InvalidVersion):
                continue
            position = tag_position(link.filename, order)
            label = None if wheel.label is None else str(wheel.label)
            if same and position is not None and (label not in best or position < best[label][0]):
                best[label] = (position, link)
        described = {str(label) for label in metadata.variants} | {"null"}
        wanted = [label for label in best if label in described - {"null"}] if self.all_variants else []
        files = {file.label: file for file in chosen}
        for label in [*wanted, "null", None]:
            if label in best and label not in files:
                files[label] = _locked(best[label][1], project)
        return list(files.values())

    # -- dependencies ------------------------------------------------------------------------------

    def _dependencies(
        self, packages: list[LockedPackage], by_name: dict[str, list[tuple[int, PlannedPackage]]]
    ) -> list[LockedPackage]:
        """``needed-by`` for packages only some nodes install; ``unlocked`` for wheels that name
        dependencies no node resolved."""
        everywhere: set[str] = {name for name, entries in by_name.items() if len(entries) == len(self.nodes)}
        multi: dict[str, LockedPackage] = {normalize(p.name): p for p in packages if len(p.files) > 1}
        conditional: set[str] = {str(normalize(p.name)) for p in packages} - everywhere
        locked = {normalize(p.name) for p in packages}
        chosen: dict[tuple[str, int], str | None] = {
            (normalize(planned.name), position): planned.variant_label
            for name, entries in by_name.items()
            for position, planned in entries
        }
        result = []
        for package in packages:
            name = normalize(package.name)
            if name in conditional:
                package = replace(
                    package, needed_by=self._requirers(name, multi, conditional, chosen, packages)
                )
            if name in multi:
                picked = {planned.filename for _, planned in by_name[name]}
                unlocked = {
                    file.filename: tuple(sorted(missing))
                    for file in package.files
                    if file.filename not in picked and (missing := self.deps(file, name) - locked)
                }
                package = replace(package, unlocked=unlocked or None)
            result.append(package)
        return result

    def _requirers(
        self,
        name: str,
        multi: dict[str, LockedPackage],
        conditional: set[str],
        chosen: dict[tuple[str, int], str | None],
        packages: list[LockedPackage],
    ) -> tuple[Requirer, ...]:
        having = {position for (project, position) in chosen if project == name}
        requirers = []
        for other, package in multi.items():
            labels = []
            for file in package.files:
                label = file.label
                nodes_with = [
                    i for i in range(len(self.nodes)) if (other, i) in chosen and chosen[(other, i)] == label
                ]
                if other != name and name in self.deps(file, other) and set(nodes_with) <= having:
                    labels.append(PLAIN if label is None else label)
            if labels:
                requirers.append(Requirer(package.name, tuple(labels)))
        for package in packages:
            other = normalize(package.name)
            if (
                other in conditional
                and other not in multi
                and other != name
                and name in self.deps(package.files[0], other)
            ):
                requirers.append(Requirer(package.name))
        if not requirers:
            self.warnings.append(
                f"{name}: only some nodes need it, but no locked wheel names it as a dependency; "
                "every node installs it"
            )
        return tuple(requirers)

    def deps(self, file: LockedFile, project: str) -> frozenset[str]:
        """The projects a locked wheel depends on (read once per file)."""
        if file.filename not in self._deps:
            self._deps[file.filename] = _dependencies(self._metadata_of(file, project))
        return self._deps[file.filename]

    def _metadata_of(self, file: LockedFile, project: str) -> bytes:
        """The wheel's core metadata: its PEP 658 file when the index has one, else from the wheel."""
        import tempfile
        import zipfile
        from pathlib import Path

        from ..index.models import FileLink, metadata_link

        link = self._links.get(file.filename) or FileLink(
            file.filename, file.url, "", (("sha256", file.sha256),)
        )
        if not file.filename.endswith(".whl"):
            return b""
        if link.metadata_hashes is not None:
            return self.client.read(metadata_link(link), project)
        with tempfile.TemporaryDirectory(prefix="pyvariant-lock-") as folder:
            path = Path(folder) / file.filename
            self.client.download(link, project, path)
            try:
                with zipfile.ZipFile(path) as archive:
                    member = next(
                        m
                        for m in archive.namelist()
                        if m.count("/") == 1 and m.endswith(".dist-info/METADATA")
                    )
                    return archive.read(member)
            except (OSError, zipfile.BadZipFile, StopIteration):
                return b""


_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _dependencies(metadata: bytes) -> frozenset[str]:
    """Projects ``Requires-Dist`` names for this interpreter and any variant (not for extras).

    A marker packaging cannot read (PEP 825's variant markers) counts as true: a dependency too
    many only makes a package needed by one more label, never missing where it is needed.
    """
    from email.parser import BytesHeaderParser

    from packaging.requirements import InvalidRequirement, Requirement

    names = set()
    for text in BytesHeaderParser().parsebytes(metadata).get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            if "extra" not in text.partition(";")[2] and (match := _NAME.match(text)):
                names.add(normalize(match.group(1)))
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.add(normalize(requirement.name))
    return frozenset(names)


def installed_elsewhere(
    built: BuiltLock, installed: Iterable[tuple[str, str | None]]
) -> dict[str, str | None]:
    """Of the installed (name, label) pairs, those whose label the lock does not hold."""
    by_name = {normalize(p.name): p for p in built.lock.packages}
    other = {}
    for name, label in installed:
        package = by_name.get(normalize(name))
        if package is not None and label not in {f.label for f in package.files}:
            other[package.name] = label
    return other
