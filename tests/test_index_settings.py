"""The index settings users already have: real pip.conf, uv.toml and pyproject.toml files under a
private HOME / XDG_CONFIG_HOME / working directory, the variables, and their ranking; pip itself
(``pip config list``) agrees on which index-url its files name; ``plan`` through the real command
line names where its index came from; a ``file://`` index and a find-links folder install a real
wheel with uv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from variant_wheels import IndexServer, build_plain, freeze, fresh_venv, serve

from jupyter_pyvariant.cli import main
from jupyter_pyvariant.index.errors import SettingsError
from jupyter_pyvariant.index.settings import (
    PYPI,
    IndexSettings,
    environment_prefix,
    pip_config_files,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """A user with nothing configured; the system folders of XDG point at an empty directory."""
    (tmp_path / "xdg").mkdir()
    return {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "notebooks"
    folder.mkdir(parents=True)
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def settings(
    env: dict[str, str],
    cwd: Path,
    index_url: str | None = None,
    extras: tuple[str, ...] = (),
    prefix: Path | None = None,
) -> IndexSettings:
    return IndexSettings.from_options(index_url, extras, environ=env, cwd=cwd, prefix=prefix)


def test_a_company_mirror_in_the_user_pip_conf_is_the_main_index(env: dict[str, str], project: Path) -> None:
    conf = write(
        Path(env["HOME"]) / ".config/pip/pip.conf",
        "[global]\nindex-url = https://mirror.example/simple\n"
        "extra-index-url =\n    https://one.example/simple\n    https://two.example/simple\n"
        "trusted-host = mirror.example\nfind-links = wheels\n",
    )
    found = settings(env, project)
    assert found.urls == (
        "https://one.example/simple",
        "https://two.example/simple",
        "https://mirror.example/simple",
    )
    assert set(found.origins) == {f"pip.conf ({conf})"}
    assert found.trusted_hosts == ("mirror.example",)
    assert [link.value for link in found.find_links] == [(project / "wheels").as_uri()]
    assert found.describe()[-2:] == [
        f"https://mirror.example/simple (pip.conf ({conf}))",
        f"find-links {(project / 'wheels').as_uri()} (pip.conf ({conf}))",
    ]


def test_pip_files_rank_as_in_pip(env: dict[str, str], project: Path, tmp_path: Path) -> None:
    home = Path(env["HOME"])
    write(home / ".pip/pip.conf", "[global]\nindex-url = https://legacy.example/simple\n")
    assert settings(env, project).urls == ("https://legacy.example/simple",)
    new = write(home / ".config/pip/pip.conf", "[global]\nindex-url = https://new.example/simple\n")
    assert settings(env, project).origins == (f"pip.conf ({new})",)
    venv = tmp_path / "venv"
    write(venv / "pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    assert settings(env, project, prefix=venv).urls == ("https://site.example/simple",)
    named = write(tmp_path / "custom.conf", "[global]\nindex-url = https://named.example/simple\n")
    assert settings({**env, "PIP_CONFIG_FILE": str(named)}, project, prefix=venv).urls == (
        "https://named.example/simple",
    )
    # [install] wins over [global] whichever file holds it; PIP_* variables win over every file.
    write(home / ".pip/pip.conf", "[install]\nindex-url = https://install.example/simple\n")
    assert settings(env, project, prefix=venv).urls == ("https://install.example/simple",)
    variables = {**env, "PIP_INDEX_URL": "https://env.example/simple"}
    assert settings(variables, project).origins == ("PIP_INDEX_URL",)
    assert settings({**env, "PIP_CONFIG_FILE": "/dev/null"}, project).urls == (PYPI,)


def test_the_pip_files_are_those_pip_reads(env: dict[str, str], tmp_path: Path) -> None:
    home = Path(env["HOME"])
    named = write(tmp_path / "custom.conf", "")
    assert pip_config_files(env, tmp_path / "venv") == [
        tmp_path / "xdg/pip/pip.conf",
        Path("/etc/pip.conf"),
        home / ".pip/pip.conf",
        home / ".config/pip/pip.conf",
        tmp_path / "venv/pip.conf",
    ]
    # An existing PIP_CONFIG_FILE replaces the user's files, and is read last.
    assert pip_config_files({**env, "PIP_CONFIG_FILE": str(named)})[-2:] == [Path("/etc/pip.conf"), named]
    assert environment_prefix(str(tmp_path / "venv/bin/python")) == tmp_path / "venv"
    assert environment_prefix(None) == Path(sys.prefix)


def test_uv_toml_in_the_project_then_the_user_then_the_system(
    env: dict[str, str], project: Path, tmp_path: Path
) -> None:
    system = write(tmp_path / "xdg/uv/uv.toml", 'index-url = "https://system.example/simple"\n')
    assert settings(env, project).origins == (f"uv.toml ({system})",)
    user = write(
        Path(env["HOME"]) / ".config/uv/uv.toml",
        '[[index]]\nurl = "https://user.example/simple"\ndefault = true\n\n'
        '[[index]]\nurl = "https://pinned.example/simple"\nexplicit = true\n\n'
        '[[index]]\nurl = "https://user-extra.example/simple"\n',
    )
    found = settings(env, project)
    assert found.urls == ("https://user-extra.example/simple", "https://user.example/simple")
    assert found.origins == (f"uv.toml ({user})",) * 2
    pyproject = write(
        project.parent / "pyproject.toml",
        '[project]\nname = "demo"\n\n[tool.uv]\nextra-index-url = ["https://project.example/simple"]\n'
        'find-links = ["./wheels"]\n\n[tool.uv.pip]\nindex-url = "https://project-pip.example/simple"\n',
    )
    found = settings(env, project)
    origin = f"pyproject.toml [tool.uv] ({pyproject})"
    # The nearest main index wins; extra indexes of every file are joined, the nearest first.
    assert found.urls == (
        "https://project.example/simple",
        "https://user-extra.example/simple",
        "https://project-pip.example/simple",
    )
    assert found.origins[0] == found.origins[-1] == origin
    assert [link.value for link in found.find_links] == [(project.parent / "wheels").as_uri()]
    # A uv.toml beside it hides the pyproject's [tool.uv], as in uv.
    beside = write(project.parent / "uv.toml", '[[index]]\nurl = "../flat"\nformat = "flat"\n')
    found = settings(env, project)
    assert found.find_links[0].value == (tmp_path / "flat").as_uri()
    assert found.find_links[0].origin == f"uv.toml ({beside})"
    assert found.urls[-1] == "https://user.example/simple"
    # UV_CONFIG_FILE is the only file read then; UV_NO_CONFIG reads none.
    named = write(tmp_path / "ci.toml", 'index-url = "https://ci.example/simple"\n')
    assert settings({**env, "UV_CONFIG_FILE": str(named)}, project).urls == ("https://ci.example/simple",)
    assert settings({**env, "UV_NO_CONFIG": "1"}, project).urls == (PYPI,)


def test_uv_settings_rank_before_pip_settings(env: dict[str, str], project: Path) -> None:
    write(
        Path(env["HOME"]) / ".config/pip/pip.conf",
        "[global]\nindex-url = https://pip-file.example/simple\nextra-index-url = https://pip-extra.example/simple\n",
    )
    assert settings(env, project).urls[-1] == "https://pip-file.example/simple"
    env["PIP_INDEX_URL"] = "https://pip-env.example/simple"
    assert settings(env, project).urls[-1] == "https://pip-env.example/simple"
    uv = write(Path(env["HOME"]) / ".config/uv/uv.toml", 'index-url = "https://uv-file.example/simple"\n')
    found = settings(env, project)
    assert (found.urls[-1], found.origins[-1]) == ("https://uv-file.example/simple", f"uv.toml ({uv})")
    # The extra indexes come from pip's file still: no uv source names one.
    assert found.urls[0] == "https://pip-extra.example/simple"
    env["UV_INDEX"] = "internal=https://uv-index.example/simple"
    env["UV_DEFAULT_INDEX"] = "https://uv-env.example/simple"
    found = settings(env, project)
    assert found.urls == ("https://uv-index.example/simple", "https://uv-env.example/simple")
    assert found.origins == ("UV_INDEX", "UV_DEFAULT_INDEX")
    flagged = settings(env, project, "https://flag.example/simple", ("https://x.example/simple",))
    assert flagged.urls == ("https://x.example/simple", "https://flag.example/simple")
    assert flagged.origins == ("--extra-index-url", "--index-url")
    assert flagged.installer_args() == (
        "--index-url",
        "https://flag.example/simple",
        "--extra-index-url",
        "https://x.example/simple",
    )


def test_certificates_and_trusted_hosts_decide_what_the_installer_may_fetch_itself(
    env: dict[str, str], project: Path
) -> None:
    # No pip file: this machine's /etc/pip.conf may name a cert of its own.
    mirror = {**env, "PIP_INDEX_URL": "https://mirror.example/simple", "PIP_CONFIG_FILE": "/dev/null"}
    assert settings(mirror, project).private_hosts() == frozenset()
    private = settings({**mirror, "PIP_CERT": "/company/ca.pem"}, project)
    assert private.cert is not None and private.cert.origin == "PIP_CERT"
    assert private.private_hosts() == {"mirror.example"}
    # The installer inherits SSL_CERT_FILE (uv honours it): those hosts stay direct.
    inherited = settings({**mirror, "SSL_CERT_FILE": "/company/ca.pem", "PIP_CERT": "/other.pem"}, project)
    assert inherited.cert is not None and inherited.cert.origin == "SSL_CERT_FILE"
    assert inherited.private_hosts() == frozenset()
    trusted = settings({**mirror, "UV_INSECURE_HOST": "plain.example:8080"}, project)
    assert trusted.private_hosts() == {"plain.example:8080"}


def test_a_broken_file_is_named(env: dict[str, str], project: Path) -> None:
    bad = write(Path(env["HOME"]) / ".config/pip/pip.conf", "index-url = no section\n")
    with pytest.raises(SettingsError, match=rf"{bad}: not a pip configuration file"):
        settings(env, project)
    bad = write(project / "uv.toml", "index-url = [unclosed\n")
    with pytest.raises(SettingsError, match=rf"{bad}: not a readable TOML file"):
        settings(env, project)


def test_pip_config_list_finds_the_same_index_url(env: dict[str, str], project: Path, tmp_path: Path) -> None:
    """Differential: pip itself, under the same HOME and PIP_CONFIG_FILE, lists the index-url we read."""
    write(Path(env["HOME"]) / ".config/pip/pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    named = write(tmp_path / "custom.conf", "[install]\nindex-url = https://named.example/simple\n")
    for case in ({}, {"PIP_CONFIG_FILE": str(named)}):
        environ = {**env, **case, "PATH": "/usr/bin:/bin"}
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        pip_says = [line.split("=", 1)[1].strip("'") for line in listed if line.endswith("simple'")]
        mine = settings(environ, project).urls[-1]
        # pip lists every section's value; the last it lists ([install] after [global]) is the one it uses.
        assert pip_says and pip_says[-1] == mine


# --------------------------------------------------------------------------------------------------
# Through the command line, against real indexes

needs_uv = pytest.mark.skipif(
    not (shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")),
    reason="the uv path needs uv installed",
)


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    build_plain(folder, "alpha", "1.0")
    return folder


@pytest.fixture
def index(wheels: Path) -> Iterator[IndexServer]:
    yield from serve(wheels)


@pytest.fixture
def isolated(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment without the user's index settings, with the private HOME."""
    for key in list(os.environ):
        if key.startswith(("UV_", "PIP_")) or key in ("SSL_CERT_FILE", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(key)
    for key, value in {**env, "PYVARIANT_CACHE_DIR": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(key, value)
    return dict(os.environ)


@needs_uv
def test_plan_names_the_pip_conf_its_index_came_from(
    index: IndexServer, isolated: dict[str, str], project: Path, tmp_path: Path
) -> None:
    conf = write(Path(isolated["HOME"]) / ".config/pip/pip.conf", f"[global]\nindex-url = {index.url}\n")
    venv = fresh_venv(tmp_path / "venv")
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_pyvariant", "plan", "--json", "--python", str(venv), "alpha"],
        cwd=project,
        env=isolated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["indexes"] == [f"{index.url} (pip.conf ({conf}))"]
    assert [(p["name"], p["version"]) for p in plan["packages"]] == [("alpha", "1.0")]
    assert any(path.startswith("/simple/alpha") for _, path, _ in index.requests)


@needs_uv
def test_a_file_index_installs_a_real_wheel(
    wheels: Path, isolated: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    page = tree / "alpha" / "index.html"
    page.parent.mkdir(parents=True)
    wheel = next(wheels.glob("alpha-*.whl"))
    page.write_text(f'<a href="{wheel.as_uri()}">{wheel.name}</a>\n')
    venv = fresh_venv(tmp_path / "venv")
    argv = [
        "install",
        "alpha",
        "--index-url",
        tree.as_uri(),
        "--python",
        str(venv),
        "--installer",
        "uv",
        "--json",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["indexes"] == [f"{tree.as_uri()} (--index-url)"]
    assert any(line.startswith('["alpha", "1.0"') for line in freeze(venv))


@needs_uv
def test_a_find_links_folder_installs_a_real_wheel(
    wheels: Path, isolated: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty-index"
    empty.mkdir()
    venv = fresh_venv(tmp_path / "venv")
    argv = ["install", "alpha", "--index-url", empty.as_uri(), "--find-links", str(wheels)]
    assert main([*argv, "--python", str(venv), "--installer", "uv", "--json"]) == 0, capsys.readouterr().err
    assert (
        json.loads(capsys.readouterr().out)["indexes"][-1] == f"find-links {wheels.as_uri()} (--find-links)"
    )
    assert any(line.startswith('["alpha", "1.0"') for line in freeze(venv))
