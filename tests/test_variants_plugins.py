"""Third-party provider plugins: a real package built here, installed offline into an isolated cached
environment, run in a subprocess; old APIs, printing, crashing, hanging and bad answers."""

from __future__ import annotations

import base64
import hashlib
import platform
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pyvariant.variants.metadata import VariantMetadata
from jupyter_pyvariant.variants.ordering import rank
from jupyter_pyvariant.variants.plugins import PluginOptions, ProviderError
from jupyter_pyvariant.variants.providers import host_supported
from jupyter_pyvariant.variants.reader import parse_variants_json

PACKAGE = "pyvariant-test-plugins"

MODULES = {
    # The PEP 817-era API: an instance method taking known_properties, configs without multi_value,
    # and chatter on stdout at import and at call time.
    "old_api.py": """
from dataclasses import dataclass
print("old_api imported")

@dataclass(frozen=True)
class VariantFeatureConfig:
    name: str
    values: list

class OldPlugin:
    namespace = "old"
    def get_supported_configs(self, known_properties):
        print("old_api answering", known_properties)
        return [VariantFeatureConfig("level", ["v2", "v1"]), VariantFeatureConfig("turbo", ["on"])]
""",
    # The current API: class methods, multi_value, and bytes written straight to file descriptor 1.
    "new_api.py": """
import os
from dataclasses import dataclass

@dataclass(frozen=True)
class VariantFeatureConfig:
    name: str
    values: list
    multi_value: bool = False

class NewPlugin:
    namespace = "new"
    @classmethod
    def get_supported_configs(cls):
        os.write(1, b"{not the answer")
        return [VariantFeatureConfig("arch", ["gen3", "gen2"], multi_value=True)]
""",
    "crash.py": """
def get_supported_configs():
    raise RuntimeError("the accelerator library is missing")
""",
    "hang.py": """
import time

def get_supported_configs():
    time.sleep(3600)
""",
    "bad_answer.py": """
def get_supported_configs():
    return [{"name": "level", "values": ["Not Valid"]}]
""",
}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _build_wheel(directory: Path) -> Path:
    """A pure-Python wheel of the plugin modules, written directly."""
    dist_info = "pyvariant_test_plugins-1.0.dist-info"
    files = {name: text.encode() for name, text in MODULES.items()}
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 1.0\n".encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / "pyvariant_test_plugins-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginOptions]:
    wheels = tmp_path_factory.mktemp("wheels")
    _build_wheel(wheels)
    cache = tmp_path_factory.mktemp("cache")
    yield PluginOptions(
        cache_dir=cache,
        installer_args=("--no-index", "--find-links", str(wheels)),
        run_timeout_s=5.0,
    )


def metadata_for(namespace: str, plugin_api: str, feature: str, value: str) -> VariantMetadata:
    document: dict[str, Any] = {
        "$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json",
        "default-priorities": {"namespace": [namespace]},
        "providers": {namespace: {"requires": [f"{PACKAGE} >=1.0"], "plugin-api": plugin_api}},
        "variants": {"null": {}, "fast": {namespace: {feature: [value]}}},
    }
    return parse_variants_json(
        document, f"https://index.example/simple/demo_{namespace}/demo_{namespace}-1.0-variants.json"
    )


def test_old_api_plugin_that_prints_answers_from_its_own_environment(options: PluginOptions) -> None:
    meta = metadata_for("old", "old_api:OldPlugin", "level", "v2")
    host = host_supported(None, meta, trusted_plugins=[PACKAGE], plugin_options=options)
    assert host.to_dict() == {"old": {"level": ["v2", "v1"], "turbo": ["on"]}}
    assert host.origins["old"] == f"plugin {PACKAGE} (trusted)"
    assert rank(list(meta.labels), host, meta).best == "fast"
    # never imported into this process; one cached, complete environment for the requirement set
    assert "old_api" not in sys.modules
    environments = [p for p in (options.cache_dir or Path()).joinpath("providers").iterdir()]
    assert len(environments) == 1 and (environments[0] / ".complete").exists()


def test_class_method_plugin_writing_to_fd1_shares_the_environment(options: PluginOptions) -> None:
    meta = metadata_for("new", "new_api:NewPlugin", "arch", "gen2")
    host = host_supported(None, meta, trusted_plugins=["new"], plugin_options=options)  # trusted by namespace
    assert host.to_dict() == {"new": {"arch": ["gen3", "gen2"]}}
    assert len(list((options.cache_dir or Path()).joinpath("providers").iterdir())) == 1


