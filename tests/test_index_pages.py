"""Simple-API pages read from real PyPI pages (``tests/data/index``, from the ``pypi-simple`` 1.8.0
sdist's ``test/data``; see its SOURCE.md), and the pages the view writes read back the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_pyvariant.index.errors import IndexGarbage
from jupyter_pyvariant.index.models import FileLink
from jupyter_pyvariant.index.pages import (
    JSON_TYPE,
    html_page,
    json_page,
    parse_html_page,
    parse_json_page,
    parse_page,
)

DATA = Path(__file__).parent / "data" / "index"
PAGE = "https://pypi.org/simple/argset/"


def test_a_real_pep691_page_with_sizes() -> None:
    page = parse_json_page((DATA / "argset-700.json").read_bytes(), PAGE, "pypi")
    assert page.name == "argset"
    wheel, sdist = page.files
    assert wheel == FileLink(
        filename="argset-0.1.0-py3-none-any.whl",
        url="https://files.pythonhosted.org/packages/b5/2b/7aa284f345e37f955d86e4cd57b1039b573552b0fc29d1a522ec05c1ee41/argset-0.1.0-py3-none-any.whl",
        index="pypi",
        hashes=(("sha256", "107a632c7112faceb9fd6e93658dd461154713db250f7ffde5bd473e17cf1db5"),),
        requires_python="~=3.6",
        size=5219,
    )
    assert (sdist.filename, sdist.size, sdist.is_wheel) == ("argset-0.1.0.tar.gz", 6565, False)


def test_a_size_that_is_no_integer_is_no_size() -> None:
    body = b'{"files": [{"filename": "a-1.tar.gz", "url": "a", "size": true, "yanked": 0}]}'
    (link,) = parse_json_page(body, PAGE, "pypi").files
    assert (link.size, link.yanked) == (None, "0")


def test_a_real_pep691_page_with_yanked_files() -> None:
    page = parse_json_page((DATA / "yanked.json").read_bytes(), "https://pypi.org/simple/yanked/", "pypi")
    assert [(f.filename, f.yanked, f.requires_python) for f in page.files] == [
        ("yanked-0.0.0-py3-none-any.whl", "", None),
        ("yanked-0.0.0.tar.gz", "not good", None),
    ]


def test_a_real_pep503_page() -> None:
    page = parse_html_page((DATA / "qypi.html").read_bytes(), "https://pypi.org/simple/qypi/", "pypi", "QyPI")
    assert page.name == "qypi"
    assert len(page.files) == 12
    first = page.files[0]
    assert first.filename == "qypi-0.1.0-py3-none-any.whl"
    assert "#" not in first.url and first.url.endswith("/qypi-0.1.0-py3-none-any.whl")
    assert first.strongest_hash == (
        "sha256",
        "da69d28dcd527c0e372b3fa7b92fc333b327f8470175f035abc4e351b539189f",
    )
    assert {f.requires_python for f in page.files} == {"~=3.4"}
    assert all(f.yanked is None and f.metadata_hashes is None for f in page.files)


def test_yanked_attributes_with_a_reason_an_empty_value_and_none() -> None:
    page = parse_html_page(
        (DATA / "qypi_mixed.html").read_bytes(), "https://pypi.org/simple/qypi/", "pypi", "qypi"
    )
    assert [f.yanked for f in page.files] == ["Metadata was smelly", "", "", None, None]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"files": "none"}', JSON_TYPE),
        (b'{"meta": {"api-version": "2.0"}, "files": []}', JSON_TYPE),
        (b"\xff\xfe", JSON_TYPE),
        (b'{"meta": 1, "files": []}', JSON_TYPE),
        (b'{"files": [{"filename": "a-1.tar.gz", "url": "a", "requires-python": 3}]}', JSON_TYPE),
        (b"[" * 100_000 + b"]" * 100_000, JSON_TYPE),
        (b"PK\x03\x04", "application/zip"),
    ],
    ids=["files-not-a-list", "api-2", "not-utf8", "meta-not-an-object", "python-not-text", "deep", "zip"],
)
def test_what_is_no_page_is_index_garbage_naming_the_page(body: bytes, content_type: str) -> None:
    with pytest.raises(IndexGarbage, match=r"^argset: https://pypi\.org/simple/argset/ "):
        parse_page(body, content_type, PAGE, "pypi", "argset")


LINK = FileLink(
    "demo-1.0-py3-none-any.whl",
    "https://files.example/demo-1.0-py3-none-any-x86_64_v3.whl",
    "upstream",
    hashes=(("sha256", "ab" * 32), ("sha512", "cd" * 64)),
    requires_python=">=3.10",
    yanked="broken <build>",
    metadata_hashes=(("sha256", "ef" * 32),),
    size=1234,
)


def test_a_written_json_page_reads_back_every_field() -> None:
    listed = [(LINK.filename, "../../files/x/demo-1.0-py3-none-any.whl", LINK)]
    page = parse_json_page(json_page("demo", listed), "http://127.0.0.1:1/simple/demo/", "view")
    assert page.name == "demo"
    (read,) = page.files
    assert read == FileLink(
        LINK.filename,
        "http://127.0.0.1:1/files/x/demo-1.0-py3-none-any.whl",
        "view",
        LINK.hashes,
        LINK.requires_python,
        LINK.yanked,
        LINK.metadata_hashes,
        LINK.size,
    )


def test_a_written_html_page_reads_back_what_html_can_carry() -> None:
    unyanked = FileLink(
        "demo-1.0.tar.gz", "https://files.example/demo-1.0.tar.gz", "upstream", metadata_hashes=()
    )
    listed = [(LINK.filename, LINK.url, LINK), (unyanked.filename, unyanked.url, unyanked)]
    page = parse_html_page(html_page("demo", listed), "http://127.0.0.1:1/simple/demo/", "view", "demo")
    first, second = page.files
    assert (first.filename, first.url, first.hashes) == (LINK.filename, LINK.url, (("sha256", "ab" * 32),))
    assert (first.requires_python, first.yanked, first.metadata_hashes) == (
        LINK.requires_python,
        LINK.yanked,
        LINK.metadata_hashes,
    )
    assert (second.hashes, second.yanked, second.metadata_hashes, second.size) == ((), None, (), None)
