"""Loopback indexes standing in for PyPI, pypi.nvidia.com and PyTorch's per-build indexes, and
the packaged recipes pointed at them: the ``indexes`` and ``routed`` fixtures (a pytest plugin,
see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from variant_wheels import IndexServer, build_plain, serve

from jupyter_pyvariant.install import recipes


def loopback_recipes(monkeypatch: pytest.MonkeyPatch, urls: dict[str, str]) -> None:
    """The packaged recipes with their index URLs replaced (``urls``: real prefix -> loopback URL)."""
    text = resources.files(recipes.__package__).joinpath("data", "recipes.toml").read_text("utf-8")
    for real, loopback in urls.items():
        text = text.replace(f'"{real}"', f'"{loopback}"')
    rules = recipes.load_rules(text)
    monkeypatch.setattr(recipes, "load_rules", lambda text=None: rules)


TORCH_ROUTES = ("cpu", "cu128", "cu130", "rocm6.4")
GPU_PROJECTS = {
    "cupy-cuda12x": "13.6.0",
    "cupy-cuda13x": "13.6.0",
    "jax": "0.7.0",
    "onnxruntime": "1.22.0",
    "onnxruntime-gpu": "1.22.0",
    "cudf-cu12": "25.8.0",
    "cudf-cu13": "25.8.0",
}


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, IndexServer]]:
    """``pypi`` (also standing in for pypi.nvidia.com) and one index per PyTorch route, whose torch
    carries the route as its local version, as PyTorch's own indexes do (``2.9.0+cu128``)."""
    servers: dict[str, IndexServer] = {}
    root = tmp_path_factory.mktemp("pypi")
    for name, version in GPU_PROJECTS.items():
        build_plain(root, name.replace("-", "_"), version)  # wheel filenames escape dashes
    generators = [serve(root)]
    servers["pypi"] = next(generators[0])
    for route in TORCH_ROUTES:
        folder = tmp_path_factory.mktemp(route)
        build_plain(folder, "torch", f"2.9.0+{route.replace('.', '')}")
        generators.append(serve(folder))
        servers[route] = next(generators[-1])
    yield servers
    for generator in generators:
        generator.close()


@pytest.fixture
def routed(indexes: dict[str, IndexServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The packaged recipes, their index URLs pointing at the loopback indexes."""
    urls = {f"https://download.pytorch.org/whl/{route}": indexes[route].url for route in TORCH_ROUTES}
    loopback_recipes(monkeypatch, {**urls, "https://pypi.nvidia.com": indexes["pypi"].url})
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
