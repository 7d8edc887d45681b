"""A second install of the same packages downloads nothing: the installer's own cache answers.

uv and pip key their caches by index URL, so the view keeps one address per user (its port kept in
the cache folder) and names the files it serves by their hash. The loopback upstream counts every
request, so these tests see what the installer fetched, run after run, with uv and with pip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import IndexServer, freeze, fresh_venv, serve, write_wheel

from jupyter_pyvariant.index.address import ViewAddress
from jupyter_pyvariant.index.view import IndexView
from jupyter_pyvariant.install.plan import Options, PlannedPackage
from jupyter_pyvariant.install.session import Session

pytestmark = pytest.mark.x86_64_linux(reason="the variant test package is compiled for x86-64 Linux")


@pytest.fixture
def index(simd_wheels: Path, tmp_path: Path) -> Iterator[IndexServer]:
    """simdinfo (variants, served renamed by the view) beside app -> lib (plain, linked upstream)."""
    root = tmp_path / "upstream"
    root.mkdir()
    for wheel in simd_wheels.iterdir():
        (root / wheel.name).symlink_to(wheel)
    write_wheel(root, "app", "1.0", "py3-none-any", {"app/__init__.py": b""}, requires=["lib>=1"])
    write_wheel(root, "lib", "1.0", "py3-none-any", {"lib/__init__.py": b"", "lib/blob": b"x" * 200_000})
    yield from serve(root)


def _file_requests(index: IndexServer) -> list[str]:
    return sorted(
        path for method, path, _ in index.requests if method == "GET" and path.startswith("/files/")
    )


def _install(index: IndexServer, tmp_path: Path, venv: Path, installer: str) -> dict[str, PlannedPackage]:
    options = Options(
        requirements=("simdinfo", "app"),
        index_url=index.url,
        python=str(venv),
        cache_dir=tmp_path / "pyvariant-cache",
        installer=installer,  # type: ignore[arg-type]
    )
    with Session(options) as session:
        plan = session.install()
    assert plan.installer == installer
    return {p.name: p for p in plan.packages}


def _labels(plan: dict[str, PlannedPackage]) -> dict[str, str | None]:
    return {name: package.variant_label for name, package in plan.items()}


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_second_install_fetches_no_file_upstream(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installer: str
) -> None:
    """Two fresh environments, one installer cache: the first install downloads each file once
    (the variant through the view, plain wheels straight from upstream); the second downloads none,
    for the variant project and the plain ones alike, and installs the same files."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    if installer == "pip":  # pip caches http:// downloads only from hosts the user trusts
        monkeypatch.setenv("PIP_TRUSTED_HOST", "127.0.0.1")
    first_venv, second_venv = fresh_venv(tmp_path / "first"), fresh_venv(tmp_path / "second")

    first = _install(index, tmp_path, first_venv, installer)
    fetched = _file_requests(index)
    assert first["simdinfo"].variant_label is not None, "the view chose a variant of simdinfo"
    assert {"app", "lib", "simdinfo"} <= set(first)
    assert any(path.startswith("/files/app-") for path in fetched)
    assert any(path.startswith("/files/simdinfo-") for path in fetched)

    index.requests.clear()
    second = _install(index, tmp_path, second_venv, installer)
    assert _labels(second) == _labels(first)
    assert _file_requests(index) == [], f"the second install fetched files again: {index.requests}"
    assert freeze(second_venv) == freeze(first_venv)
    handed = {name for name, package in second.items() if "read it from the index itself" in package.summary}
    pages = [path for method, path, _ in index.requests if path.startswith("/simple/")]
    if installer == "uv":
        # plain projects are left to uv (after the view, in uv's first-index order); the view knew
        # them from the first install and did not read their pages again: only uv did, once each
        assert handed == {"app", "lib"}
        assert pages.count("/simple/app/") == 1 and pages.count("/simple/lib/") == 1
    else:
        assert handed == set(), "pip merges every index's files: the view answers for every project"


