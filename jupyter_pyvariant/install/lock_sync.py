"""``sync``: on this node, choose among a lock's files and install exactly the chosen ones.

Each variant-enabled package is ranked as PEP 825 orders variants (best variant, then the null
variant, then the plain wheel) against what this node supports, or what a profile says another
one does; only the lock's labels take part, described by the lock's own variant metadata, so no
index page is read. A package only other variants need is skipped. The view then serves only the
chosen files, hash-checked against the lock, and a variant wheel only once its own ``variant.json``
agrees with the lock about its label; the installer installs them pinned, without dependencies.
"""

from __future__ import annotations

__all__ = ["NodeChoice", "SupportedFor", "SyncResult", "choose", "sync", "tag_order", "tag_position"]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name as normalize

from .lock import PLAIN, Lock, LockedFile, LockedPackage, LockError

if TYPE_CHECKING:
    from ..display import Progress
    from ..index.view import PresentedProject
    from ..variants.metadata import VariantMetadata
    from ..variants.ordering import Ranking
    from ..variants.supported import SupportedProperties
    from .plan import Options
    from .target import PendingTarget

SupportedFor = Callable[["VariantMetadata"], "SupportedProperties"]


@dataclass(frozen=True)
class NodeChoice:
    """What this node installs of one locked package, and why."""

    package: LockedPackage
    file: LockedFile | None
    """None: not needed here (only other variants need it)."""
    label: str | None
    reason: str

    @property
    def installs(self) -> bool:
        return self.file is not None


@dataclass(frozen=True)
class _Unfit:
    """A needed package none of whose locked files fits this node: raised only if it is needed."""

    message: str


@dataclass(frozen=True)
class SyncResult:
    choices: tuple[NodeChoice, ...]
    changes: tuple[tuple[str, str], ...]
    """(name, version) the installer installs (or would, in a dry run)."""
    reinstall: tuple[str, ...]
    """Chosen packages installed at the locked version but as another variant."""


def tag_order(tags: Sequence[str] | None) -> dict[str, int] | None:
    return None if tags is None else {tag: position for position, tag in enumerate(tags)}


def tag_position(filename: str, order: dict[str, int] | None) -> int | None:
    """The wheel's best tag position among the target's (None: the target cannot run it)."""
    from ..variants.properties import VariantFormatError, WheelName

    if order is None:
        return 0
    try:
        tags = WheelName.parse(filename).tags
    except VariantFormatError:
        return None
    return min((order[text] for tag in tags if (text := str(tag)) in order), default=None)


def _by_tag(files: Sequence[LockedFile], tags: Sequence[str] | None) -> list[LockedFile]:
    """The files the target runs, best tag first (all of them when the target did not say)."""
    order = tag_order(tags)
    ranked = [
        (position, file) for file in files if (position := tag_position(file.filename, order)) is not None
    ]
    return [file for _, file in sorted(ranked, key=lambda item: item[0])]


def _nearest(ranking: Ranking, metadata: VariantMetadata) -> str:
    """The rejected label that misses the fewest features on this node."""
    supported = ranking.supported_by

    def missing(label: str) -> int:
        features = {(p.namespace, p.feature) for p in metadata.properties(label)}
        met = {(p.namespace, p.feature) for p in metadata.properties(label) if p in supported}
        return len(features - met)

    return str(min(ranking.rejected, key=lambda label: missing(str(label))))


def _choose_variant(
    package: LockedPackage, supported_for: SupportedFor, tags: Sequence[str] | None
) -> NodeChoice | _Unfit:
    from ..variants.ordering import rank
    from ..variants.properties import variant_label

    metadata = package.metadata
    assert metadata is not None
    runnable: dict[str | None, LockedFile] = {}
    for file in _by_tag(package.files, tags):
        runnable.setdefault(file.label, file)
    unlocked = package.unlocked or {}
    labels = {label: metadata.properties(label) if label else frozenset() for label in runnable}
    ranking = rank(labels, supported_for(metadata), metadata)
    fitting = [None if c.label is None else str(c.label) for c in ranking.candidates]
    usable = [label for label in fitting if runnable[label].filename not in unlocked]
    left_out = [
        f"{label} (needs {', '.join(unlocked[runnable[label].filename])}, which the lock lacks)"
        for label in fitting
        if label not in usable
    ]
    where = f"{package.name} {package.version}"
    if not usable:
        locked = ", ".join(sorted(str(label) for label in runnable if label)) or "none this interpreter runs"
        if left_out:
            return _Unfit(f"{where}: every locked variant this node fits is left out: {'; '.join(left_out)}")
        if not ranking.rejected:
            return _Unfit(f"{where}: no locked wheel runs on this interpreter ({locked})")
        nearest = _nearest(ranking, metadata)
        return _Unfit(
            f"{where}: this node fits none of the locked variants ({locked}) and the lock has no null "
            f"variant or plain wheel to fall back on; the nearest, {nearest}, needs what this node lacks: "
            f"{ranking.rejected[variant_label(nearest)]} (lock again with a --for profile of this node)"
        )
    label = usable[0]
    if label is None:
        reason = "plain wheel: no locked variant fits this node"
    elif label == "null":
        reason = "null variant: no other locked variant fits this node"
    else:
        best = ", ".join(map(str, ranking.candidate(label).best))
        reason = f"best of the {len(usable)} locked wheels this node fits ({best})"
    if ranking.rejected:
        count = len(ranking.rejected)
        reason += f"; {count} locked variant{' does' if count == 1 else 's do'} not fit"
    if left_out:
        reason += f"; left out: {', '.join(left_out)}"
    return NodeChoice(package, runnable[label], label, reason)


