"""Variant metadata in every dialect met in the wild, merging per PEP 825, and bad input."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from jupyter_pyvariant.variants.embedded import read_wheel_variant_json
from jupyter_pyvariant.variants.metadata import (
    PEP817,
    PEP825,
    PEP850,
    MetadataError,
    merge_metadata,
)
from jupyter_pyvariant.variants.properties import VariantProperty
from jupyter_pyvariant.variants.reader import parse_variants_json

DATA = Path(__file__).parent / "data" / "variants"
TORCH = DATA / "torch-2.9.0-variants.json"
NUMPY = DATA / "numpy-2.3.2-variants.json"
SIMD = DATA / "simdjson_py-1.4.0-variants.json"
SIMD_WHEEL_JSON = DATA / "simdjson_py-1.4.0-cp313-cp313-linux_x86_64-v3_iomp.variant.json"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def props(*texts: str) -> frozenset[VariantProperty]:
    return frozenset(VariantProperty.parse(t) for t in texts)


def test_pep817_era_schema_v003() -> None:
    meta = parse_variants_json(TORCH.read_bytes(), str(TORCH))
    assert (meta.package, meta.dialect, meta.schema_version) == ("torch", PEP817, (0, 0, 3))
    assert meta.priorities.namespaces == ("nvidia", "x86_64", "blas_lapack")
    assert meta.priorities.features["nvidia"] == ("cuda_version_lower_bound", "sm_arch")
    assert meta.priorities.values["x86_64"]["level"] == ("v3", "v2", "v1")
    nvidia = meta.providers["nvidia"]
    assert nvidia.kind == "plugin" and nvidia.package == "nvidia-variant-provider"
    assert nvidia.object_reference == "nvidia_variant_provider.plugin:NvidiaVariantPlugin"
    assert nvidia.enable_if == "platform_system == 'Linux' or platform_system == 'Windows'"
    blas = meta.providers["blas_lapack"]
    # an ahead-of-time provider: its supported values come from the top-level static-properties,
    # features ordered by default-priorities.feature
    assert blas.kind == "static" and not blas.install_time
    assert dict(blas.static_properties or {}) == {"library": ("mkl", "openblas"), "index_width": ("32", "64")}
    assert list(blas.static_properties or {}) == ["library", "index_width"]
    assert meta.properties("cpu_v3_mkl") == props(
        "blas_lapack :: library :: mkl", "blas_lapack :: index_width :: 32", "x86_64 :: level :: v3"
    )
    assert meta.properties("null") == frozenset()
    assert len(meta.properties("cu126")) == 10


def test_pep825_v011_has_no_providers() -> None:
    meta = parse_variants_json(load(NUMPY), "https://pypi.example/simple/numpy/numpy-2.3.2-variants.json")
    assert (meta.package, meta.dialect) == ("numpy", PEP825)
    assert meta.providers == {}
    assert len(meta.labels) == 5
    assert meta.properties("armv8_2_sve") == props("aarch64 :: version :: 8.2a", "aarch64 :: sve :: on")


def test_pep850_v020_providers() -> None:
    meta = parse_variants_json(SIMD.read_text(), str(SIMD))
    assert (meta.package, meta.dialect, meta.schema_version) == ("simdjson_py", PEP850, (0, 2, 0))
    kinds = {ns: p.kind for ns, p in meta.providers.items()}
    assert kinds == {
        "x86_64": "plugin",
        "aarch64": "builtin",
        "nvidia": "plugin",
        "openmp": "static",
        "fictional_accel": "plugin",
    }
    assert meta.providers["nvidia"].optional
    assert meta.providers["nvidia"].object_reference == "nvidia_variant_provider"  # defaulted from requires
    assert meta.providers["fictional_accel"].object_reference == "fictional_accel_provider:Plugin"
    assert list(meta.providers["openmp"].static_properties or {}) == ["runtime", "version"]


@pytest.mark.parametrize("path", [TORCH, NUMPY, SIMD, SIMD_WHEEL_JSON])
def test_to_json_round_trips_in_the_same_dialect(path: Path) -> None:
    meta = parse_variants_json(path.read_bytes(), str(path))
    again = parse_variants_json(json.dumps(meta.to_json()), str(path))
    assert again == meta
    assert meta.to_json()["$schema"] == load(path)["$schema"]


def test_missing_schema_is_recognized_by_its_keys() -> None:
    for path, dialect in ((TORCH, PEP817), (NUMPY, PEP825), (SIMD, PEP850)):
        data = load(path)
        del data["$schema"]
        assert parse_variants_json(data, str(path)).dialect == dialect


def test_newer_minor_version_is_read_with_the_newest_rules() -> None:
    data = load(SIMD)
    data["$schema"] = "https://variants-schema.wheelnext.dev/v0.3.1.json"
    data["some-future-key"] = {"ignored": True}
    meta = parse_variants_json(data, "x-1-variants.json")
    assert meta.dialect == PEP850 and meta.schema_version == (0, 3, 1)


def test_merge_takes_the_longer_namespace_list_and_the_union_of_variants() -> None:
    index = parse_variants_json(load(NUMPY), "numpy-2.3.2-variants.json")
    data = load(NUMPY)
    data["default-priorities"]["namespace"] = ["x86_64", "aarch64", "blas_lapack", "openmp"]
    data["variants"] = {"x86_64_v4_omp": {"x86_64": {"level": ["v4"]}, "openmp": {"runtime": ["gomp"]}}}
    wheel = parse_variants_json(data, "numpy-2.3.2-cp313-cp313-linux_x86_64-x86_64_v4_omp.whl")
    merged = index.merge(wheel)
    assert merged.priorities.namespaces == ("x86_64", "aarch64", "blas_lapack", "openmp")
    assert set(merged.labels) == {*index.labels, "x86_64_v4_omp"}
    assert merged.sources == (
        "numpy-2.3.2-variants.json",
        "numpy-2.3.2-cp313-cp313-linux_x86_64-x86_64_v4_omp.whl",
    )
    # symmetric: the order of the inputs does not change the result
    flipped = wheel.merge(index)
    assert flipped.variants == merged.variants and flipped.priorities == merged.priorities
    assert merge_metadata([index, wheel, index]).variants == merged.variants


def test_merge_refuses_a_label_with_two_property_sets() -> None:
    index = parse_variants_json(load(NUMPY), "https://idx.example/numpy-2.3.2-variants.json")
    data = load(NUMPY)
    data["variants"] = {"x86_64_v2": {"x86_64": {"level": ["v3"]}}}
    other = parse_variants_json(data, "https://mirror.example/numpy-2.3.2-variants.json")
    with pytest.raises(MetadataError) as error:
        index.merge(other)
    text = str(error.value)
    assert "x86_64_v2" in text and "two property sets" in text
    assert "x86_64 :: level :: v2" in text and "x86_64 :: level :: v3" in text
    assert error.value.package == "numpy"
    assert "idx.example" in error.value.source and "mirror.example" in text


def test_merge_refuses_diverging_namespace_orders_and_providers() -> None:
    first = parse_variants_json(load(SIMD), "a/simdjson_py-1.4.0-variants.json")
    data = load(SIMD)
    data["default-priorities"]["namespace"] = ["aarch64", "x86_64", "nvidia", "openmp", "fictional_accel"]
    with pytest.raises(MetadataError, match="disagree"):
        first.merge(parse_variants_json(data, "b/simdjson_py-1.4.0-variants.json"))
    data = load(SIMD)
    data["providers"]["nvidia"]["optional"] = False
    with pytest.raises(MetadataError, match="provider for namespace 'nvidia'"):
        first.merge(parse_variants_json(data, "b/simdjson_py-1.4.0-variants.json"))


def _mutate(path: Path, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(load(path))
    change(data)
    return data


BAD: list[tuple[str, Path, Any, str]] = [
    (
        "unknown major",
        SIMD,
        lambda d: d.update({"$schema": "https://x/v1.0.0.json"}),
        "unsupported major version",
    ),
    ("unknown major 2", NUMPY, lambda d: d.update({"$schema": "https://x/v2.1.json"}), "2.1.0"),
    (
        "no version in url",
        NUMPY,
        lambda d: d.update({"$schema": "https://x/schema.json"}),
        "names no version",
    ),
    ("no priorities", NUMPY, lambda d: d.pop("default-priorities"), "default-priorities is missing"),
    ("no namespace", NUMPY, lambda d: d["default-priorities"].pop("namespace"), "namespace is missing"),
    ("empty namespace", NUMPY, lambda d: d["default-priorities"].update(namespace=[]), "must not be empty"),
    ("namespace twice", NUMPY, lambda d: d["default-priorities"].update(namespace=["a", "a"]), "twice"),
    ("no variants", NUMPY, lambda d: d.pop("variants"), "variants is missing"),
    ("variants a list", NUMPY, lambda d: d.update(variants=[]), "variants must be an object"),
    ("bad label", NUMPY, lambda d: d["variants"].update({"X86": {}}), "invalid variant label 'X86'"),
    (
        "null with props",
        NUMPY,
        lambda d: d["variants"].update(null={"x86_64": {"level": ["v1"]}}),
        "reserved",
    ),
    ("empty non-null", NUMPY, lambda d: d["variants"].update(foo={}), "only 'null' may be empty"),
    (
        "value not list",
        NUMPY,
        lambda d: d["variants"].update(v={"x86_64": {"level": "v2"}}),
        "list of strings",
    ),
    ("empty values", NUMPY, lambda d: d["variants"].update(v={"x86_64": {"level": []}}), "must not be empty"),
    (
        "bad value",
        NUMPY,
        lambda d: d["variants"].update(v={"x86_64": {"level": ["V2"]}}),
        "invalid variant value",
    ),
    ("bad feature", NUMPY, lambda d: d["variants"].update(v={"x86_64": {"Level": ["v2"]}}), "feature name"),
    ("undeclared ns", NUMPY, lambda d: d["variants"].update(v={"amd": {"gfx_arch": ["gfx90a"]}}), "['amd']"),
    ("no provider", SIMD, lambda d: d["providers"].pop("openmp"), "no entry for namespaces ['openmp']"),
    (
        "two sources",
        SIMD,
        lambda d: d["providers"]["aarch64"].update(requires=["provider-variant-aarch64"]),
        "exactly one of requires, static-properties, builtin",
    ),
    ("no source", SIMD, lambda d: d["providers"]["aarch64"].pop("builtin"), "exactly one of"),
    (
        "plugin-api without requires",
        SIMD,
        lambda d: d["providers"]["aarch64"].update({"plugin-api": "x:Y"}),
        "plugin-api is valid only with requires",
    ),
    (
        "feature-order mismatch",
        SIMD,
        lambda d: d["providers"]["openmp"].update({"feature-order": ["runtime"]}),
        "must list exactly",
    ),
    (
        "build-requires",
        SIMD,
        lambda d: d["providers"]["openmp"].update({"build-requires": ["x"]}),
        "belongs in pyproject.toml",
    ),
    (
        "bad plugin-api",
        SIMD,
        lambda d: d["providers"]["x86_64"].update({"plugin-api": "a b"}),
        "object reference",
    ),
    ("optional not bool", SIMD, lambda d: d["providers"]["nvidia"].update(optional="yes"), "true or false"),
    (
        "817 install-time without requires",
        TORCH,
        lambda d: d["providers"]["nvidia"].pop("requires"),
        "providers.nvidia.requires must not be empty",
    ),
    (
        "817 aot without static",
        TORCH,
        lambda d: d.pop("static-properties"),
        "static-properties.blas_lapack is missing",
    ),
    (
        "817 enable-if type",
        TORCH,
        lambda d: d["providers"]["nvidia"].update({"enable-if": 1}),
        "must be a string",
    ),
]


@pytest.mark.parametrize(("case", "path", "change", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_metadata_names_package_file_and_source(case: str, path: Path, change: Any, message: str) -> None:
    source = f"https://index.example/simple/pkg/{path.name}"
    with pytest.raises(MetadataError) as error:
        parse_variants_json(_mutate(path, change), source)
    assert message in str(error.value)
    package = path.name.split("-")[0]
    assert error.value.package == package and error.value.file == path.name and error.value.source == source
    assert str(error.value).startswith(f"{package}: {path.name} from {source}: ")


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[]", b'"text"'])
def test_garbage_is_refused(raw: bytes) -> None:
    with pytest.raises(MetadataError, match=r"not valid JSON|must be an object") as error:
        parse_variants_json(raw, "/srv/files/demo-1.0-variants.json")
    assert error.value.package == "demo" and error.value.file == "demo-1.0-variants.json"


def _wheel(tmp_path: Path, filename: str, variant_json: bytes | None, extra: tuple[str, ...] = ()) -> Path:
    path = tmp_path / filename
    dist_info = "simdjson_py-1.4.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"{dist_info}/METADATA", "Metadata-Version: 2.1\nName: simdjson_py\nVersion: 1.4.0\n"
        )
        if variant_json is not None:
            archive.writestr(f"{dist_info}/variant.json", variant_json)
        for name in extra:
            archive.writestr(name, variant_json or b"")
    return path


def test_wheel_variant_json_is_read_and_checked_against_the_filename(tmp_path: Path) -> None:
    name = "simdjson_py-1.4.0-cp313-cp313-linux_x86_64-v3_iomp.whl"
    meta = read_wheel_variant_json(_wheel(tmp_path, name, SIMD_WHEEL_JSON.read_bytes()))
    assert meta.labels == ("v3_iomp",) and meta.package == "simdjson_py"
    index = parse_variants_json(SIMD.read_bytes(), str(SIMD))
    assert index.merge(meta).variants == index.variants
    with (tmp_path / name).open("rb") as stream:
        from_stream = read_wheel_variant_json(stream, source="https://idx.example/" + name)
    assert from_stream.labels == ("v3_iomp",) and from_stream.sources == ("https://idx.example/" + name,)


def test_wheel_label_must_match_its_variant_json(tmp_path: Path) -> None:
    name = "simdjson_py-1.4.0-cp313-cp313-linux_x86_64-x86_64_v4.whl"
    with pytest.raises(MetadataError, match="filename carries 'x86_64_v4'") as error:
        read_wheel_variant_json(_wheel(tmp_path, name, SIMD_WHEEL_JSON.read_bytes()))
    assert error.value.file == f"{name}!simdjson_py-1.4.0.dist-info/variant.json"
    assert error.value.source == str(tmp_path / name)


def test_wheel_variant_json_with_two_variants_is_refused(tmp_path: Path) -> None:
    name = "simdjson_py-1.4.0-cp313-cp313-linux_x86_64-v3_iomp.whl"
    with pytest.raises(MetadataError, match="exactly one variant, it describes 9"):
        read_wheel_variant_json(_wheel(tmp_path, name, SIMD.read_bytes()))


def test_wheel_without_or_with_two_variant_json_is_refused(tmp_path: Path) -> None:
    name = "simdjson_py-1.4.0-cp313-cp313-linux_x86_64-v3_iomp.whl"
    with pytest.raises(MetadataError, match="found none"):
        read_wheel_variant_json(_wheel(tmp_path, name, None))
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(MetadataError, match=r"found \S+variant\.json, \S+variant\.json"):
        read_wheel_variant_json(
            _wheel(other, name, SIMD_WHEEL_JSON.read_bytes(), extra=("other-1.0.dist-info/variant.json",))
        )
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(MetadataError, match="cannot read the wheel"):
        read_wheel_variant_json(tmp_path / "broken.whl")


def test_a_label_written_twice_in_one_file_is_refused() -> None:
    raw = b"""{"default-priorities": {"namespace": ["x86_64"]},
               "variants": {"fast": {"x86_64": {"level": ["v3"]}}, "fast": {"x86_64": {"level": ["v4"]}}}}"""
    with pytest.raises(MetadataError, match="key 'fast' appears twice in one object") as error:
        parse_variants_json(raw, "https://idx.example/demo/demo-2.0-variants.json")
    assert error.value.package == "demo" and error.value.file == "demo-2.0-variants.json"
