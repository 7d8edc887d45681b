"""Every parser of outside data raises only its declared error, whatever the bytes.

Bounded property-based runs (a few thousand cases per parser, seconds in all): the inputs are
mutations of real shapes (catalog lines, archive and wheel names, variants.json documents, TOML
profiles and locks, REST bodies) so that the parsers get past their first check, plus raw text.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_pyvariant.install.lock import LockError, read_lock
from jupyter_pyvariant.kernels import KernelError
from jupyter_pyvariant.kernels.spec import check_name
from jupyter_pyvariant.pythons.errors import CatalogError
from jupyter_pyvariant.pythons.formats import parse_catalog_text
from jupyter_pyvariant.pythons.names import InvalidArchiveName, parse_archive_name
from jupyter_pyvariant.server.inputs import BadInput, KernelRequest
from jupyter_pyvariant.variants.embedded import read_wheel_variant_json
from jupyter_pyvariant.variants.metadata import MetadataError
from jupyter_pyvariant.variants.profiles import ProfileError, load_profile
from jupyter_pyvariant.variants.properties import VariantFormatError, VariantLabel, VariantProperty, WheelName
from jupyter_pyvariant.variants.reader import parse_variants_json

CASES = 1000
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

_SHA = "a" * 64
_ARCHIVE = "cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz"
_LEGACY = "cpython-3.8.2-x86_64-pc-windows-msvc-shared-pgo-20200518T0154.tar.zst"
_WORDS = [
    "cpython", "3.13.5", "+20250612", "x86_64_v3", "unknown", "linux", "gnu", "musl", "freethreaded",
    "install_only", "install_only_stripped", "pgo+lto", "full", "debug", "static", "shared", "pgo",
    "-", "+", ".", ".tar.gz", ".tar.zst", "T0154", "20200518", "msvc", "pc", "windows", "\n", "\x00",
]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
noise = st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
# Nesting past the default recursion limit (1,000): ``[[[…]]]``, ``{"a": {"a": …}}`` and TOML's ``a = [[…]]``.
depths = st.integers(1, 3_000)
deep_json = depths.map(lambda d: "[" * d + "]" * d) | depths.map(lambda d: '{"a":' * d + "1" + "}" * d)
deep_toml = depths.map(lambda d: "a = " + "[" * d + "]" * d) | depths.map(
    lambda d: "a = " + "{b = " * d + "1" + "}" * d
)


def _mutated(base: str) -> st.SearchStrategy[str]:
    """``base`` with a slice replaced by words of the format or by noise."""
    pieces = st.lists(st.sampled_from(_WORDS) | st.text(max_size=4), max_size=6).map("".join)
    return st.tuples(st.integers(0, len(base)), st.integers(0, len(base)), pieces).map(
        lambda t: base[: min(t[0], t[1])] + t[2] + base[max(t[0], t[1]) :]
    )


archive_names = (
    _mutated(_ARCHIVE) | _mutated(_LEGACY) | st.lists(st.sampled_from(_WORDS), max_size=12).map("".join)
)


_PREFIXES = ["https://h/", "https://[x/", "http://h:99999/", "file:///", "", "%", "https://h/%ff", "\udc80/"]


def _catalog_line(kind: str, prefix: str, name: str, value: Any) -> str:
    if kind == "sums":
        return f"{_SHA}  {prefix}{name}"
    url = {"url": prefix + name, "sha256": _SHA if isinstance(value, bool) else value}
    if kind == "ndjson":
        return json.dumps({"artifacts": [url, value]})
    if kind == "uv":
        return json.dumps({"cpython-3.13.5-linux-x86_64-gnu": url})
    if kind == "pbs":
        return json.dumps([{"python_version": "3.13.5", "files": [url]}])
    return json.dumps(value)


catalog_lines = st.builds(
    _catalog_line,
    st.sampled_from(["sums", "ndjson", "uv", "pbs", "raw"]),
    st.sampled_from(_PREFIXES),
    archive_names,
    json_values | st.just(_SHA) | st.booleans(),
)
catalog_texts = (
    st.lists(catalog_lines | noise, min_size=1, max_size=5).map("\n".join) | catalog_lines | deep_json
)


@FUZZ
@given(catalog_texts)
def test_catalog_parser_raises_only_catalog_error(text: str) -> None:
    with contextlib.suppress(CatalogError):
        parse_catalog_text(text, "https://example.invalid/releases/")


@FUZZ
@given(archive_names)
def test_archive_name_parser_raises_only_invalid_archive_name(name: str) -> None:
    try:
        parsed = parse_archive_name(name)
    except InvalidArchiveName:
        return
    assert parse_archive_name(parsed.filename) == parsed


_VARIANTS = {
    "$schema": "https://variants-schema.wheelnext.dev/v0.0.3.json",
    "default-priorities": {"namespace": ["x86_64"]},
    "providers": {"x86_64": {"requires": ["provider-variant-x86-64"], "plugin-api": "p:Plugin"}},
    "variants": {"x8664v3": {"x86_64": {"level": ["v3"]}}},
}


def _variants_document(path: list[str], value: Any, drop: bool) -> str:
    document = json.loads(json.dumps(_VARIANTS))
    node = document
    for key in path[:-1]:
        if not isinstance(node, dict):
            break
        node = node.setdefault(key, {})
    if isinstance(node, dict) and path:
        if drop:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return json.dumps(document)


_KEYS = ["$schema", "default-priorities", "namespace", "feature", "property", "providers", "x86_64",
         "requires", "plugin-api", "enable-if", "optional", "variants", "x8664v3", "level",
         "static-properties", "variant-providers", "variant-label", "install-time", "plugin-use"]  # fmt: skip
variants_documents = (
    st.builds(
        _variants_document,
        st.lists(st.sampled_from(_KEYS) | st.text(max_size=6), min_size=1, max_size=4),
        json_values,
        st.booleans(),
    )
    | json_values.map(json.dumps)
    | noise
    | deep_json
)


@FUZZ
@given(variants_documents)
def test_variants_json_parser_raises_only_metadata_error(text: str) -> None:
    with contextlib.suppress(MetadataError):
        parse_variants_json(text, "https://example.invalid/pkg-1.0-variants.json")


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(variants_documents)
def test_wheel_variant_json_reader_raises_only_metadata_error(text: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg-1.0.dist-info/variant.json", text)
    buffer.seek(0)
    buffer.name = "pkg-1.0-py3-none-any-x8664v3.whl"
    with contextlib.suppress(MetadataError):
        read_wheel_variant_json(buffer)


_WHEEL = "numpy-2.3.1-1-cp313-cp313-manylinux_2_28_x86_64-x8664v3.whl"


@FUZZ
@given(_mutated(_WHEEL) | _mutated("x86_64 :: level :: v3") | noise)
def test_property_label_and_wheel_parsers_raise_only_variant_format_error(text: str) -> None:
    for parse in (WheelName.parse, VariantProperty.parse, VariantLabel):
        with contextlib.suppress(VariantFormatError):
            parse(text)


toml_scalars = st.sampled_from(['"v3"', "1", "true", "[]", '["v3", "v4"]', "{}", '"1.0"', "[1]", '{a = "b"}'])
toml_lines = (
    st.lists(
        st.sampled_from(
            ["[x86_64]", "[packages.wheels]", "[[packages]]", "[tool.pyvariant]", "[[packages.wheels]]"]
        )
        | st.builds(
            lambda k, v: f"{k} = {v}",
            st.sampled_from(
                [
                    "level",
                    "lock-version",
                    "name",
                    "version",
                    "url",
                    "hashes",
                    "wheels",
                    "sdist",
                    "tool",
                    "variants-json",
                    "packages",
                    "a.b",
                ]
            ),
            toml_scalars,
        )
        | noise,
        max_size=8,
    ).map("\n".join)
    | deep_toml
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input.toml"


@FUZZ
@given(text=toml_lines)
def test_profile_reader_raises_only_profile_error(scratch: Path, text: str) -> None:
    scratch.write_text(text, "utf-8", errors="surrogatepass")
    with contextlib.suppress(ProfileError):
        load_profile(scratch)


@FUZZ
@given(text=toml_lines.map(lambda t: 'lock-version = "1.0"\n' + t) | toml_lines)
def test_lock_reader_raises_only_lock_error(scratch: Path, text: str) -> None:
    scratch.write_text(text, "utf-8", errors="surrogatepass")
    with contextlib.suppress(LockError):
        read_lock(scratch)


_FIELDS = ["version", "level", "freethreaded", "packages", "name", "display_name", "mirror", "index_url",
           "trusted_providers"]  # fmt: skip
bodies = (
    st.dictionaries(st.sampled_from(_FIELDS), json_values, max_size=4).map(lambda d: json.dumps(d).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=100)
    | deep_json.map(str.encode)
)


@FUZZ
@given(bodies)
def test_kernel_request_raises_only_bad_input(body: bytes) -> None:
    with contextlib.suppress(BadInput):
        KernelRequest.from_body(body)


@FUZZ
@given(st.text(max_size=300) | _mutated("py313-v3"))
def test_kernel_name_check_raises_only_kernel_error(name: str) -> None:
    try:
        checked = check_name(name)
    except KernelError:
        return
    assert "\n" not in checked and len(checked.encode()) <= 255