def _choose_file(
    package: LockedPackage, tags: Sequence[str] | None, supported_from: str | None
) -> NodeChoice:
    runnable = _by_tag(package.files, tags) or list(package.files[:1])
    file = runnable[0]
    if package.variant_label is not None:
        return NodeChoice(
            package, file, package.variant_label, f"locked for {supported_from or 'one target'}"
        )
    return NodeChoice(package, file, None, "no variants")


def choose(lock: Lock, supported_for: SupportedFor, tags: Sequence[str] | None) -> tuple[NodeChoice, ...]:
    """What this node installs of each locked package: its best-fit file, or nothing when only
    other variants need the package. Raises :class:`LockError` when a package this node needs has
    no locked file that fits it, naming what the nearest locked variant needs."""
    made: dict[str, NodeChoice | _Unfit] = {
        normalize(p.name): _choose_variant(p, supported_for, tags)
        if p.has_variants
        else _choose_file(p, tags, lock.supported_from)
        for p in lock.packages
    }
    needed: set[str] = {normalize(p.name) for p in lock.packages if not p.needed_by}
    pending = [p for p in lock.packages if p.needed_by]
    while True:  # a package needed by a needed package's chosen variant is needed too
        grown = [p for p in pending if any(_satisfied(r.name, r.labels, needed, made) for r in p.needed_by)]
        if not grown:
            break
        needed |= {normalize(p.name) for p in grown}
        pending = [p for p in pending if p not in grown]
    needed_made = [made[normalize(p.name)] for p in lock.packages if normalize(p.name) in needed]
    unfit = [choice.message for choice in needed_made if isinstance(choice, _Unfit)]
    if unfit:
        raise LockError(f"{lock.path}: " + "; ".join(unfit))
    choices = []
    for package in lock.packages:
        choice = made[normalize(package.name)]
        if normalize(package.name) not in needed:
            why = "; ".join(map(str, package.needed_by))
            choices.append(NodeChoice(package, None, None, f"skipped: only needed by {why}"))
        else:
            assert isinstance(choice, NodeChoice)
            choices.append(choice)
    return tuple(choices)


def _satisfied(
    name: str, labels: Sequence[str], needed: set[str], made: Mapping[str, NodeChoice | _Unfit]
) -> bool:
    key = normalize(name)
    choice = made.get(key)
    if key not in needed or not isinstance(choice, NodeChoice):
        return False
    return not labels or (choice.label or PLAIN) in labels


# --------------------------------------------------------------------------------------------------
# Installing


def _presented(lock: Lock, choices: Sequence[NodeChoice]) -> Callable[[str], PresentedProject | None]:
    """The view's selector: each chosen file alone, a variant under its base filename, with the
    lock's description of its label for the spool's check of the wheel's own ``variant.json``."""
    from ..index.models import FileLink
    from ..index.view import PresentedFile, PresentedProject
    from ..variants.embedded import ExpectedVariant
    from ..variants.properties import VariantProperty, WheelName

    projects = {}
    for choice in choices:
        package, file = choice.package, choice.file
        if file is None:
            continue
        shown = WheelName.parse(file.filename).base_filename if package.is_wheel else file.filename
        link = FileLink(file.filename, file.url, package.index or lock.path, (("sha256", file.sha256),))
        expected = None
        source = f"[packages.variants-json] of {package.name} in {lock.path}"
        if choice.label is not None and package.metadata is not None:
            expected = ExpectedVariant(choice.label, package.metadata.properties(choice.label), source)
        elif choice.label is not None and package.properties:
            properties = frozenset(VariantProperty.parse(p) for p in package.properties)
            expected = ExpectedVariant(
                choice.label, properties, f"tool.jupyter_pyvariant of {package.name} in {lock.path}"
            )
        projects[normalize(package.name)] = PresentedProject(
            package.name, (PresentedFile(shown, link, expected),)
        )
    return lambda project: projects.get(normalize(project))


def sync(
    lock: Lock,
    options: Options,
    *,
    target: PendingTarget | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """Make the target hold this node's choice of the locked files: pinned, without dependencies,
    through a view that serves those files alone. ``options.profile`` chooses for another machine."""
    from contextlib import closing

    from packaging.version import Version

    from .._cache import user_cache_dir
    from ..index.client import SimpleClient
    from ..index.settings import IndexSettings, environment_prefix
    from ..index.view import IndexView
    from . import runner
    from .support import Support
    from .target import ask_target

    pending = target or ask_target(options.python)
    settings = IndexSettings.from_options(
        options.index_url,
        options.extra_index_urls,
        options.find_links,
        prefix=environment_prefix(options.python),
    )
    support = Support(options, settings)
    node = pending.result()
    installed = {d.name: d.version for d in node.distributions}
    choices = choose(lock, lambda metadata: support.for_metadata(metadata, lambda: installed), node.tags)
    wanted = [c for c in choices if c.installs]
    reinstall = []
    for choice in wanted:
        present = node.installed(normalize(choice.package.name))
        same = present is not None and Version(present.version) == Version(choice.package.version)
        if present is not None and same and present.label != choice.label:
            reinstall.append(choice.package.name)
    installer = runner.TargetInstaller.choose(node, options.installer)
    cache_dir = options.cache_dir or user_cache_dir()
    if not wanted:  # every locked package is for other variants only
        return SyncResult(choices, (), ())
    with closing(SimpleClient(settings, cache_dir=cache_dir, timeout=options.timeout)) as client:
        view = IndexView(client, _presented(lock, wanted), state_dir=cache_dir)
        with view:
            changes = runner.install(
                installer,
                view.installer_url,
                [f"{c.package.name}=={c.package.version}" for c in wanted],
                view.problems,
                dry_run=dry_run,
                reinstall=reinstall,
                no_deps=True,
                progress=progress,
            )
    return SyncResult(choices, tuple(changes), tuple(reinstall))
