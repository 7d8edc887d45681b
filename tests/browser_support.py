"""The browser test harness, loaded as a pytest plugin: real Jupyter servers in subprocesses, the
system's Chromium driven by Playwright (never a downloaded one), and on any failure a screenshot and
the console log of each page the test opened, under ``test-artifacts/browser/<test name>/``."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Locator, Page

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
FAILURE_ARTIFACTS = ARTIFACTS / "browser"
CHROMIUM = os.environ.get("PYVARIANT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# No news or update checks: the tests never reach the internet. The application object is exposed
# (window.jupyterapp) so that tests wait for its states: restored, commands registered.
LAB_OPTIONS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.expose_app_in_browser=True",
)
NOTEBOOK_OPTIONS = ("--JupyterNotebookApp.expose_app_in_browser=True",)
STARTUP_SECONDS = 120
# Deadlines, not budgets: a loaded machine may take minutes where a quiet one takes a second.
UI_TIMEOUT_MS = 300_000
# Every browser test's pytest-timeout: a server start and several UI waits on a loaded machine.
TEST_TIMEOUT_S = 1200
# What the provisioning entry says everywhere: launcher card, Kernel menu, palette, kernel picker.
PROVISION_ENTRY = "Optimized Python"
PALETTE_COMMAND = "apputils:activate-command-palette"
# A screenshot of a page that hangs must not hang the report of the failure.
CAPTURE_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Server:
    """A running Jupyter server: where it listens and the token it wants."""

    url: str
    token: str
    # The server's HOME, where its user's kernelspecs and settings live.
    home: Path | None = None

    @property
    def notebooks(self) -> Path:
        """The server's root folder (its notebooks)."""
        assert self.home is not None, "a server started by start()"
        return self.home.parent / "notebooks"

    def get_json(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


def start(
    app_module: str, workdir: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run `python -m <app_module>` on 127.0.0.1 (an OS-chosen port) until the test is done;
    ``env`` adds to this process's environment."""
    token = secrets.token_hex(16)
    home, runtime, notebooks = workdir / "home", workdir / "runtime", workdir / "notebooks"
    home.mkdir()
    notebooks.mkdir()
    # Nor does JupyterLab ask whether to fetch news: its toast could take the focus from a test.
    notification = home / "config/lab/user-settings/@jupyterlab/apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    server_env = {
        **os.environ,
        **(env or {}),
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
    process = subprocess.Popen(args, env=server_env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield Server(wait_until_serving(process, runtime, token, workdir / "server.log"), token, home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until_serving(process: subprocess.Popen[bytes], runtime: Path, token: str, log: Path) -> str:
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
    yield from start("jupyterlab", tmp_path_factory.mktemp("lab"), *LAB_OPTIONS)


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start("notebook", tmp_path_factory.mktemp("notebook"), *NOTEBOOK_OPTIONS)


@dataclass
class Console:
    """What the page logged: every message for the failure artifacts, and its errors and warnings,
    where extension load failures land."""

    messages: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [m for m in self.messages if "Failed to load" in m or "pyvariant" in m.lower()]


# The pages the running test opened, each with its console: captured if the test fails, closed once
# it is done (a test need not close its pages, and the capture must find them open).
_open_pages: list[tuple[Page, Console]] = []


def open_page(browser: Browser, server: Server, path: str) -> tuple[Page, Console]:
    """A new page on ``server``'s ``path``, logged in with its token."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(UI_TIMEOUT_MS)
    console = Console()

    def record(message: ConsoleMessage) -> None:
        line = f"{message.type}: {message.text}"
        console.log.append(line)
        if message.type in ("error", "warning"):
            console.messages.append(line)

    def record_error(error: Exception) -> None:
        console.log.append(f"pageerror: {error}")
        console.messages.append(f"pageerror: {error}")

    page.on("console", record)
    page.on("pageerror", record_error)
    _open_pages.append((page, console))
    page.goto(f"{server.url}{path}{'&' if '?' in path else '?'}token={server.token}")
    return page, console


def open_lab(browser: Browser, server: Server) -> tuple[Page, Console]:
    """JupyterLab in its default layout (the launcher in front): the workspace a previous test left
    is deleted first, so its notebooks are not reopened. (``lab?reset`` would do it in the page, but
    JupyterLab then reloads the page once the restore has begun: a test that had seen the app could
    lose it, or its open palette, to that reload.)"""
    _delete_workspace(server)
    page, console = open_page(browser, server, "lab")
    wait_for_app(page)
    # The splash screen goes once the layout is restored.
    page.locator("#jupyterlab-splash").wait_for(state="detached")
    return page, console


def _delete_workspace(server: Server) -> None:
    """Forget the saved layout of JupyterLab's default workspace (nothing to forget is fine)."""
    request = urllib.request.Request(
        server.url + "lab/api/workspaces/default",
        method="DELETE",
        headers={"Authorization": f"token {server.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            pass
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


def wait_for_app(page: Page, *commands: str) -> None:
    """Until the application has restored its layout and registered ``commands`` (and the palette's
    shortcut): what a test does before that may be undone by the restore, or find nothing.

    The predicate is synchronous: Playwright does not await a promise a polled function returns (it
    would count as true at once), so the end of the restore is noted on the page when it comes."""
    page.wait_for_function(
        """({commands, palette}) => {
            const app = window.jupyterapp;
            if (!app) {
                return false;
            }
            if (!app.pyvariantTestRestored) {
                app.restored.then(() => { app.pyvariantTestRestored = true; });
                return false;
            }
            return commands.every(id => app.commands.hasCommand(id)) &&
                app.commands.keyBindings.some(binding => binding.command === palette);
        }""",
        arg={"commands": list(commands), "palette": PALETTE_COMMAND},
        polling=250,
    )


# One poll of the palette while a test looks for ``label`` in it: a palette that is closed (never
# opened by the key press, or closed by a focus change: a restore, a notification) is opened again;
# an open one gets the label typed into its search; once the label's item is listed, it is clicked
# in the same poll, so a palette that closes between finding and clicking is simply opened again.
_PALETTE_POLL = """({label, palette}) => {
    const node = document.querySelector('.lm-CommandPalette');
    const open = !!node && !!node.offsetParent && !node.closest('.lm-mod-hidden');
    if (!open) {
        window.jupyterapp.commands.execute(palette);
        return false;
    }
    const search = node.querySelector('.lm-CommandPalette-input');
    if (search.value !== label) {
        search.value = label;
        search.dispatchEvent(new Event('input', {bubbles: true}));
        return false;
    }
    const item = [...node.querySelectorAll('.lm-CommandPalette-item')].find(
        item => item.textContent.includes(label)
    );
    if (!item) {
        return false;
    }
    item.click();
    return true;
}"""


def run_from_palette(page: Page, label: str, command: str | None = None) -> None:
    """Find a command in the command palette by its label and run it, as a user would (the palette's
    shortcut, the label typed, its item clicked); ``command`` (its id) is waited for first."""
    wait_for_app(page, *([command] if command else []))
    page.keyboard.press("Control+Shift+C")
    page.wait_for_function(_PALETTE_POLL, arg={"label": label, "palette": PALETTE_COMMAND}, polling=250)


def expect(target: Any) -> Any:
    """Playwright's retrying assertions (imported here: the module loads without playwright)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=UI_TIMEOUT_MS)
    return playwright_expect(target)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def kernel_name_in_toolbar(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) [data-jp-item-name='kernelName']")


def run_cell(page: Page, code: str) -> None:
    """Type ``code`` into the notebook's last (empty) cell and run it."""
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content").last
    editor.click()
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")


def last_output(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").last


def _artifact_folder(item: pytest.Item) -> Path:
    return FAILURE_ARTIFACTS / re.sub(r"[^\w.\[\]-]+", "_", item.name)


def _capture(folder: Path) -> None:
    """A screenshot and the console log of each open page; a page that cannot be captured says why
    in its log file instead of hiding the test's own failure."""
    from playwright.sync_api import Error as PlaywrightError

    folder.mkdir(parents=True, exist_ok=True)
    for number, (page, console) in enumerate(_open_pages, start=1):
        if page.is_closed():
            continue
        notes = [f"url: {page.url}"]
        try:
            page.screenshot(path=folder / f"page-{number}.png", full_page=True, timeout=CAPTURE_TIMEOUT_MS)
        except PlaywrightError as error:
            notes.append(f"no screenshot: {error}")
        text = "\n".join([*notes, "", *console.log, ""])
        (folder / f"page-{number}-console.log").write_text(text, encoding="utf-8")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if _open_pages and report.when in ("setup", "call"):
        folder = _artifact_folder(item)
        if report.failed:
            shutil.rmtree(folder, ignore_errors=True)
            _capture(folder)
        elif report.when == "call":
            # Only the last run's failures stay: a folder is always about a test that failed.
            shutil.rmtree(folder, ignore_errors=True)
    return report


@pytest.fixture(autouse=True)
def _close_open_pages() -> Iterator[None]:
    """Closes the pages the test opened, after its failure (if any) was captured."""
    yield
    while _open_pages:
        page, _console = _open_pages.pop()
        if not page.is_closed():
            page.close()