def test_untrusted_plugin_is_not_installed_or_run(tmp_path: Path) -> None:
    meta = metadata_for("old", "old_api:OldPlugin", "level", "v2")
    isolated = PluginOptions(cache_dir=tmp_path)
    host = host_supported(None, meta, trusted_plugins=["someone-else"], plugin_options=isolated)
    assert host.to_dict() == {}
    assert "trust it by name" in host.notes["old"]
    ranking = rank(list(meta.labels), host, meta)
    assert ranking.order == ("null",)
    assert "trust it by name" in ranking.rejected["fast"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("namespace", "api", "message"),
    [
        ("crashy", "crash", "the accelerator library is missing"),
        ("sleepy", "hang", "did not finish within 5 s"),
        ("wrong", "bad_answer", "invalid variant value 'Not Valid'"),
        ("absent", "no_such_module:Plugin", "No module named 'no_such_module'"),
    ],
)
def test_failing_plugins_raise_errors_naming_package_file_and_source(
    options: PluginOptions, namespace: str, api: str, message: str
) -> None:
    meta = metadata_for(namespace, api, "level", "v1")
    with pytest.raises(ProviderError) as error:
        host_supported(None, meta, trusted_plugins=[PACKAGE], plugin_options=options)
    text = str(error.value)
    assert message in text
    assert error.value.package == f"demo_{namespace}"
    assert error.value.file == f"demo_{namespace}-1.0-variants.json"
    assert error.value.source.startswith("https://index.example/simple/")
    assert f"provider plugin {PACKAGE} for namespace {namespace!r}" in text


def test_a_plugin_that_cannot_be_installed_leaves_no_environment(tmp_path: Path) -> None:
    meta = metadata_for("old", "old_api:OldPlugin", "level", "v2")
    empty = tmp_path / "empty-index"
    empty.mkdir()
    broken = PluginOptions(
        cache_dir=tmp_path / "cache", installer_args=("--no-index", "--find-links", str(empty))
    )
    with pytest.raises(ProviderError, match=r"installing the plugin \(uv\) failed"):
        host_supported(None, meta, trusted_plugins=[PACKAGE], plugin_options=broken)
    assert list((tmp_path / "cache" / "providers").iterdir()) == []


REAL_PLUGIN = Path(__file__).parent / "data" / "plugins"
"""provider-variant-x86-64 0.0.1.post2 as published on PyPI (``pip download --no-deps``): the
x86_64 namespace's own plugin, with the old instance-method API and a vendored archspec."""


def _plugin_vocabulary() -> frozenset[str]:
    """The features the real plugin knows (its ``all_features`` list), read without importing it."""
    import ast

    wheel = next(REAL_PLUGIN.glob("provider_variant_x86_64-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read("provider_variant_x86_64/plugin.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "all_features" for target in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    raise AssertionError(f"{wheel.name} lists no all_features")


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="the x86-64 plugin answers only on x86-64"
)
def test_a_trusted_plugin_answers_for_its_namespace_ahead_of_the_builtin_provider(tmp_path: Path) -> None:
    from jupyter_pyvariant.host import report

    document: dict[str, Any] = {
        "$schema": "https://variants-schema.wheelnext.dev/v0.2.0.json",
        "default-priorities": {"namespace": ["x86_64"]},
        "providers": {
            "x86_64": {
                "requires": ["provider-variant-x86-64 ==0.0.1.post2"],
                "plugin-api": "provider_variant_x86_64.plugin:X8664Plugin",
            }
        },
        "variants": {"null": {}, "v2": {"x86_64": {"level": ["v2"]}}},
    }
    meta = parse_variants_json(document, "https://index.example/simple/demo/demo-1.0-variants.json")
    host = report().facts
    builtin = host_supported(host, meta)
    assert builtin.origins["x86_64"] == "built-in x86_64 provider (host report)"
    offline = PluginOptions(
        cache_dir=tmp_path, installer_args=("--no-index", "--find-links", str(REAL_PLUGIN))
    )
    plugin = host_supported(host, meta, trusted_plugins=["provider-variant-x86-64"], plugin_options=offline)
    assert plugin.origins["x86_64"] == "plugin provider-variant-x86-64 (trusted)"
    # the difference the user asked for: the plugin's own (older) vocabulary, read from the wheel
    # itself, not the built-in's superset (0.0.1.post2 knows no amx_tile, no avx512fp16, ...)
    vocabulary = _plugin_vocabulary()
    assert plugin.values("x86_64", "level") == builtin.values("x86_64", "level")
    assert set(plugin.features("x86_64")) <= set(builtin.features("x86_64")) & (vocabulary | {"level"})
    assert {"amx_tile", "avx512fp16"}.isdisjoint(vocabulary)
    assert "provider_variant_x86_64" not in sys.modules