def _children_cmdlines() -> list[str]:
    """The command lines of this process's children, read from /proc as any local user could."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_views_secret_is_on_no_command_line(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installer: str
) -> None:
    """While the installer asks the view for a page, its command line (world-readable in /proc)
    holds neither the view's secret nor its credentials."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    seen: list[str] = []
    options = Options(
        requirements=("app",),
        index_url=index.url,
        python=str(fresh_venv(tmp_path / "venv")),
        cache_dir=tmp_path / "pyvariant-cache",
        installer=installer,  # type: ignore[arg-type]
    )
    with Session(options) as session:
        selector = session.view.selector

        def spying(name: str) -> Any:
            seen.extend(_children_cmdlines())
            return selector(name)

        session.view.selector = spying
        session.install()
        secret = session.view.auth[1]
    assert any(installer in line for line in seen), f"no {installer} process seen among {seen}"
    assert all(secret not in line for line in seen)


def test_the_view_keeps_its_address_and_refuses_strangers(index: IndexServer, tmp_path: Path) -> None:
    """The same address run after run (a concurrent view takes the next port); a request without
    the view's credentials, or for a name that is no project name, reaches nothing upstream."""
    import httpx

    from jupyter_pyvariant.index.client import SimpleClient
    from jupyter_pyvariant.index.settings import IndexSettings

    client = SimpleClient(IndexSettings((index.url,), ("test",)), cache_dir=tmp_path / "cache")
    state = tmp_path / "state"

    def view() -> IndexView:
        return IndexView(client, lambda name: None, state_dir=state)

    with view() as first:
        address = first.url
        with view() as concurrent:
            port = int(address.rsplit(":", 1)[1].split("/", 1)[0])
            assert concurrent.url == address.replace(f":{port}/", f":{port + 1}/")
        index.requests.clear()
        with httpx.Client() as http:
            assert http.get(f"{address}/app/").status_code == 401
            assert http.get(f"{address}/app/", auth=("pyvariant", "guess")).status_code == 401
            assert http.get(f"{address}/..%2F..%2Fetc/", auth=first.auth).status_code == 404
        assert index.requests == []
    with view() as later:
        assert later.url == address
        assert later.auth != first.auth, "the secret is new in every run"
    assert ViewAddress(state).preferred() == port
    client.close()


def test_pyvariant_installer_pip_is_honoured_by_the_magic(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``PYVARIANT_INSTALLER=pip`` makes ``%pyvariant plan`` (and so install, sync, lock) use pip."""
    from IPython.testing.globalipapp import get_ipython  # the one test shell, started if needed

    monkeypatch.setenv("PYVARIANT_INSTALLER", "pip")
    monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "pyvariant-cache"))
    shell = get_ipython()
    shell.run_line_magic("load_ext", "jupyter_pyvariant")
    venv = fresh_venv(tmp_path / "venv")
    capsys.readouterr()
    shell.run_line_magic("pyvariant", f"plan app --index-url {index.url} --python {venv} --json")
    plan = json.loads(capsys.readouterr().out)
    assert plan["installer"] == "pip"
    assert {p["name"] for p in plan["packages"]} == {"app", "lib"}


def test_a_plan_hands_through_only_what_an_earlier_run_saw_plain(
    index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first plan shows the file of every project it read; after an install has seen app and
    lib without variants, a plan leaves them to uv (and says so) while simdinfo is still chosen."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))

    def plan() -> dict[str, PlannedPackage]:
        options = Options(
            requirements=("simdinfo", "app"),
            index_url=index.url,
            python=str(fresh_venv(tmp_path / f"venv-{len(list(tmp_path.glob('venv-*')))}")),
            cache_dir=tmp_path / "pyvariant-cache",
        )
        with Session(options) as session:
            return {p.name: p for p in session.plan().packages}

    first = plan()
    assert all(package.filename for package in first.values()), first
    _install(index, tmp_path, fresh_venv(tmp_path / "installed"), "uv")
    later = plan()
    assert later["app"].filename is None and "read it from the index itself" in later["app"].summary
    assert later["simdinfo"].filename is not None and later["simdinfo"].variant_label is not None
    assert {name: p.version for name, p in later.items()} == {name: p.version for name, p in first.items()}
