"""Differential: where uv (>= 0.13, ``--preview-features wheel-variants``) supports the namespaces,
the wheel we choose is the wheel uv installs.

uv's built-in providers answer for ``x86_64`` (from this CPU: ``level`` only) and ``nvidia`` (its
values can be forced with ``NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION`` / ``..._SM_ARCH``, so
simulated GPUs are compared too). Packages are generated from both vocabularies, with a random
namespace order (uv refuses ``default-priorities.feature`` / ``.property`` in PEP 850 metadata, so
feature and value orders are the providers' own); each host case installs them all with uv into a fresh
environment and compares the build that landed with our choice for the same host.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from variant_wheels import IndexServer, build_labelled, build_simdcalc, build_simdinfo, fresh_venv, serve

from jupyter_pyvariant._installer import find_uv
from jupyter_pyvariant.host.facts import AcceleratorFacts, Device, HostFacts
from jupyter_pyvariant.install.plan import Options
from jupyter_pyvariant.install.session import Session


def _uv_version() -> tuple[int, ...]:
    uv = find_uv()
    if uv is None:
        return ()
    text = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False).stdout.split()
    return tuple(int(p) for p in text[1].split(".")[:2]) if len(text) > 1 else ()


pytestmark = [
    pytest.mark.skipif(_uv_version() < (0, 13), reason="needs uv >= 0.13 (wheel-variants preview)"),
    pytest.mark.x86_64_linux(
        reason="uv's x86_64 provider reads this CPU; the cases are written for x86-64 Linux"
    ),
]

VOCABULARY = {
    ("x86_64", "level"): ["v1", "v2", "v3", "v4"],
    ("nvidia", "cuda_version_lower_bound"): ["11.8", "12", "12.0", "12.4", "12.6", "12.8", "12.9", "13.0"],
    ("nvidia", "cuda_version_upper_bound"): ["12", "12.0", "12.6", "12.9", "13", "13.0", "13.1"],
    ("nvidia", "sm_arch"): ["75_real", "80_real", "86_real", "89_real", "90_real", "80_virtual", "120_real"],
}
"""What uv's built-in providers know; uv's x86_64 provider knows nothing but ``level``."""

GPUS: dict[str, tuple[str, str | None] | None] = {
    "no-gpu": None,
    "cuda12.8-sm8.6": ("12.8", "8.6"),
    "cuda13.0-sm9.0": ("13.0", "9.0"),
    "cuda12.9-sm12.0": ("12.9", "12.0"),
    "cuda12.4-no-device": ("12.4", None),
}
"""Simulated NVIDIA drivers: (CUDA driver version, compute capability of the newest GPU)."""

PACKAGES_PER_CASE = 12


def _random_labels(rng: random.Random) -> dict[str, dict[str, dict[str, list[str]]]]:
    labels: dict[str, dict[str, dict[str, list[str]]]] = {"null": {}}
    keys = list(VOCABULARY)
    for number in range(rng.randint(2, 6)):
        table: dict[str, dict[str, list[str]]] = {}
        for namespace, feature in rng.sample(keys, rng.randint(1, 3)):
            values = rng.sample(VOCABULARY[(namespace, feature)], rng.choice((1, 1, 2)))
            table.setdefault(namespace, {})[feature] = values
        labels[f"l{number}"] = table
    return labels


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IndexServer, list[str]]]:
    """PACKAGES_PER_CASE generated variant packages (PEP 850 metadata) on one loopback index."""
    root = tmp_path_factory.mktemp("generated")
    rng = random.Random(825)
    names = []
    for number in range(PACKAGES_PER_CASE):
        labels = _random_labels(rng)
        namespaces = sorted({ns for props in labels.values() for ns in props})
        rng.shuffle(namespaces)
        name = f"gen{number}"
        build_labelled(root, name, "1.0", labels, "pep850", namespaces=namespaces)
        names.append(name)
    for index in serve(root):
        yield index, names


def _report_with(gpu: tuple[str, str | None] | None) -> HostFacts:
    """This host's facts, with the simulated NVIDIA GPU (or none) in place of its accelerators."""
    from jupyter_pyvariant.host import report

    facts = report().facts
    if gpu is None:
        return facts._replace(accelerators=())
    devices = () if gpu[1] is None else (Device(compute_capability=gpu[1]),)
    nvidia = AcceleratorFacts("nvidia", "ok", cuda_driver_version=gpu[0], devices=devices)
    return facts._replace(accelerators=(nvidia,))


def _uv_environment(gpu: tuple[str, str | None] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "NV_VARIANT_PROVIDER_"))}
    if gpu is not None:
        env["NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION"] = gpu[0]
        if gpu[1] is not None:
            env["NV_VARIANT_PROVIDER_FORCE_SM_ARCH"] = gpu[1]
    return env


