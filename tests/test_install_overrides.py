"""The user's overrides on the verbs: --force, --forbid, --prefer, --enable-optional, --trust-provider,
and the target's installed versions for ``abi_dependency``; each changes the plan the installer carries
out (a real dry run against the view of a real loopback index)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import (
    V3_PROFILE,
    IndexServer,
    build_labelled,
    build_plain,
    serve,
    write_profile,
    write_wheel,
)

from jupyter_pyvariant.cli import main

PLUGIN_MODULE = b'''"""A provider plugin for the test namespace demo_accel (current API, class methods)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class VariantFeatureConfig:
    name: str
    values: list
    multi_value: bool = False


class DemoPlugin:
    namespace = "demo_accel"

    @classmethod
    def get_supported_configs(cls):
        return [VariantFeatureConfig("gen", ["g2", "g1"])]
'''
PROVIDERS = {
    "opt_ns": {"static-properties": {"turbo": ["on"]}, "optional": True},
    "demo_accel": {"requires": ["demo-accel-provider"], "plugin-api": "demo_accel_provider:DemoPlugin"},
}


def _level(value: str) -> dict[str, dict[str, list[str]]]:
    return {"x86_64": {"level": [value]}}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    root = tmp_path_factory.mktemp("overrides")
    levels = {"v4": _level("v4"), "v3": _level("v3"), "v2": _level("v2"), "null": {}}
    build_labelled(root, "levels", "1.0", levels, "pep850")
    gpu = {"gpu": {"nvidia": {"cuda_version_lower_bound": ["12.8"]}}, "v2": _level("v2"), "null": {}}
    build_labelled(root, "gpuish", "1.0", gpu, "pep850", namespaces=["nvidia", "x86_64"])
    optional = {"extra": {"opt_ns": {"turbo": ["on"]}}, "v1": _level("v1"), "null": {}}
    build_labelled(
        root, "optional", "1.0", optional, "pep850", namespaces=["opt_ns", "x86_64"], providers=PROVIDERS
    )
    accel = {"accel": {"demo_accel": {"gen": ["g2"]}}, "null": {}}
    build_labelled(root, "accel", "1.0", accel, "pep850", providers=PROVIDERS)
    write_wheel(root, "demo_accel_provider", "1.0", "py3-none-any", {"demo_accel_provider.py": PLUGIN_MODULE})
    abi = {
        "for_dep1": {"abi_dependency": {"dep": ["1"]}},
        "for_dep2": {"abi_dependency": {"dep": ["2"]}},
        "null": {},
    }
    build_labelled(root, "abi", "1.0", abi)
    build_plain(root, "dep", "2.3.1")
    yield from serve(root)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Index pages and plugin environments of this test only."""
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _plan(
    index: IndexServer, venv: Path, capsys: pytest.CaptureFixture[str], project: str, *flags: str
) -> dict[str, Any]:
    """``pyvariant plan project --json ...flags``: the planned package named ``project``."""
    assert main(["plan", project, "--index-url", index.url, "--python", str(venv), "--json", *flags]) == 0
    data = json.loads(capsys.readouterr().out)
    package: dict[str, Any] = next(p for p in data["packages"] if p["name"] == project)
    return {**package, "supported_from": data["supported_from"]}


def test_force_forbid_and_prefer_change_the_choice(
    index: IndexServer, venv: Path, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = ["--profile", write_profile(tmp_path, V3_PROFILE)]
    assert _plan(index, venv, capsys, "levels", *profile)["variant_label"] == "v3"
    forbidden = _plan(index, venv, capsys, "levels", *profile, "--forbid", "x86_64 :: level :: v3")
    assert forbidden["variant_label"] == "v2"
    assert forbidden["rejected"]["v3"] == (
        "x86_64 :: level needs v3: x86_64 :: level :: v3 is forbidden by the user"
    )
    assert "forbidden: x86_64 :: level :: v3" in forbidden["supported_from"]
    preferred = _plan(index, venv, capsys, "levels", *profile, "--prefer", "x86_64::level::v2")
    assert preferred["variant_label"] == "v2"
    forced = _plan(index, venv, capsys, "levels", *profile, "--force", "x86_64 :: level :: v4")
    assert forced["variant_label"] == "v4"
    # a forced namespace the profile lacks: the GPU build wins, nvidia ranking first in the package
    assert _plan(index, venv, capsys, "gpuish", *profile)["variant_label"] == "v2"
    gpu = _plan(
        index, venv, capsys, "gpuish", *profile, "--force", "nvidia :: cuda_version_lower_bound :: 12.8"
    )
    assert gpu["variant_label"] == "gpu"
    assert gpu["properties"] == ["nvidia :: cuda_version_lower_bound :: 12.8"]


def test_enable_optional_uses_an_optional_provider(
    index: IndexServer, venv: Path, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = ["--profile", write_profile(tmp_path, V3_PROFILE)]
    off = _plan(index, venv, capsys, "optional", *profile)
    assert off["variant_label"] == "v1"
    assert off["rejected"]["extra"] == "namespace opt_ns: the opt_ns provider is optional and not enabled"
    assert (
        _plan(index, venv, capsys, "optional", *profile, "--enable-optional", "opt_ns")["variant_label"]
        == "extra"
    )


def test_trust_provider_runs_the_plugin_installed_from_the_users_index(
    index: IndexServer, venv: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    untrusted = _plan(index, venv, capsys, "accel")
    assert untrusted["variant_label"] == "null"
    assert (
        "trust it by name to run it (--trust-provider demo-accel-provider)" in untrusted["rejected"]["accel"]
    )
    assert not (cache / "providers").exists()  # nothing was installed for an untrusted plugin
    trusted = _plan(index, venv, capsys, "accel", "--trust-provider", "demo-accel-provider")
    assert trusted["variant_label"] == "accel"
    assert "trusted plugins: demo-accel-provider" in trusted["supported_from"]
    # the plugin came from the index the user named, into one isolated environment
    (environment,) = (cache / "providers").iterdir()
    assert any(path.startswith("/files/demo_accel_provider-") for _, path, _ in index.requests)
    assert (environment / ".complete").exists()


def test_abi_dependency_follows_the_targets_installed_versions(
    index: IndexServer, venv: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nothing = _plan(index, venv, capsys, "abi")
    assert nothing["variant_label"] == "null"
    assert main(["install", "dep", "--index-url", index.url, "--python", str(venv), "--json"]) == 0
    capsys.readouterr()
    assert _plan(index, venv, capsys, "abi")["variant_label"] == "for_dep2"


def test_lock_records_the_overridden_choice(
    index: IndexServer, venv: Path, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "pylock.toml"
    flags = ["--profile", write_profile(tmp_path, V3_PROFILE), "--forbid", "x86_64 :: level :: v3"]
    assert (
        main(["lock", "levels", "--index-url", index.url, "--python", str(venv), "-o", str(lock), *flags])
        == 0
    )
    text = lock.read_text()
    assert "levels-1.0-py3-none-any-v2.whl" in text and "-v3.whl" not in text


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--force", "x86_64 :: level", "invalid variant property 'x86_64 :: level'"),
        ("--forbid", "X86 :: level", "invalid variant namespace 'X86'"),
        ("--prefer", "a :: b :: c :: d", "invalid selector 'a :: b :: c :: d'"),
    ],
)
def test_bad_overrides_are_named(
    index: IndexServer, venv: Path, flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "levels", "--index-url", index.url, "--python", str(venv), flag, value]) == 1
    assert message in capsys.readouterr().err


def test_an_empty_profile_table_is_stated_and_rejections_are_grouped(
    index: IndexServer, venv: Path, tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = ["--profile", write_profile(tmp_path, "[x86_64]\nlevel = []\n")]
    planned = _plan(index, venv, capsys, "levels", *profile)
    assert planned["variant_label"] == "null"
    reason = "namespace x86_64: the profile's [x86_64] table is empty: that machine supports none of it"
    assert planned["rejected"] == {"v4": reason, "v3": reason, "v2": reason}
    argv = ["plan", "levels", "--index-url", index.url, "--python", str(venv), *profile]
    assert main(argv) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("levels ")]
    assert row.rstrip().endswith(f"v2-v4: {reason}")
    assert row.count("the profile's [x86_64] table is empty") == 1


def test_plan_v_says_which_provider_answered(
    index: IndexServer, venv: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plan", "accel", "--index-url", index.url, "--python", str(venv), "-v"]
    assert main([*argv, "--trust-provider", "demo-accel-provider"]) == 0
    assert "demo_accel: answered by plugin demo-accel-provider (trusted)" in capsys.readouterr().out
