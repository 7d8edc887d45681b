"""Third-party provider plugins: installed into an isolated cached environment, run in a subprocess.

Plugins are arbitrary code (the PyPI CPU providers even replace ``sys.modules["archspec"]``), so
they never enter the kernel: each requirement set gets its own virtual environment under the user
cache directory (made with the project's one installer choice: uv when available, else venv + pip),
and the plugin answers from a separate interpreter with a timeout. Only plugins the user trusts by
name get here.
"""

from __future__ import annotations

__all__ = ["PluginOptions", "ProviderError", "run_provider"]

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .. import _process
from .._cache import user_cache_dir
from .._installer import Installer, NoInstaller, venv_python
from .metadata import MetadataError, Provider, VariantMetadata
from .properties import VariantFormatError, check_name, check_value

_ANSWERS: dict[tuple[str, tuple[str, ...], str], dict[str, list[str]]] = {}
"""Plugin answers per process: a host does not change while a plan is made."""


class ProviderError(MetadataError):
    """A trusted provider plugin that could not be installed or did not answer."""

    def __init__(self, message: str, *, provider: Provider, metadata: VariantMetadata) -> None:
        self.provider = provider
        plugin = provider.package or provider.object_reference
        super().__init__(
            f"provider plugin {plugin} for namespace {provider.namespace!r}: {message}",
            package=metadata.package,
            file=", ".join(Path(s).name for s in metadata.sources),
            source=", ".join(metadata.sources),
        )


@dataclass(frozen=True)
class PluginOptions:
    """Where plugin environments live and how they are installed and run.

    ``installer_args`` go to uv / pip as given (``--index-url U``, ``--no-index --find-links D``).
    """

    cache_dir: Path | None = None
    installer_args: tuple[str, ...] = ()
    install_timeout_s: float = 600.0
    run_timeout_s: float = 60.0
    python: str = sys.executable
    installer: str | None = None
    """``--installer`` (None: ``$PYVARIANT_INSTALLER``, else uv when installed)."""


def plugin_environment(requires: Sequence[str], options: PluginOptions) -> Path:
    """The interpreter of a cached environment holding ``requires``, created on first use.

    The environment is built in a scratch directory and renamed into place only once complete, so
    an interrupted install never leaves a half environment that a later run would trust.
    """
    identity = json.dumps([sorted(requires), list(options.installer_args), options.python])
    root = (options.cache_dir or user_cache_dir()) / "providers"
    target = root / hashlib.sha256(identity.encode()).hexdigest()[:16]
    if (target / ".complete").exists():
        return venv_python(target)
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    try:
        python = venv_python(scratch)
        installer = Installer.choose(options.installer, target=python, target_has_pip=True)
        timeout = options.install_timeout_s
        _process.run(
            installer.venv_argv(options.python, scratch), "making the plugin's environment", timeout=timeout
        )
        install = installer.install_argv(python, ["--quiet", *options.installer_args], requires)
        _process.run(install, f"installing the plugin ({installer.kind})", timeout=timeout)
        (scratch / ".complete").write_text(identity, "utf-8")
        try:
            scratch.rename(target)
        except OSError:  # another process finished the same environment first
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return venv_python(target)


def _answer(raw: Any) -> dict[str, list[str]]:
    """The plugin's configs as feature -> values, validated against the PEP's alphabet."""
    features: dict[str, list[str]] = {}
    for config in raw["configs"]:
        name = check_name("feature name", config["name"])
        values = [check_value(v) for v in config["values"]]
        if values:
            features.setdefault(name, values)
    return features


def run_provider(
    provider: Provider, metadata: VariantMetadata, options: PluginOptions | None = None
) -> Mapping[str, list[str]]:
    """Ask a trusted plugin what this host supports: feature -> values, most preferred first."""
    options = options or PluginOptions()
    reference = provider.object_reference
    if reference is None:
        raise ProviderError("names no plugin API", provider=provider, metadata=metadata)
    key = (reference, provider.requires, os.fspath(options.cache_dir or user_cache_dir()))
    if key in _ANSWERS:
        return _ANSWERS[key]
    try:
        python = plugin_environment(provider.requires, options)
        with tempfile.TemporaryDirectory(prefix="pyvariant-plugin-") as scratch:
            answer_path = Path(scratch) / "answer.json"
            with resources.as_file(resources.files(__package__).joinpath("_plugin_runner.py")) as runner:
                # -I: the plugin sees neither PYTHONPATH nor the user's site-packages, only its environment.
                argv = [os.fspath(python), "-I", os.fspath(runner), reference, os.fspath(answer_path)]
                _process.run(argv, f"plugin {reference}", timeout=options.run_timeout_s)
            answer = _answer(json.loads(answer_path.read_text("utf-8")))
    except (
        _process.ToolFailed,
        NoInstaller,
        OSError,
        ValueError,
        KeyError,
        TypeError,
        VariantFormatError,
    ) as exc:
        raise ProviderError(str(exc), provider=provider, metadata=metadata) from None
    _ANSWERS[key] = answer
    return answer
