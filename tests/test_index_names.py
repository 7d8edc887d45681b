"""Which project a find-links file belongs to, and the credentials an index URL carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_pyvariant.index.names import host_key, project_of, strip_credentials
from jupyter_pyvariant.index.pages import parse_html_page

DATA = Path(__file__).parent / "data"


def test_every_file_of_a_real_page_belongs_to_its_project() -> None:
    """PyPI's page of qypi (tests/data/index, from the pypi-simple 1.8.0 sdist)."""
    page = parse_html_page(
        (DATA / "index" / "qypi.html").read_bytes(), "https://pypi.org/simple/qypi/", "pypi", "qypi"
    )
    assert {project_of(link.filename) for link in page.files} == {"qypi"}


@pytest.mark.parametrize(
    ("filename", "project"),
    [
        ("Jupyter_PyVariant-1.0-py3-none-any.whl", "jupyter-pyvariant"),
        ("zope.interface-7.2.tar.gz", "zope-interface"),
        ("oslo.concurrency-6.0.0.zip", "oslo-concurrency"),
        (next(p.name for p in (DATA / "variants").glob("numpy-*-variants.json")), "numpy"),
        ("README.txt", None),
        ("-1.0.tar.gz", None),
        ("nodash.tar.gz", None),
    ],
)
def test_project_of_a_file_name(filename: str, project: str | None) -> None:
    assert project_of(filename) == project


def test_credentials_leave_the_url_and_keep_their_escapes() -> None:
    assert strip_credentials("https://al%40ice:p%3Ass@example.org:8443/simple/?q#f") == (
        "https://example.org:8443/simple/?q#f",
        ("al@ice", "p:ss"),
    )
    assert strip_credentials("https://token@example.org/simple/") == (
        "https://example.org/simple/",
        ("token", ""),
    )
    assert strip_credentials("https://example.org/simple/") == ("https://example.org/simple/", None)


def test_credentials_belong_to_a_host_and_port() -> None:
    assert (
        host_key("https://u:p@Example.org/simple/")
        == host_key("https://example.org/other/")
        == "example.org:"
    )
    assert host_key("https://example.org:8443/") != host_key("https://example.org/")
