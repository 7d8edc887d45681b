"""Variant ordering exactly as draft PEP 825 defines it, with a reason for every decision.

A label is compatible when each of its features has at least one supported value. For each
compatible label, every feature's best supported value gives a key (namespace position, feature
position, value position); the keys are sorted, and labels compare key by key: the lower key wins,
a label whose keys run out first loses (more matching features win), then the label string breaks
the tie. ``null`` comes last among variants, the plain wheel (label ``None``) after it.

Orders are composed as variantlib does: the user's preferences first, then the package's default
priorities, then the provider's own order.
"""

from __future__ import annotations

__all__ = ["Ranking", "rank"]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from .metadata import VariantMetadata
from .properties import VariantLabel, VariantProperty, variant_label
from .supported import SupportedProperties

Key = tuple[int, int, int]
_LAST: Key = (1 << 62, 1 << 62, 1 << 62)
"""Placed after a label's own keys, so running out of keys loses against any further key."""


def _unique(*orders: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for order in orders for item in order))


@dataclass(frozen=True)
class Orders:
    """The composed namespace, feature and value orders one ranking used."""

    namespaces: tuple[str, ...]
    features: Mapping[str, tuple[str, ...]]
    values: Mapping[tuple[str, str], tuple[str, ...]]

    @classmethod
    def compose(cls, supported: SupportedProperties, metadata: VariantMetadata | None) -> Orders:
        prefs = supported.preferences
        defaults = metadata.priorities if metadata is not None else None
        namespaces = _unique(prefs.namespaces, defaults.namespaces if defaults else (), supported.namespaces)
        features: dict[str, tuple[str, ...]] = {}
        values: dict[tuple[str, str], tuple[str, ...]] = {}
        for ns in supported.namespaces:
            offered = supported.features(ns)
            order = _unique(
                prefs.features.get(ns, ()), defaults.features.get(ns, ()) if defaults else (), offered
            )
            features[ns] = tuple(f for f in order if f in offered)
            for feature in offered:
                own = supported.values(ns, feature)
                default = defaults.values.get(ns, {}).get(feature, ()) if defaults else ()
                ordered = _unique(prefs.values.get(ns, {}).get(feature, ()), default, own)
                values[(ns, feature)] = tuple(v for v in ordered if v in own)
        return cls(namespaces, features, values)

    def keys(self) -> dict[tuple[str, str, str], Key]:
        """(namespace, feature, value) -> sort key, for every supported property."""
        return {
            (ns, feature, value): (ns_index, feature_index, value_index)
            for ns_index, ns in enumerate(self.namespaces)
            for feature_index, feature in enumerate(self.features.get(ns, ()))
            for value_index, value in enumerate(self.values[(ns, feature)])
        }


class Candidate(NamedTuple):
    """A compatible label: its properties, the best supported value per feature, and its sort keys.

    A named tuple: a plan makes one per label of every package it reads.
    """

    label: VariantLabel | None
    properties: frozenset[VariantProperty]
    best: tuple[VariantProperty, ...]
    """The most preferred supported value of each feature, best feature first."""
    supported: frozenset[VariantProperty]
    """The properties the host supports: the value of the ``variant_properties`` marker (PEP 825)."""
    keys: tuple[Key, ...]

    @property
    def sort_key(self) -> tuple[bool, bool, tuple[Key, ...], str]:
        label = "" if self.label is None else str(self.label)
        return (self.label is None, label == "null", (*self.keys, _LAST), label)

    @property
    def name(self) -> str:
        return "plain wheel" if self.label is None else str(self.label)

    def marker_environment(self) -> dict[str, str | frozenset[str]]:
        """Values of PEP 825's variant markers for this wheel's dependencies (empty for a plain wheel)."""
        return {
            "variant_label": "" if self.label is None else str(self.label),
            "variant_properties": frozenset(str(p) for p in self.supported),
            "variant_features": frozenset(str(p.key) for p in self.supported),
            "variant_namespaces": frozenset(p.namespace for p in self.supported),
        }


