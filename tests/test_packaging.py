"""The wheel ships the lab extension, the server-extension switch and the console scripts, and a
fresh environment that installs only that wheel finds all three."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyter_pyvariant import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LABEXTENSION = "share/jupyter/labextensions/jupyter-pyvariant"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/jupyter_pyvariant.json"


def _run(args: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; on failure show its output, which names what went wrong."""
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=240, check=False)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "jupyter_pyvariant" / "labextension" / "package.json").is_file():
        pytest.skip("the lab extension is not built: run `npm ci && npm run build:prod` in labextension/")
    out = tmp_path_factory.mktemp("wheel")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)]
    )
    (built,) = out.glob("jupyter_pyvariant-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_data(wheel: Path) -> dict[str, bytes]:
    """Shared-data files by their install path below the environment prefix."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            name.split(".data/data/", 1)[1]: archive.read(name)
            for name in archive.namelist()
            if ".data/data/" in name
        }


@dataclass(frozen=True)
class FreshEnv:
    """A new venv holding only the wheel, run from a directory outside the source tree."""

    prefix: Path
    home: Path
    env: Mapping[str, str]

    def run(self, program: str, *args: str) -> str:
        """Run one of the venv's programs; its output without colour codes."""
        output = _run([str(self.prefix / "bin" / program), *args], env=self.env, cwd=self.home)
        return ANSI_ESCAPE.sub("", output)


def _without_node(path: str) -> str:
    """``path`` without the folders that hold node or npm: a machine that never had them."""
    return os.pathsep.join(
        p for p in path.split(os.pathsep) if p and not any(Path(p, t).exists() for t in ("node", "npm"))
    )


@pytest.fixture(scope="module")
def fresh_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshEnv:
    # The wheel's dependencies come from the test environment's site-packages, appended after the
    # venv's own so that the wheel's copy of the package wins over any editable install.
    root = tmp_path_factory.mktemp("fresh")
    prefix, home = root / "venv", root / "home"
    venv.create(prefix, with_pip=False)
    home.mkdir()
    purelib = _run(
        [str(prefix / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    )
    parent_sites = [p for p in sys.path if p.endswith("site-packages")]
    Path(purelib.strip(), "zz_parent_env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parent_sites)
    )
    _run(  # no node on PATH: a built wheel installs without it
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(prefix / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ]
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_PREFER_ENV_PATH": "1",
        "PATH": f"{prefix / 'bin'}{os.pathsep}{_without_node(os.environ.get('PATH', ''))}",
    }
    env.pop("VIRTUAL_ENV", None)
    return FreshEnv(prefix, home, env)


def test_wheel_ships_the_prebuilt_lab_extension(wheel_data: dict[str, bytes]) -> None:
    package = json.loads(wheel_data[f"{LABEXTENSION}/package.json"])
    assert package["name"] == "jupyter-pyvariant"
    entry = package["jupyterlab"]["_build"]["load"]
    assert entry.startswith("static/remoteEntry.")
    assert wheel_data[f"{LABEXTENSION}/{entry}"]
    install = json.loads(wheel_data[f"{LABEXTENSION}/install.json"])
    assert install == {**install, "packageManager": "python", "packageName": "jupyter_pyvariant"}


def test_wheel_enables_the_server_extension(wheel_data: dict[str, bytes]) -> None:
    config = json.loads(wheel_data[SERVER_CONFIG])
    assert config["ServerApp"]["jpserver_extensions"] == {"jupyter_pyvariant": True}


def test_wheel_ships_the_type_marker_and_every_data_table_with_its_schema(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "jupyter_pyvariant/py.typed" in names  # PEP 561: type checkers read the package's hints
    package = ROOT / "jupyter_pyvariant"
    shipped = {p.relative_to(ROOT).as_posix() for p in package.glob("*/data/*") if p.is_file()}
    assert {"install/data/recipes.toml", "install/data/recipes.schema.json"} <= {
        name.removeprefix("jupyter_pyvariant/") for name in shipped
    }
    assert sorted(shipped - names) == []


def test_wheel_declares_the_console_scripts(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = (n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(entry_points).decode()
    assert "pyvariant = jupyter_pyvariant.cli:main" in text
    assert "jupyter-pyvariant = jupyter_pyvariant.cli:main" in text


def test_fresh_env_imports_the_installed_wheel(fresh_env: FreshEnv) -> None:
    where = fresh_env.run("python", "-c", "import jupyter_pyvariant; print(jupyter_pyvariant.__file__)")
    assert Path(where.strip()).is_relative_to(fresh_env.prefix)


def test_fresh_env_lists_the_lab_extension_enabled_and_ok(fresh_env: FreshEnv) -> None:
    listing = fresh_env.run("python", "-m", "jupyterlab.labextensions", "list")
    section = _section(listing, str(fresh_env.prefix / "share" / "jupyter" / "labextensions"))
    assert any(line.split()[:1] == ["jupyter-pyvariant"] and "enabled OK" in line for line in section), (
        listing
    )


def test_fresh_env_lists_the_server_extension_enabled(fresh_env: FreshEnv) -> None:
    listing = fresh_env.run("python", "-m", "jupyter_server.extension.serverextension", "list")
    section = _section(listing, str(fresh_env.prefix / "etc" / "jupyter"))
    words = [" ".join(line.split()) for line in section]
    assert "jupyter_pyvariant enabled" in words, listing
    assert f"jupyter_pyvariant {__version__} OK" in words, listing


def test_fresh_env_runs_the_console_scripts(fresh_env: FreshEnv) -> None:
    assert "cpuinfo" in fresh_env.run("pyvariant", "--help")
    # `jupyter pyvariant` finds `jupyter-pyvariant` on PATH, as a user's shell would.
    assert "cpuinfo" in fresh_env.run("python", "-m", "jupyter_core.command", "pyvariant", "--help")


def _section(listing: str, header: str) -> list[str]:
    """The lines that `jupyter ... list` prints under one location header."""
    lines = listing.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().rstrip(":").endswith(header)]
    assert starts, f"{header} is not listed:\n{listing}"
    section = []
    for line in lines[starts[0] + 1 :]:
        if line and not line[0].isspace():
            break
        section.append(line)
    return section


def test_fresh_env_has_no_node_and_still_lists_the_lab_extension(fresh_env: FreshEnv) -> None:
    import shutil

    assert shutil.which("npm", path=fresh_env.env["PATH"]) is None
    assert shutil.which("node", path=fresh_env.env["PATH"]) is None
    listing = fresh_env.run("python", "-m", "jupyterlab.labextensions", "list")
    assert any(
        "jupyter-pyvariant" in line and "enabled" in line and "OK" in line for line in listing.splitlines()
    )


def test_a_source_tree_without_node_fails_in_one_line_naming_what_to_install(tmp_path: Path) -> None:
    """No built lab extension and no npm: the build hook's one line, not jupyter-builder's traceback."""
    import shutil

    source = tmp_path / "src"
    skip = shutil.ignore_patterns(".git", ".venv", "node_modules", "lib", "test-artifacts", "__pycache__")
    shutil.copytree(ROOT, source, ignore=skip)
    shutil.rmtree(source / "jupyter_pyvariant" / "labextension", ignore_errors=True)
    env = {**os.environ, "PATH": _without_node(os.environ.get("PATH", ""))}
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path)]
    done = subprocess.run(
        [*pip, str(source)], capture_output=True, text=True, env=env, timeout=240, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    (line,) = [line.strip() for line in output.splitlines() if "jupyter_pyvariant: building" in line]
    assert "needs node >= 20 and npm" in line and "apt-get install nodejs npm" in line
    assert "Traceback" not in output and "Could not find cmd" not in output
    assert not list(tmp_path.glob("*.whl"))
