"""What a host supports: built-in providers from host reports (matched to the provider plugins in the
wild), static properties, untrusted plugins, user overrides and profile files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.host.properties import supported_properties
from jupyter_pyvariant.variants.overrides import Overrides
from jupyter_pyvariant.variants.profiles import ProfileError, load_profile, write_profile
from jupyter_pyvariant.variants.properties import VariantFormatError, VariantProperty
from jupyter_pyvariant.variants.providers import host_profile, host_supported
from jupyter_pyvariant.variants.reader import parse_variants_json
from jupyter_pyvariant.variants.supported import SupportedProperties

DATA = Path(__file__).parent / "data" / "variants"
SIMD = parse_variants_json(
    (DATA / "simdjson_py-1.4.0-variants.json").read_bytes(), "simdjson_py-1.4.0-variants.json"
)
TORCH = parse_variants_json((DATA / "torch-2.9.0-variants.json").read_bytes(), "torch-2.9.0-variants.json")


def x86(level: str, *features: str) -> dict[str, Any]:
    return {
        "cpu": {"arch": "x86_64", "isa_level": level, "features": list(features)},
        "system": {"os": "Linux"},
    }


def nvidia(
    driver: str | None, *capabilities: str, status: str = "ok", hidden: tuple[str, ...] = ()
) -> dict[str, Any]:
    devices = [{"compute_capability": c, "visible": True} for c in capabilities]
    devices += [{"compute_capability": c, "visible": False} for c in hidden]
    return {
        "accelerators": [
            {"vendor": "nvidia", "status": status, "cuda_driver_version": driver, "devices": devices}
        ]
    }


def test_x86_64_level_and_extensions_in_the_x86_64_providers_names_and_order() -> None:
    table = supported_properties(
        HostFacts.from_dict(x86("x86-64-v3", "sse2", "pni", "avx2", "fma", "avx_vnni", "sha_ni", "bogus"))
    )
    x86_64 = table["x86_64"]
    assert x86_64["level"] == ["v3", "v2", "v1"]
    # provider-variant-x86-64 order: newest extensions first; sse3 is what the kernel calls pni
    assert list(x86_64)[1:] == ["avx_vnni", "sha_ni", "avx2", "fma", "sse3", "sse2"]
    assert all(x86_64[f] == ["on"] for f in list(x86_64)[1:])
    assert supported_properties(HostFacts.from_dict(x86("x86-64-v4")))["x86_64"]["level"] == [
        "v4",
        "v3",
        "v2",
        "v1",
    ]
    assert supported_properties(HostFacts.from_dict(x86("x86-64-v1")))["x86_64"] == {"level": ["v1"]}
    assert supported_properties(HostFacts.from_dict(x86("unknown", "avx2"))) == {}


@pytest.mark.parametrize(
    ("level", "versions"),
    [
        ("armv8.0-a", ["8a"]),
        ("armv8.2-a", ["8.2a", "8.1a", "8a"]),
        ("armv8.7-a", ["8.5a", "8.4a", "8.3a", "8.2a", "8.1a", "8a"]),
        ("armv9.2-a", ["9.0a", "8.5a", "8.4a", "8.3a", "8.2a", "8.1a", "8a"]),
    ],
)
def test_aarch64_versions_as_the_aarch64_provider_spells_them(level: str, versions: list[str]) -> None:
    table = supported_properties(
        HostFacts.from_dict(
            {"cpu": {"arch": "aarch64", "isa_level": level, "features": ["sve", "asimd", "fp"]}}
        )
    )
    assert table["aarch64"]["version"] == versions
    assert list(table["aarch64"])[1:] == ["sve", "asimd", "fp"]


def test_nvidia_properties_match_the_nvidia_provider() -> None:
    table = supported_properties(HostFacts.from_dict(nvidia("12.8", "9.0")))["nvidia"]
    assert list(table) == ["cuda_version_lower_bound", "cuda_version_upper_bound", "sm_arch"]
    lower = table["cuda_version_lower_bound"]
    assert lower[:10] == ["12.8", "12.7", "12.6", "12.5", "12.4", "12.3", "12.2", "12.1", "12.0", "12"]
    assert lower[10:12] == ["11.20", "11.19"] and lower[-2:] == ["11.0", "11"] and len(lower) == 32
    upper = table["cuda_version_upper_bound"]
    assert upper[:3] == ["15.20", "15.19", "15.18"] and "15" in upper and "13" in upper
    assert upper[-2:] == ["12.10", "12.9"] and "12" not in upper and len(upper) == 78
    assert table["sm_arch"] == ["90_real", "90_virtual"]
    # only the newest visible GPU counts; its minors down to 0, then the major's PTX
    assert supported_properties(HostFacts.from_dict(nvidia("13.0", "8.6", "7.5", hidden=("12.0",))))[
        "nvidia"
    ]["sm_arch"] == [
        "86_real",
        "85_real",
        "84_real",
        "83_real",
        "82_real",
        "81_real",
        "80_real",
        "80_virtual",
    ]
    assert supported_properties(HostFacts.from_dict(nvidia("11.0")))["nvidia"][
        "cuda_version_lower_bound"
    ] == ["11.0", "11"]
    assert (
        "cuda_version_upper_bound" not in supported_properties(HostFacts.from_dict(nvidia("15.20")))["nvidia"]
    )
    assert (
        "sm_arch" not in supported_properties(HostFacts.from_dict(nvidia("12.4", "3.5")))["nvidia"]
    )  # below the provider's floor
    assert (
        supported_properties(HostFacts.from_dict(nvidia("10.2", "7.0"))) == {}
    )  # outside the provider's CUDA range
    assert supported_properties(HostFacts.from_dict(nvidia("12.8", "9.0", status="hardware-no-driver"))) == {}


def test_amd_properties() -> None:
    report = {
        "accelerators": [
            {
                "vendor": "amd",
                "status": "ok",
                "rocm_version": "6.4.1",
                "devices": [{"gfx_target": "gfx90a"}, {"gfx_target": "gfx90a"}, {"gfx_target": "gfx1100"}],
            }
        ]
    }
    assert supported_properties(HostFacts.from_dict(report)) == {
        "amd": {"gfx_arch": ["gfx90a", "gfx1100"], "rocm_version": ["6.4"]}
    }


def test_every_namespace_is_answered_or_explained() -> None:
    host = host_supported(HostFacts.from_dict(x86("x86-64-v3", "avx2", "avx512_vnni")), SIMD)
    assert host.values("x86_64", "level") == ("v3", "v2", "v1")
    assert host.origins["x86_64"] == "built-in x86_64 provider (host report)"
    assert host.values("openmp", "runtime") == ("gomp", "iomp", "llvm")
    assert host.origins["openmp"] == "static properties in the metadata"
    assert host.notes["aarch64"] == "this host's CPU is x86_64 at level x86-64-v3"
    assert host.notes["nvidia"] == "the nvidia provider is optional and not enabled"
    assert host.notes["fictional_accel"] == (
        "provider plugin fictional-accel-provider is third-party code; "
        "trust it by name to run it (--trust-provider fictional-accel-provider)"
    )
    assert host.namespaces == ("x86_64", "openmp")


@pytest.mark.parametrize(
    ("namespace", "provider", "report"),
    [
        ("x86_64", {"requires": ["x86-64-variant-provider"]}, x86("x86-64-v3")),
        (
            "aarch64",
            {"requires": ["aarch64-variant-provider"]},
            {"cpu": {"arch": "aarch64", "isa_level": "armv8.2-a"}},
        ),
        (
            "nvidia",
            {
                "requires": ["nvidia-variant-provider"],
                "plugin-api": "nvidia_variant_provider.plugin:NvidiaVariantPlugin",
            },
            nvidia("12.8", "9.0"),
        ),
    ],
)
def test_the_provider_names_uv_answers_to_are_served_by_the_builtin_providers(
    namespace: str, provider: dict[str, Any], report: dict[str, Any]
) -> None:
    document = {
        "$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json",
        "default-priorities": {"namespace": [namespace]},
        "providers": {namespace: provider},
        "variants": {"null": {}},
    }
    host = host_supported(
        HostFacts.from_dict(report), parse_variants_json(document, "demo-1.0-variants.json")
    )
    assert host.origins == {namespace: f"built-in {namespace} provider (host report)"}
    assert host.to_dict() == {namespace: supported_properties(HostFacts.from_dict(report))[namespace]}


def test_optional_provider_enabled_by_name_and_enable_if_evaluated_for_the_host() -> None:
    report = {**x86("x86-64-v2"), **nvidia("12.4", "8.0")}
    host = host_supported(HostFacts.from_dict(report), SIMD, overrides=Overrides(enable_optional=("nvidia",)))
    assert host.values("nvidia", "sm_arch") == ("80_real", "80_virtual")
    arm = {"cpu": {"arch": "aarch64", "isa_level": "armv8.2-a", "features": []}, "system": {"os": "Linux"}}
    host = host_supported(HostFacts.from_dict(arm), TORCH)
    assert host.notes["x86_64"] == (
        "enable-if \"platform_machine == 'x86_64' or platform_machine == 'AMD64'\" is false on this host"
    )
    assert host.values("blas_lapack", "library") == ("mkl", "openblas")


def test_overrides_force_forbid_and_prefer() -> None:
    host = host_supported(
        HostFacts.from_dict(x86("x86-64-v3", "avx2")),
        SIMD,
        overrides=Overrides.parse(
            force=["x86_64 :: level :: v4", "fictional_accel :: generation :: 2"],
            forbid=["x86_64 :: level :: v2", "x86_64 :: avx2", "openmp"],
            prefer=["x86_64 :: level :: v1", "openmp"],
        ),
    )
    assert host.values("x86_64", "level") == ("v4", "v3", "v1")
    assert host.values("fictional_accel", "generation") == ("2",)
    assert "openmp" not in host and VariantProperty.parse("x86_64 :: avx2 :: on") not in host
    assert (
        host.why_not(VariantProperty.parse("openmp :: runtime :: gomp")) == "openmp is forbidden by the user"
    )
    assert host.preferences.namespaces == ("openmp",)
    assert host.preferences.values["x86_64"]["level"] == ("v1",)
    for bad in ("X86", "a :: b :: c :: d", "a :: B"):
        with pytest.raises(VariantFormatError):
            Overrides.parse(forbid=[bad])
    with pytest.raises(VariantFormatError):
        Overrides.parse(force=["x86_64 :: level"])


def test_profile_round_trip_stands_in_for_the_host(tmp_path: Path) -> None:
    path = tmp_path / "v3-box.toml"
    v3_box = SupportedProperties.from_mapping({"x86_64": {"level": ["v3", "v2", "v1"], "avx2": ["on"]}})
    write_profile(v3_box, path, comment="a v3 machine\nwithout AVX-512")
    text = path.read_text()
    assert text.startswith('# a v3 machine\n# without AVX-512\n\n[x86_64]\nlevel = ["v3", "v2", "v1"]\n')
    profile = load_profile(path)
    assert profile.to_dict() == v3_box.to_dict()
    # the profile replaces what this (AVX-512) host says; static properties still come from the metadata
    host = host_supported(
        HostFacts.from_dict(x86("x86-64-v4", "avx512f")), SIMD, overrides=Overrides.parse(profile=path)
    )
    assert host.values("x86_64", "level") == ("v3", "v2", "v1")
    assert host.origins["x86_64"] == f"profile {path}"
    assert host.notes["aarch64"] == "the profile has no [aarch64] table"
    assert host.values("openmp", "version") == ("5.2", "5.0", "4.5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[x86_64\nlevel = 1", "cannot read profile"),
        ("level = ['v3']", "must be a [level] table"),
        ("[x86_64]\nlevel = 'v3'", "[x86_64] level must be a list of strings"),
        ("[x86_64]\nlevel = [3]", "[x86_64] level must be a list of strings"),
        ("[x86_64]\nlevel = ['V3']", "invalid variant value 'V3'"),
        ("[X86]\nlevel = ['v3']", "invalid variant namespace 'X86'"),
    ],
)
def test_bad_profiles_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert message in str(error.value) and str(path) in str(error.value)
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "missing.toml")


def test_an_empty_table_or_list_in_a_profile_means_none_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "bare.toml"
    path.write_text("[x86_64]\nlevel = []\n\n[aarch64]\n")
    profile = load_profile(path)
    assert profile.to_dict() == {}
    host = host_supported(
        HostFacts.from_dict(x86("x86-64-v4")), SIMD, overrides=Overrides.parse(profile=path)
    )
    assert host.notes["x86_64"] == "the profile's [x86_64] table is empty: that machine supports none of it"
    assert host.why_not(VariantProperty.parse("x86_64 :: level :: v3")) == (
        "the profile lists no x86_64 :: level value"
    )
    assert host.notes["aarch64"].startswith("the profile's [aarch64] table is empty")
    # a feature listed empty beside others: the others stand, the empty one is named
    path.write_text('[x86_64]\nlevel = ["v3", "v2", "v1"]\navx512f = []\n')
    host = host_supported(
        HostFacts.from_dict(x86("x86-64-v4")), SIMD, overrides=Overrides.parse(profile=path)
    )
    assert host.values("x86_64", "level") == ("v3", "v2", "v1")
    assert host.notes["x86_64 :: avx512f"] == "the profile lists no x86_64 :: avx512f value"


def test_host_profile_covers_every_builtin_namespace() -> None:
    report = {**x86("x86-64-v4", "avx512f"), **nvidia("12.8", "9.0")}
    profile = host_profile(HostFacts.from_dict(report))
    assert profile.namespaces == ("x86_64", "nvidia")
    assert profile.to_dict() == supported_properties(HostFacts.from_dict(report))


def test_profile_verb_writes_a_loadable_profile_of_this_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "here.toml"
    assert main(["profile", "--output", str(path)]) == 0
    assert f"wrote {path}" in capsys.readouterr().out
    written = load_profile(path)
    assert main(["profile", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == written.to_dict()
    assert main(["profile"]) == 0
    assert "# pyvariant profile of" in capsys.readouterr().out
    assert main(["profile", "--output", str(tmp_path / "no" / "such" / "dir.toml")]) == 2
