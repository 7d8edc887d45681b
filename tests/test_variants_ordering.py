"""PEP 825 ordering: worked examples, explanations, rejections, and a differential test against
variantlib 0.2.2's ``sort_and_filter_supported_variants`` on generated cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.variants.metadata import MetadataError, VariantMetadata
from jupyter_pyvariant.variants.ordering import rank
from jupyter_pyvariant.variants.overrides import Overrides
from jupyter_pyvariant.variants.properties import VariantProperty
from jupyter_pyvariant.variants.providers import host_supported
from jupyter_pyvariant.variants.reader import parse_variants_json
from jupyter_pyvariant.variants.supported import SupportedProperties

DATA = Path(__file__).parent / "data" / "variants"


def metadata(namespaces: list[str], variants: dict[str, Any], **priorities: Any) -> VariantMetadata:
    document = {
        "$schema": "https://variants-schema.wheelnext.dev/peps/825/v0.1.0.json",
        "default-priorities": {"namespace": namespaces, **priorities},
        "variants": variants,
    }
    return parse_variants_json(document, "demo-1.0-variants.json")


def supported(table: dict[str, dict[str, list[str]]]) -> SupportedProperties:
    return SupportedProperties.from_mapping(table, origin="test")


LEVELS = metadata(
    ["x86_64"],
    {
        "null": {},
        "v2": {"x86_64": {"level": ["v2"]}},
        "v3": {"x86_64": {"level": ["v3"]}},
        "v4": {"x86_64": {"level": ["v4"]}},
        "v3_fma": {"x86_64": {"level": ["v3"], "fma": ["on"]}},
        "v1_or_v2": {"x86_64": {"level": ["v1", "v2"]}},
    },
)
V3_HOST = supported({"x86_64": {"level": ["v3", "v2", "v1"], "avx2": ["on"], "fma": ["on"]}})


def test_best_value_then_more_features_then_label() -> None:
    ranking = rank(
        {**{label: LEVELS.properties(label) for label in LEVELS.labels}, None: ()}, V3_HOST, LEVELS
    )
    # v3_fma and v3 share their best key (level v3); v3_fma has one more matching feature.
    # v2 and v1_or_v2 tie on level v2 with one key each; the label breaks the tie.
    assert ranking.order == ("v3_fma", "v3", "v1_or_v2", "v2", "null", None)
    assert ranking.best == "v3_fma"
    assert set(ranking.rejected) == {"v4"}
    assert ranking.rejected["v4"] == "x86_64 :: level needs v4: this host supports v3, v2, v1"
    # the variant_properties marker: declared properties narrowed to the supported ones
    assert ranking.candidate("v1_or_v2").supported == {VariantProperty.parse("x86_64 :: level :: v2")} | {
        VariantProperty.parse("x86_64 :: level :: v1")
    }
    assert [str(p) for p in ranking.candidate("v1_or_v2").best] == ["x86_64 :: level :: v2"]


def test_explain_gives_a_reason_for_every_decision_and_rejection() -> None:
    ranking = rank([*LEVELS.labels, None], V3_HOST, LEVELS)
    lines = ranking.explain()
    assert lines[0] == "namespace order: x86_64"
    assert "x86_64: answered by test" in lines
    assert "1. v3_fma: x86_64 :: level :: v3, x86_64 :: fma :: on" in lines
    assert any("v3_fma matches more features (2 vs 1)" in line for line in lines)
    assert any("x86_64 :: level: v3 is preferred over v2 (order: v3, v2, v1)" in line for line in lines)
    assert any("equal properties; label 'v1_or_v2' sorts before 'v2'" in line for line in lines)
    assert any("null comes last among variants" in line for line in lines)
    assert any("the plain wheel comes after every variant" in line for line in lines)
    assert "rejected v4: x86_64 :: level needs v4: this host supports v3, v2, v1" in lines
    # one line per candidate, one reason between each consecutive pair, one per rejection, the headers
    assert len(lines) == 2 + len(ranking.candidates) * 2 - 1 + len(ranking.rejected)


def test_namespace_and_feature_order_decide_before_values() -> None:
    meta = metadata(
        ["nvidia", "x86_64"],
        {
            "gpu": {"nvidia": {"sm_arch": ["80_real"]}},
            "cpu_v4": {"x86_64": {"level": ["v4"]}},
            "both": {"nvidia": {"sm_arch": ["86_real"]}, "x86_64": {"level": ["v2"]}},
        },
    )
    host = supported({"x86_64": {"level": ["v4", "v3", "v2"]}, "nvidia": {"sm_arch": ["86_real", "80_real"]}})
    ranking = rank(list(meta.labels), host, meta)
    assert ranking.order == ("both", "gpu", "cpu_v4")
    lines = ranking.explain()
    assert "   nvidia :: sm_arch: 86_real is preferred over 80_real (order: 86_real, 80_real)" in lines
    assert "   namespace nvidia ranks above x86_64" in lines


def test_labels_unknown_to_the_metadata_are_rejected_and_nothing_left_raises() -> None:
    ranking = rank(["v4", "mystery"], V3_HOST, LEVELS)
    assert ranking.order == ()
    assert ranking.rejected["mystery"] == "the label is not described by the variant metadata"
    with pytest.raises(LookupError, match="no compatible variant and no plain wheel"):
        _ = ranking.best


def test_user_preferences_come_before_the_package_defaults() -> None:
    meta = metadata(
        ["x86_64"],
        {"v3": {"x86_64": {"level": ["v3"]}}, "v2": {"x86_64": {"level": ["v2"]}}},
        property={"x86_64": {"level": ["v2"]}},
    )
    host = supported({"x86_64": {"level": ["v3", "v2", "v1"]}})
    assert rank(list(meta.labels), host, meta).order == ("v2", "v3")  # the package prefers v2
    preferred = Overrides(prefer=("x86_64 :: level :: v3",)).apply(host)
    assert rank(list(meta.labels), preferred, meta).order == ("v3", "v2")


def test_pep817_fixture_on_a_cuda_host() -> None:
    torch = parse_variants_json(
        (DATA / "torch-2.9.0-variants.json").read_bytes(), "torch-2.9.0-variants.json"
    )
    report = {
        "cpu": {"arch": "x86_64", "isa_level": "x86-64-v4", "features": ["avx2", "avx512f"]},
        "system": {"os": "Linux"},
        "accelerators": [
            {
                "vendor": "nvidia",
                "status": "ok",
                "cuda_driver_version": "12.8",
                "devices": [{"compute_capability": "8.6", "visible": True}],
            }
        ],
    }
    host = host_supported(HostFacts.from_dict(report), torch)
    ranking = rank([*torch.labels, None], host, torch)
    # nvidia first: CUDA >= 12.8 beats >= 12.6; then the CPU builds, v3 preferred by the package
    assert ranking.order == ("cu128", "cu126", "cpu_v3_mkl", "cpu_v1_openblas", "null", None)
    without_gpu = host_supported(HostFacts.from_dict({**report, "accelerators": []}), torch)
    ranking = rank([*torch.labels, None], without_gpu, torch)
    assert ranking.order == ("cpu_v3_mkl", "cpu_v1_openblas", "null", None)
    assert ranking.rejected["cu128"] == "namespace nvidia: the host report lists no nvidia accelerator"
    assert "nvidia: not supported: the host report lists no nvidia accelerator" in ranking.explain()


def test_marker_environment_holds_only_the_supported_properties() -> None:
    ranking = rank([*LEVELS.labels, None], V3_HOST, LEVELS)
    assert ranking.candidate("v1_or_v2").marker_environment() == {
        "variant_label": "v1_or_v2",
        "variant_properties": frozenset({"x86_64 :: level :: v1", "x86_64 :: level :: v2"}),
        "variant_features": frozenset({"x86_64 :: level"}),
        "variant_namespaces": frozenset({"x86_64"}),
    }
    narrowed = rank(["v1_or_v2"], supported({"x86_64": {"level": ["v2"]}}), LEVELS).candidate("v1_or_v2")
    assert narrowed.marker_environment()["variant_properties"] == frozenset({"x86_64 :: level :: v2"})
    assert ranking.candidate(None).marker_environment() == {
        "variant_label": "",
        "variant_properties": frozenset(),
        "variant_features": frozenset(),
        "variant_namespaces": frozenset(),
    }


# --- differential: the same order as variantlib 0.2.2 -----------------------------------------------

NAMESPACES = ["ns_a", "ns_b", "ns_c"]
FEATURES = ["f1", "f2", "f3"]
VALUES = ["v1", "v2", "v3", "v4"]


def _orderings(items: list[str], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=min_size, unique=True)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    namespaces = draw(st.permutations(NAMESPACES))
    host = {
        ns: {f: draw(_orderings(VALUES, 1)) for f in draw(_orderings(FEATURES, 1))}
        for ns in draw(_orderings(NAMESPACES))
    }
    features = {ns: draw(_orderings(FEATURES)) for ns in draw(_orderings(NAMESPACES))}
    values = {
        ns: {f: draw(_orderings(VALUES)) for f in draw(_orderings(FEATURES))}
        for ns in draw(_orderings(NAMESPACES))
    }
    labels = draw(
        st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True), min_size=1, max_size=8, unique=True)
    )
    triples = st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(FEATURES), st.sampled_from(VALUES))
    variants: dict[str, dict[str, dict[str, list[str]]]] = {"null": {}}
    for label in labels:
        if label == "null":
            continue
        table: dict[str, dict[str, list[str]]] = {}
        for ns, f, v in draw(st.lists(triples, min_size=1, max_size=4, unique=True)):
            table.setdefault(ns, {}).setdefault(f, []).append(v)
        variants[label] = table
    user = {
        "namespaces": draw(_orderings(NAMESPACES)),
        "features": {ns: draw(_orderings(FEATURES)) for ns in draw(_orderings(NAMESPACES))},
        "values": {
            ns: {f: draw(_orderings(VALUES)) for f in draw(_orderings(FEATURES))}
            for ns in draw(_orderings(NAMESPACES))
        },
    }
    return {
        "namespaces": namespaces,
        "host": host,
        "features": features,
        "values": values,
        "variants": variants,
        "user": user,
    }


def _variantlib_order(case: dict[str, Any]) -> list[str]:
    from variantlib.models.variant import VariantDescription
    from variantlib.models.variant import VariantProperty as LibProperty
    from variantlib.resolver.lib import sort_and_filter_supported_variants
    from variantlib.utils import (
        aggregate_feature_priorities,
        aggregate_namespace_priorities,
        aggregate_property_priorities,
    )

    descriptions = [
        VariantDescription(
            [LibProperty(ns, f, v) for ns, feats in table.items() for f, vals in feats.items() for v in vals],
            label=label,
        )
        for label, table in case["variants"].items()
        if label != "null"
    ]
    supported_props = [
        LibProperty(ns, f, v) for ns, feats in case["host"].items() for f, vals in feats.items() for v in vals
    ]
    user = case["user"]
    ordered = sort_and_filter_supported_variants(
        [*descriptions, VariantDescription()],
        supported_props,
        namespace_priorities=aggregate_namespace_priorities(user["namespaces"], case["namespaces"]),
        feature_priorities=aggregate_feature_priorities(user["features"], case["features"]),
        property_priorities=aggregate_property_priorities(user["values"], case["values"]),
    )
    return [d.label for d in ordered]


def _our_order(case: dict[str, Any]) -> list[str]:
    meta = metadata(case["namespaces"], case["variants"], feature=case["features"], property=case["values"])
    user = case["user"]
    prefer = [
        *user["namespaces"],
        *(f"{ns} :: {f}" for ns, feats in user["features"].items() for f in feats),
        *(
            f"{ns} :: {f} :: {v}"
            for ns, feats in user["values"].items()
            for f, vals in feats.items()
            for v in vals
        ),
    ]
    host = Overrides(prefer=tuple(prefer)).apply(supported(case["host"]))
    return [str(label) for label in rank(list(meta.labels), host, meta).order]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_ordering_equals_variantlib(case: dict[str, Any]) -> None:
    assert _our_order(case) == _variantlib_order(case), json.dumps(case)


def test_abi_dependency_from_the_installed_versions_equals_variantlib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variants = {
        "null": {},
        "torch29": {"abi_dependency": {"torch": ["2.9"]}},
        "torch28": {"abi_dependency": {"torch": ["2.8"]}},
        "torch2": {"abi_dependency": {"torch": ["2"]}},
        "torch291_v3": {"abi_dependency": {"torch": ["2.9.1"]}, "x86_64": {"level": ["v3"]}},
        "torch290": {"abi_dependency": {"torch": ["2.9.0"]}},
    }
    # abi_dependency needs no provider and no place in default-priorities: it is reserved
    meta = metadata(["x86_64"], variants)
    assert meta.namespaces == ("x86_64", "abi_dependency")
    x86_v3 = HostFacts.from_dict({"cpu": {"arch": "x86_64", "isa_level": "x86-64-v3"}})
    host = host_supported(x86_v3, meta, installed={"Torch": "2.9.1"})
    assert host.to_dict()["abi_dependency"] == {"torch": ["2", "2.9", "2.9.1"]}
    ranking = rank(list(meta.labels), host, meta)
    assert ranking.rejected.keys() == {"torch28", "torch290"}
    unknown = host_supported(x86_v3, meta)
    assert rank(list(meta.labels), unknown, meta).rejected["torch29"] == (
        "namespace abi_dependency: the target environment's installed versions are unknown"
    )

    from variantlib.models.variant import VariantDescription
    from variantlib.models.variant import VariantProperty as LibProperty
    from variantlib.resolver.lib import sort_and_filter_supported_variants

    monkeypatch.setenv("VARIANT_ABI_DEPENDENCY", "torch==2.9.1")
    descriptions = [
        VariantDescription(
            [LibProperty(str(p.namespace), p.feature, p.value) for p in meta.properties(label)], label=label
        )
        for label in meta.labels
        if label != "null"
    ]
    theirs = sort_and_filter_supported_variants(
        [*descriptions, VariantDescription()],
        [LibProperty("x86_64", "level", v) for v in ("v3", "v2", "v1")],
        namespace_priorities=["x86_64"],
    )
    assert [str(label) for label in ranking.order] == [d.label for d in theirs]


def test_abi_dependency_cannot_have_a_provider() -> None:
    document = {
        "$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json",
        "default-priorities": {"namespace": ["abi_dependency"]},
        "providers": {"abi_dependency": {"requires": ["something"]}},
        "variants": {"t": {"abi_dependency": {"torch": ["2"]}}},
    }
    with pytest.raises(MetadataError, match="reserved and has no provider"):
        parse_variants_json(document, "demo-1.0-variants.json")
