"""Run the installer (the one :mod:`jupyter_pyvariant._installer` chooses) against the view.

The installer only ever sees the loopback view: the user's own index settings are already folded
into the view's upstreams, so they are scrubbed from the installer's environment and config. A dry
run tells the plan exactly what the installer would do; the real run streams its output as progress.
"""

from __future__ import annotations

__all__ = [
    "SCRATCH_PREFIX",
    "InstallerError",
    "TargetInstaller",
    "imported_modules",
    "install",
    "installer_environment",
    "resolve",
]

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from .. import _installer, _process
from .._installer import InstallerKind
from .._process import Finished
from .._scratch import scratch_folder
from ..display import Progress
from ..errors import InstallError

if TYPE_CHECKING:
    from .target import Target

_SCRUBBED = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_PYTHON",
    "UV_SYSTEM_PYTHON",
    "UV_CONSTRAINT",
    "UV_OVERRIDE",
    "VIRTUAL_ENV",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_CONSTRAINT",
    "PIP_REQUIREMENT",
    "PIP_PYTHON",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_ROOT",
    "PIP_USER",
    "PIP_CONFIG_FILE",
    "PIP_ISOLATED",
)
"""Settings that would point the installer somewhere other than the view or the target."""

SCRATCH_PREFIX = "pyvariant-install-"
"""The installer's scratch folders (pip's report, uv's requirements file), named for their process:
a killed run's are removed by the next (see :mod:`.._scratch`)."""


class InstallerError(InstallError):
    """The installer (or the target interpreter) failed; the message says what it printed."""


class TargetInstaller(NamedTuple):
    """The installer for one target, driven against the view."""

    tool: _installer.Installer
    target: str

    @property
    def kind(self) -> InstallerKind:
        return self.tool.kind

    @classmethod
    def choose(cls, target: Target, prefer: str | None = None) -> TargetInstaller:
        """The project's one choice (``--installer``, ``$PYVARIANT_INSTALLER``, uv when installed)."""
        try:
            tool = _installer.Installer.choose(
                prefer, target=target.executable, target_has_pip=target.has_pip
            )
        except _installer.NoInstaller as exc:
            raise InstallerError(str(exc)) from None
        return cls(tool, target.executable)

    def command(
        self,
        requirements: Sequence[str],
        *,
        dry_run: bool = False,
        reinstall: Iterable[str] = (),
        no_deps: bool = False,
        report: Path | None = None,
        fresh: bool = False,
    ) -> list[str]:
        """The install command; ``fresh`` resolves as if nothing were installed (for locks).

        The index is not on it: :func:`installer_environment` hands the view's URL, secret included.
        """
        reinstall = sorted(reinstall)
        if self.kind == "uv":
            options = ["--no-config", *(arg for name in reinstall for arg in ("--reinstall-package", name))]
        else:
            options = ["--progress-bar", "off", "--retries", "0"]
            options += ["--ignore-installed"] if fresh else []
            options += ["--force-reinstall"] if reinstall else []
            options += ["--report", str(report)] if report is not None else []
        options += ["--dry-run"] if dry_run else []
        options += ["--no-deps"] if no_deps else []
        return self.tool.install_argv(self.target, options, requirements)

    def compile_command(self, requirements_file: Path) -> list[str]:
        """uv's from-scratch resolution (``uv pip compile``), printing ``name==version`` lines."""
        return [*self.tool.compile_argv(self.target, requirements_file), "--no-config"]


