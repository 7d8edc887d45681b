"""The lab extension in a real browser: JupyterLab 4 and Notebook 7 served by a real server, driven
by Playwright in the system's Chromium (never a downloaded one)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("PYVARIANT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
COMMAND_LABEL = "Show host report"
STARTUP_SECONDS = 120
UI_TIMEOUT_MS = 90_000


@dataclass(frozen=True)
class Server:
    """A running Jupyter server: where it listens and the token it wants."""

    url: str
    token: str

    def get_json(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


def _start(app_module: str, workdir: Path, *options: str) -> Iterator[Server]:
    """Run `python -m <app_module>` on 127.0.0.1 (an OS-chosen port) until the test is done."""
    token = secrets.token_hex(16)
    home, runtime, notebooks = workdir / "home", workdir / "runtime", workdir / "notebooks"
    home.mkdir()
    notebooks.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_PREFER_ENV_PATH": "1",
    }
    args = [
        sys.executable,
        "-m",
        app_module,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}",
        *options,
    ]
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Server(_wait_until_serving(process, runtime, token, workdir / "server.log"), token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_serving(process: subprocess.Popen[bytes], runtime: Path, token: str, log: Path) -> str:
    """The server's URL once its runtime file exists and its API answers; fails if it exits first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            pass
        else:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        info = runtime / f"jpserver-{process.pid}.json"
        if not info.is_file():
            continue
        url = json.loads(info.read_text())["url"]
        try:
            Server(url, token).get_json("api/status")
        except (urllib.error.URLError, ConnectionError):
            continue
        return str(url)
    pytest.fail(f"the server did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Playwright's sync API owns this thread's event loop; pytest-jupyter's per-test loop would
    take it over and close it."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No jupyter_server runs in this process: the servers under test are subprocesses."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (PyPI)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: install the distribution's chromium package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # No news or update checks: the tests never reach the internet.
    yield from _start(
        "jupyterlab",
        tmp_path_factory.mktemp("lab"),
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    )


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start("notebook", tmp_path_factory.mktemp("notebook"))


@dataclass
class Console:
    """What the page logged; extension load failures land here."""

    messages: list[str]

    def problems(self) -> list[str]:
        return [m for m in self.messages if "Failed to load" in m or "pyvariant" in m.lower()]


def _open(browser: Browser, server: Server, path: str) -> tuple[Page, Console]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(UI_TIMEOUT_MS)
    console = Console([])

    def record(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.messages.append(f"{message.type}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: console.messages.append(f"pageerror: {error}"))
    page.goto(f"{server.url}{path}?token={server.token}")
    return page, console


def _run_from_palette(page: Page, label: str) -> None:
    """Find a command in the command palette by its label and run it, as a user would."""
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    search.fill(label)
    page.locator(".lm-CommandPalette-item", has_text=label).first.click()


def _dialog_isa_level(page: Page) -> str:
    dialog = page.locator(".jp-Dialog", has=page.locator(".jp-pyvariant-report"))
    row = dialog.locator(".jp-pyvariant-report-table tr", has=page.locator("th", has_text="ISA level"))
    return row.locator("td").inner_text()


def test_jupyterlab_shows_the_server_isa_level_and_the_host_report(browser: Browser, lab: Server) -> None:
    expected = lab.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = _open(browser, lab, "lab")
    try:
        # The splash screen goes once the layout is restored; shortcuts work from then on.
        page.locator("#jupyterlab-splash").wait_for(state="detached")
        status = page.locator(".jp-pyvariant-status[data-isa-level]")
        status.wait_for()
        assert status.inner_text() == f"ISA: {expected}"

        _run_from_palette(page, COMMAND_LABEL)
        assert _dialog_isa_level(page) == expected
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "jupyterlab-host-report.png")
        assert console.problems() == []
    finally:
        page.close()


def test_notebook7_runs_the_host_report_command(browser: Browser, notebook: Server) -> None:
    expected = notebook.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = _open(browser, notebook, "tree")
    try:
        page.locator("#main-panel").wait_for()
        _run_from_palette(page, COMMAND_LABEL)
        assert _dialog_isa_level(page) == expected
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "notebook7-host-report.png")
        assert console.problems() == []
    finally:
        page.close()