@dataclass(frozen=True)
class Ranking:
    """Compatible labels best first (``None`` is the plain wheel), and why others were rejected."""

    candidates: tuple[Candidate, ...]
    rejected: Mapping[VariantLabel, str]
    orders: Orders
    supported_by: SupportedProperties

    @property
    def order(self) -> tuple[VariantLabel | None, ...]:
        return tuple(c.label for c in self.candidates)

    @property
    def best(self) -> VariantLabel | None:
        """The label to install (``None``: the plain wheel); LookupError when nothing fits."""
        if not self.candidates:
            raise LookupError("no compatible variant and no plain wheel: " + "; ".join(self.explain()))
        return self.candidates[0].label

    def candidate(self, label: str | None) -> Candidate:
        return next(c for c in self.candidates if c.label == label)

    def explain(self) -> list[str]:
        """One line per decision: the orders, each label and why it beats the next, each rejection."""
        lines = [f"namespace order: {', '.join(self.orders.namespaces) or '(none)'}"]
        for ns in self.orders.namespaces:
            if ns in self.supported_by.origins:
                lines.append(f"{ns}: answered by {self.supported_by.origins[ns]}")
            elif ns in self.supported_by.notes:
                lines.append(f"{ns}: not supported: {self.supported_by.notes[ns]}")
        for position, candidate in enumerate(self.candidates, 1):
            lines.append(f"{position}. {candidate.name}: {_describe(candidate)}")
            if position < len(self.candidates):
                lines.append(f"   {_why(candidate, self.candidates[position], self.orders)}")
        lines += [f"rejected {label}: {reason}" for label, reason in self.rejected.items()]
        return lines


def _describe(candidate: Candidate) -> str:
    if candidate.label is None:
        return "the wheel without a variant label, used after every variant"
    if not candidate.best:
        return "the null variant: no properties, always compatible, last among variants"
    return ", ".join(str(p) for p in candidate.best)


def _why(winner: Candidate, loser: Candidate, orders: Orders) -> str:
    """Why ``winner`` sorts before ``loser``, in the words of the PEP's comparison."""
    if loser.label is None:
        return f"{winner.name} is a variant; the plain wheel comes after every variant"
    if str(loser.label) == "null" and winner.keys:
        return f"{winner.name} matches properties; null comes last among variants"
    for mine, theirs, prop, other in zip(winner.keys, loser.keys, winner.best, loser.best, strict=False):
        if mine == theirs:
            continue
        if mine[0] != theirs[0]:
            return f"namespace {prop.namespace} ranks above {other.namespace}"
        if mine[1] != theirs[1]:
            return f"in {prop.namespace}, feature {prop.feature} ranks above {other.feature}"
        preferred = ", ".join(orders.values[(prop.namespace, prop.feature)])
        return f"{prop.key}: {prop.value} is preferred over {other.value} (order: {preferred})"
    if len(winner.keys) != len(loser.keys):
        return (
            f"same best properties as far as {loser.name} goes, and {winner.name} matches more features "
            f"({len(winner.keys)} vs {len(loser.keys)})"
        )
    return f"equal properties; label {winner.name!r} sorts before {loser.name!r}"


def _rejection(
    missing: Mapping[tuple[str, str], list[VariantProperty]], supported: SupportedProperties
) -> str:
    """What an incompatible label misses, feature by feature, and why."""
    problems: dict[str, str] = {}
    for (namespace, feature), props in sorted(missing.items()):
        if namespace not in supported.table:
            note = supported.notes.get(namespace, "nothing says this host supports it")
            problems.setdefault(namespace, f"namespace {namespace}: {note}")
            continue
        wanted = ", ".join(sorted(p.value for p in props))
        reasons = (
            sorted({r for p in props if (r := supported.why_not(p)) is not None}) if supported.notes else []
        )
        offered = supported.values(namespace, feature)
        if reasons:
            why = "; ".join(reasons)
        elif offered:
            why = f"this host supports {', '.join(offered)}"
        else:
            why = f"this host does not support {feature}"
        problems[f"{namespace} :: {feature}"] = f"{namespace} :: {feature} needs {wanted}: {why}"
    return "; ".join(problems.values())


class _Verdict(NamedTuple):
    """What a set of properties scores against one host and one package's priorities."""

    best: tuple[VariantProperty, ...]
    supported: frozenset[VariantProperty]
    keys: tuple[Key, ...]
    missing: Mapping[tuple[str, str], list[VariantProperty]] | None
    """The features without a supported value (None: every feature has one)."""