def installer_environment(
    kind: InstallerKind,
    index_url: str,
    after: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """This process's environment without settings that would bypass the view, and the view's URL.

    The URL carries the view's secret, so it goes by environment (readable by this user alone),
    never on the command line; pip reads no configuration file then, uv runs ``--no-config``.
    ``after``: upstream indexes uv reads, in this order, for what the view answers 404 (uv takes a
    project from the first index that has it): the projects the view hands through.
    """
    env = dict(os.environ if environ is None else environ)
    for key in list(env):
        if key in _SCRUBBED:
            del env[key]
    if kind == "uv" and after:
        env["UV_INDEX"] = " ".join([index_url, *after[:-1]])
        env["UV_DEFAULT_INDEX"] = after[-1]
    elif kind == "uv":
        env["UV_DEFAULT_INDEX"] = index_url
    else:
        env["PIP_INDEX_URL"] = index_url
        env["PIP_CONFIG_FILE"] = os.devnull
        # pip keeps an http:// download in its cache only from a trusted host
        view_host = urlsplit(index_url).netloc.rpartition("@")[2]
        env["PIP_TRUSTED_HOST"] = " ".join(filter(None, (env.get("PIP_TRUSTED_HOST"), view_host)))
    env["PYTHONIOENCODING"] = "utf-8"
    # ipykernel sets FORCE_COLOR / CLICOLOR_FORCE for its children; the installer's output is parsed.
    for key in ("FORCE_COLOR", "CLICOLOR_FORCE"):
        env.pop(key, None)
    env["NO_COLOR"] = "1"
    # The view is on loopback: a failure there (a hash mismatch, an upstream error) is not transient.
    env["UV_HTTP_RETRIES"] = "0"
    return env


def run(
    installer: TargetInstaller,
    command: Sequence[str],
    index_url: str,
    progress: Progress | None = None,
    after: Sequence[str] = (),
) -> Finished:
    """Run ``command`` against the view at ``index_url`` (then ``after``, see
    :func:`installer_environment`), streaming its output lines to ``progress``."""
    counted = [0]

    def on_line(line: str) -> None:
        counted[0] += 1
        if progress is not None:
            progress.update(counted[0], line[:100])

    try:
        return _process.run(
            command,
            installer.kind,
            env=installer_environment(installer.kind, index_url, after),
            on_line=on_line,
            check=False,
        )
    except _process.ToolFailed as exc:
        raise InstallerError(str(exc)) from None


def _failure(installer: TargetInstaller, result: Finished, problems: Sequence[str]) -> InstallerError:
    tail = result.tail
    causes = "".join(f"\n  {p}" for p in problems)
    lead = f"while serving the index:{causes}\n" if problems else ""
    return InstallerError(f"{lead}{installer.kind} failed (exit {result.returncode}):\n{tail}")


def resolve(
    installer: TargetInstaller,
    view_url: str,
    requirements: Sequence[str],
    problems: Sequence[str],
    *,
    reinstall: Iterable[str] = (),
    no_deps: bool = False,
    fresh: bool = False,
    after: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """What the installer would install, as (name, version), without changing anything.

    ``fresh``: everything the requirements need, as if the environment were empty (for locks).
    ``after``: the upstream indexes for what the view hands through (see :func:`installer_environment`).
    """
    if fresh and installer.kind == "uv":
        with scratch_folder(SCRATCH_PREFIX) as folder:
            listing = folder / "requirements.in"
            listing.write_text("\n".join(requirements) + "\n", encoding="utf-8")
            result = run(installer, installer.compile_command(listing), view_url)
        if result.returncode != 0:
            raise _failure(installer, result, problems)
        return _pinned_lines(result.lines, prefix=_COMPILED)
    return install(
        installer,
        view_url,
        requirements,
        problems,
        dry_run=True,
        reinstall=reinstall,
        no_deps=no_deps,
        fresh=fresh,
        after=after,
    )


def install(
    installer: TargetInstaller,
    view_url: str,
    requirements: Sequence[str],
    problems: Sequence[str],
    *,
    dry_run: bool = False,
    reinstall: Iterable[str] = (),
    no_deps: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
    after: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """Run ``uv pip install`` / ``pip install``; (name, version) of what it installs (or would).

    Both installers resolve everything, and fetch every file, before they change the environment,
    so a failure anywhere (a hash mismatch, an index error) leaves it as it was.
    """
    with scratch_folder(SCRATCH_PREFIX) as folder:
        report = folder / "report.json" if installer.kind == "pip" else None
        command = installer.command(
            requirements,
            dry_run=dry_run,
            reinstall=reinstall,
            no_deps=no_deps,
            report=report,
            fresh=fresh,
        )
        result = run(installer, command, view_url, progress, after)
        if result.returncode != 0:
            raise _failure(installer, result, problems)
        if report is not None:
            data: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
            return [(i["metadata"]["name"], i["metadata"]["version"]) for i in data.get("install", [])]
    return _pinned_lines(result.lines, prefix=_INSTALLED)


_INSTALLED = r"\s*[+~]\s+"
"""uv's line for a distribution it installs: `` + x==1`` (new, or a new version), `` ~ x==1`` (the
same version reinstalled: a variant replaced; a dry run says `` - x==1`` then `` + x==1``)."""
_COMPILED = r"\s*"
"""uv's line for a pin in ``uv pip compile``'s output: ``x==1``."""


def _pinned_lines(lines: Iterable[str], prefix: str) -> list[tuple[str, str]]:
    """(name, version) of uv's ``name==version`` lines that start with ``prefix``."""
    import re

    pattern = re.compile(prefix + r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*$")
    return [(m.group(1), m.group(2)) for line in lines if (m := pattern.match(line))]


def imported_modules(project_names: Iterable[str]) -> list[str]:
    """Top-level modules of these distributions that this process already imported."""
    from importlib import metadata

    modules: set[str] = set()
    for name in project_names:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            top = file.parts[0] if file.parts else ""
            if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__"):
                continue
            module = top.split(".")[0] if top.endswith((".py", ".so", ".pyd")) else top
            if module in sys.modules:
                modules.add(module)
    return sorted(modules)
