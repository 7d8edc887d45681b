"""The notebook's progress bars (ipywidgets) as a person sees them: whole labels, the error colour."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_pyvariant.display import NotebookOutput

ipywidgets = pytest.importorskip("ipywidgets", reason="the notebook's bars are ipywidgets")


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the output displays, instead of sending it to a frontend."""
    import IPython.display

    displayed: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **_: displayed.extend(objs))
    return displayed


def test_an_error_ends_an_open_bar_in_the_error_colour(shown: list[Any]) -> None:
    out = NotebookOutput()
    done, failing = out.progress("pyvariant plan"), out.progress("pyvariant install", 10)
    done.close("3 to install")
    failing.update(4, "downloading numpy")

    out.error("the index did not answer")

    (bar, label), (failed, failed_label) = (box.children for box in shown)
    assert (bar.bar_style, label.value) == ("success", "3 to install")
    assert (failed.bar_style, failed.value, failed_label.value) == ("danger", 4, "did not finish")


def test_a_bar_shows_its_whole_label(shown: list[Any]) -> None:
    NotebookOutput().progress("pyvariant install")

    (box,) = shown
    assert box.children[0].description == "pyvariant install"
    assert box.children[0].style.description_width == "initial"