class _Scorer:
    """The orders and keys for one (supported properties, default priorities) pair, and the verdict on
    each distinct property set: packages and releases repeat the same sets, a plan scores each once."""

    def __init__(self, supported: SupportedProperties, metadata: VariantMetadata | None) -> None:
        self.orders = Orders.compose(supported, metadata)
        self.keys = self.orders.keys()
        self.verdicts: dict[frozenset[VariantProperty], _Verdict] = {}
        self.rejections: dict[frozenset[VariantProperty], str] = {}

    @classmethod
    def of(cls, supported: SupportedProperties, metadata: VariantMetadata | None) -> _Scorer:
        """The scorer kept on ``supported`` (immutable) for these priorities, made on first use."""
        memo_key = (_Scorer, None if metadata is None else metadata.priorities.key)
        scorer: _Scorer | None = supported.memo.get(memo_key)
        if scorer is None:
            scorer = supported.memo[memo_key] = cls(supported, metadata)
        return scorer

    def verdict(self, properties: frozenset[VariantProperty]) -> _Verdict:
        found = self.verdicts.get(properties)
        if found is None:
            found = self.verdicts[properties] = self._score(properties)
        return found

    def _score(self, properties: frozenset[VariantProperty]) -> _Verdict:
        keys = self.keys
        best: dict[tuple[str, str], tuple[Key, VariantProperty]] = {}
        features: set[tuple[str, str]] = set()
        for prop in properties:
            feature = (prop.namespace, prop.feature)
            features.add(feature)
            key = keys.get(prop)  # a property is a tuple (namespace, feature, value): the key's own shape
            current = best.get(feature)
            if key is not None and (current is None or key < current[0]):
                best[feature] = (key, prop)
        missing: dict[tuple[str, str], list[VariantProperty]] | None = None
        if len(best) != len(features):
            missing = {}
            for prop in properties:
                if (prop.namespace, prop.feature) not in best:
                    missing.setdefault((prop.namespace, prop.feature), []).append(prop)
        ordered = sorted(best.values())
        matched = frozenset(p for p in properties if p in keys)
        return _Verdict(tuple(p for _, p in ordered), matched, tuple(k for k, _ in ordered), missing)

    def rejection(self, properties: frozenset[VariantProperty], supported: SupportedProperties) -> str:
        found = self.rejections.get(properties)
        if found is None:
            missing = self.verdict(properties).missing
            found = self.rejections[properties] = _rejection(missing or {}, supported)
        return found


def rank(
    labels_with_properties: Mapping[str | None, Iterable[VariantProperty]] | Iterable[str | None],
    supported: SupportedProperties,
    metadata: VariantMetadata | None,
) -> Ranking:
    """Order candidate labels per PEP 825.

    ``labels_with_properties`` maps each label found among the candidate wheels to its properties,
    or lists the labels and lets ``metadata`` say their properties (a label it does not know is
    rejected, as PEP 825 asks). Include ``None`` when a plain wheel is among the candidates.
    """
    rejected: dict[VariantLabel, str] = {}
    given: dict[VariantLabel | None, frozenset[VariantProperty]] = {}
    if isinstance(labels_with_properties, Mapping):
        for label_text, props in labels_with_properties.items():
            label = None if label_text is None else variant_label(label_text)
            given[label] = frozenset(props)
    else:
        variants = metadata.variants if metadata is not None else {}
        for label_text in labels_with_properties:
            if label_text is None:
                given[None] = frozenset()
            elif label_text == "null":
                given[variant_label(label_text)] = frozenset()
            elif label_text in variants:
                given[variant_label(label_text)] = variants[label_text]  # type: ignore[index]
            else:
                rejected[variant_label(label_text)] = "the label is not described by the variant metadata"
    scorer = _Scorer.of(supported, metadata)
    candidates: list[Candidate] = []
    for label, properties in given.items():
        verdict = scorer.verdict(properties)
        if label is not None and verdict.missing is not None:
            rejected[label] = scorer.rejection(properties, supported)
            continue
        candidates.append(Candidate(label, properties, verdict.best, verdict.supported, verdict.keys))
    candidates.sort(key=_sort_key)
    return Ranking(tuple(candidates), MappingProxyType(rejected), scorer.orders, supported)


def _sort_key(candidate: Candidate) -> tuple[bool, bool, tuple[Key, ...], str]:
    return candidate.sort_key