def _uv_install(index: IndexServer, names: list[str], python: Path, env: Mapping[str, str]) -> Path:
    """Install with uv's own variant selection; the environment's python."""
    uv = find_uv()
    assert uv is not None
    done = subprocess.run(
        [uv, "pip", "install", "--python", str(python), "--no-config", "--no-cache", "--index-url", index.url,
         "--preview-features", "wheel-variants", *names],
        capture_output=True, text=True, check=False, env=dict(env),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return python


def _builds(python: Path, names: list[str]) -> list[str]:
    """The ``BUILD`` of each installed package: the label of the wheel that landed."""
    script = (
        f"import importlib, json; print(json.dumps([importlib.import_module(n).BUILD for n in {names!r}]))"
    )
    read = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return list(json.loads(read.stdout))


def _our_labels(index: IndexServer, names: list[str], report: HostFacts, cache: Path) -> list[str]:
    """Our choice per package for the same host (the view's selection; no installer needed)."""
    options = Options(requirements=tuple(names), index_url=index.url, host=report, cache_dir=cache)
    with Session(options) as session:
        session.chooser.prefetch(names)
        chosen = []
        for name in names:
            project = session.chooser.choose(name)
            version = project.version("1.0") if project else None
            assert version is not None, name
            chosen.append(str(version.label))
    return chosen


@pytest.mark.parametrize("gpu", GPUS.values(), ids=GPUS.keys())
def test_generated_packages_get_the_wheel_uv_installs(
    generated: tuple[IndexServer, list[str]], gpu: tuple[str, str | None] | None, tmp_path: Path
) -> None:
    index, names = generated
    theirs = _builds(_uv_install(index, names, fresh_venv(tmp_path / "uv"), _uv_environment(gpu)), names)
    ours = _our_labels(index, names, _report_with(gpu), tmp_path / "cache")
    assert dict(zip(names, ours, strict=True)) == dict(zip(names, theirs, strict=True))
    # the cases must exercise the providers, not only the null fallback
    assert any(label != "null" for label in ours)


def test_x86_64_extension_features_where_uv_knows_only_level(tmp_path: Path) -> None:
    """Our x86_64 provider also answers per-extension features (``avx2 :: on``) as the PyPI plugin
    does. Where uv's built-in provider knows the feature too (:data:`VOCABULARY`), it must choose
    the same build; where it does not (today it answers only ``level``), it falls back to ``null``."""
    from jupyter_pyvariant.host.properties import supported_properties

    host = supported_properties(_report_with(None)).get("x86_64", {})
    feature = next((f for f in ("avx2", "sse4_2", "sse2") if f in host), None)
    if feature is None:
        pytest.skip("this CPU reports none of avx2, sse4_2, sse2")
    root = tmp_path / "wheels"
    root.mkdir()
    labels = {"ext": {"x86_64": {feature: ["on"]}}, "null": {}}
    build_labelled(root, "extpkg", "1.0", labels, "pep850")
    for index in serve(root):
        uv_python = _uv_install(index, ["extpkg"], fresh_venv(tmp_path / "uv"), _uv_environment(None))
        theirs = _builds(uv_python, ["extpkg"])
        ours = _our_labels(index, ["extpkg"], _report_with(None), tmp_path / "cache")
    assert ours == ["ext"]
    assert theirs == (ours if ("x86_64", feature) in VOCABULARY else ["null"])


@pytest.fixture(scope="module")
def pep850_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    root = tmp_path_factory.mktemp("wheels850")
    build_simdinfo(root, tmp_path_factory.mktemp("build850"), dialect="pep850")
    build_simdcalc(root, dialect="pep850")
    yield from serve(root)


def test_this_host_gets_the_same_compiled_binary_as_with_uv(
    pep850_index: IndexServer, tmp_path: Path
) -> None:
    """The whole install, dependency included: the binary that landed is the one uv installs."""
    ours = fresh_venv(tmp_path / "ours")
    options = Options(
        requirements=("simdcalc",), index_url=pep850_index.url, python=str(ours), cache_dir=tmp_path / "cache"
    )
    with Session(options) as session:
        chosen = {p.name: p.variant_label for p in session.install().packages}
    theirs = _uv_install(pep850_index, ["simdcalc"], fresh_venv(tmp_path / "theirs"), _uv_environment(None))
    script = "import json, simdinfo, simdcalc; print(json.dumps([simdcalc.BUILD, simdinfo.build()]))"
    landed = [
        json.loads(subprocess.run([str(py), "-c", script], capture_output=True, text=True, check=True).stdout)
        for py in (ours, theirs)
    ]
    assert landed[0] == landed[1] == [chosen["simdcalc"], chosen["simdinfo"]]
    assert chosen["simdinfo"] != "null"  # uv's and our x86_64 providers both answered
