"""The lab extension in a real browser: JupyterLab 4 and Notebook 7 served by a real server, driven
by Playwright in the system's Chromium (the harness is browser_support)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from browser_support import ARTIFACTS, PROVISION_ENTRY, Server, expect, open_lab, open_page, run_from_palette

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

COMMAND_LABEL = "Show host report"


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Playwright's sync API owns this thread's event loop; pytest-jupyter's per-test loop would
    take it over and close it."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No jupyter_server runs in this process: the servers under test are subprocesses."""


def _dialog_isa_level(page: Page) -> str:
    dialog = page.locator(".jp-Dialog", has=page.locator(".jp-pyvariant-report"))
    row = dialog.locator(".jp-pyvariant-report-table tr", has=page.locator("th", has_text="ISA level"))
    return row.locator("td").inner_text()


def test_jupyterlab_shows_the_server_isa_level_and_the_host_report(browser: Browser, lab: Server) -> None:
    expected = lab.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = open_lab(browser, lab)
    status = page.locator(".jp-pyvariant-status[data-isa-level]")
    status.wait_for()
    assert status.inner_text() == f"ISA: {expected}"

    run_from_palette(page, COMMAND_LABEL)
    assert _dialog_isa_level(page) == expected
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "jupyterlab-host-report.png")
    page.keyboard.press("Escape")

    # The settings schema puts the provisioning entry into the Kernel menu.
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    expect(page.locator(".lm-Menu-itemLabel", has_text=PROVISION_ENTRY)).to_be_visible()
    assert console.problems() == []


def test_notebook7_runs_the_host_report_command(browser: Browser, notebook: Server) -> None:
    expected = notebook.get_json("pyvariant/api/host")["cpu"]["isa_level"]
    page, console = open_page(browser, notebook, "tree")
    page.locator("#main-panel").wait_for()
    run_from_palette(page, COMMAND_LABEL)
    assert _dialog_isa_level(page) == expected
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "notebook7-host-report.png")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill(PROVISION_ENTRY)
    expect(page.locator(".lm-CommandPalette-item", has_text=PROVISION_ENTRY)).to_be_visible()
    assert console.problems() == []
