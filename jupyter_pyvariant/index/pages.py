"""Simple-API project pages, read and written: PEP 691 JSON and PEP 503 HTML, with the PEP 592
(yanked), 658/714 (core metadata) and 700 (size) fields.

The client reads the pages of upstream indexes with :func:`parse_page`; the view writes its own
pages for installers with :func:`json_page` and :func:`html_page`, so both sides share one reading
of the format.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from packaging.utils import canonicalize_name

from .._http import redact
from .errors import IndexGarbage
from .models import FileLink, ProjectPage

__all__ = [
    "ACCEPT",
    "JSON_TYPE",
    "Listed",
    "html_page",
    "json_page",
    "parse_html_page",
    "parse_json_page",
    "parse_page",
]

ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"

Listed = tuple[str, str, FileLink]
"""A file as a written page lists it: the filename shown, the URL given, and the upstream link whose
hashes and attributes it carries."""


# --------------------------------------------------------------------------------------------------
# Reading


def _hash_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        return ()
    return tuple(sorted((str(k).lower(), str(v).lower()) for k, v in value.items()))


def _metadata_hashes(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None or value is False:
        return None
    return _hash_pairs(value) if isinstance(value, Mapping) else ()


def _absolute(page_url: str, href: str) -> str:
    """``href`` resolved against the page; an absolute one as it is (urljoin was two thirds of
    reading a page of thousands of files)."""
    return href if href.startswith(("https://", "http://")) else urljoin(page_url, href)


def _fragment_hash(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    if "#" not in url:
        return url, ()
    base, _, fragment = url.partition("#")
    name, sep, digest = fragment.partition("=")
    return base, (
        ((name.lower(), digest.lower()),) if sep and name.lower() in hashlib.algorithms_available else ()
    )


def parse_json_page(body: bytes, page_url: str, index: str) -> ProjectPage:
    """A PEP 691 JSON page; raises ValueError when it is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValueError("a PEP 691 page must be an object with a 'files' list")
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError("'meta' must be an object")
    api = str(meta.get("api-version", "1.0"))
    if not api.startswith("1."):
        raise ValueError(f"unsupported simple API version {api}")
    links = []
    for entry in data["files"]:
        if not isinstance(entry, dict) or not entry.get("filename") or not entry.get("url"):
            raise ValueError("every file needs 'filename' and 'url'")
        yanked, requires_python, size = entry.get("yanked"), entry.get("requires-python"), entry.get("size")
        if requires_python is not None and not isinstance(requires_python, str):
            raise ValueError("'requires-python' must be a string")
        url, fragment_hashes = _fragment_hash(_absolute(page_url, str(entry["url"])))
        links.append(
            FileLink(
                filename=str(entry["filename"]),
                url=url,
                index=index,
                hashes=_hash_pairs(entry.get("hashes")) or fragment_hashes,
                requires_python=requires_python or None,
                yanked=None if yanked is None or yanked is False else ("" if yanked is True else str(yanked)),
                metadata_hashes=_metadata_hashes(entry.get("core-metadata", entry.get("dist-info-metadata"))),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )
    return ProjectPage(canonicalize_name(str(data.get("name", ""))), index, page_url, tuple(links))


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], list[str]]] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._open = []
            self.anchors.append((dict(attrs), self._open))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None


def parse_html_page(body: bytes, page_url: str, index: str, project: str) -> ProjectPage:
    """A PEP 503 HTML page (with the PEP 592/658/714 attributes)."""
    parser = _AnchorParser()
    parser.feed(body.decode("utf-8", errors="replace"))
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links = []
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, hashes = _fragment_hash(_absolute(base, href))
        filename = "".join(text).strip() or url.rstrip("/").rsplit("/", 1)[-1]
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        metadata_hashes: tuple[tuple[str, str], ...] | None = None
        if metadata is not None:
            algo, sep, digest = metadata.partition("=")
            metadata_hashes = ((algo.lower(), digest.lower()),) if sep else ()
        links.append(
            FileLink(
                filename=filename,
                url=url,
                index=index,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=(attrs["data-yanked"] or "") if "data-yanked" in attrs else None,
                metadata_hashes=metadata_hashes,
            )
        )
    return ProjectPage(canonicalize_name(project), index, page_url, tuple(links))


def parse_page(body: bytes, content_type: str, page_url: str, index: str, project: str) -> ProjectPage:
    """Dispatch on the content type; raises :class:`IndexGarbage` naming the page."""
    try:
        if content_type.split(";")[0].strip().lower() in (JSON_TYPE, "application/json"):
            page = parse_json_page(body, page_url, index)
            return ProjectPage(canonicalize_name(project), index, page_url, page.files)
        if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
            return parse_html_page(body, page_url, index, project)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise IndexGarbage(f"{project}: {redact(page_url)} is not a simple-API page ({exc})") from None
    raise IndexGarbage(
        f"{project}: {redact(page_url)} answered with unexpected content type {content_type!r}"
    )


# --------------------------------------------------------------------------------------------------
# Writing


def json_page(name: str, files: Iterable[Listed]) -> bytes:
    """A PEP 691 (API 1.1) page of ``files``, every hash and attribute of their links kept."""
    entries = []
    for filename, url, link in files:
        entry: dict[str, Any] = {"filename": filename, "url": url, "hashes": dict(link.hashes)}
        if link.requires_python:
            entry["requires-python"] = link.requires_python
        if link.yanked is not None:
            entry["yanked"] = link.yanked or True
        if link.metadata_hashes is not None:
            entry["core-metadata"] = dict(link.metadata_hashes) or True
        if link.size is not None:
            entry["size"] = link.size
        entries.append(entry)
    return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": entries}).encode()


def html_page(name: str, files: Iterable[Listed]) -> bytes:
    """A PEP 503 page of ``files``: the strongest hash in the URL fragment, the first metadata hash
    (HTML has room for one of each), no size."""
    rows = []
    for filename, url, link in files:
        href = url + ("#{}={}".format(*link.strongest_hash) if link.strongest_hash else "")
        attrs = [f'href="{html.escape(href)}"']
        if link.requires_python:
            attrs.append(f'data-requires-python="{html.escape(link.requires_python)}"')
        if link.yanked is not None:
            attrs.append(f'data-yanked="{html.escape(link.yanked)}"')
        if link.metadata_hashes is not None:
            value = "=".join(link.metadata_hashes[0]) if link.metadata_hashes else "true"
            attrs.append(f'data-core-metadata="{html.escape(value)}"')
        rows.append(f"<a {' '.join(attrs)}>{html.escape(filename)}</a><br>")
    body = "\n".join(rows)
    title = html.escape(name)
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n{body}\n</body></html>\n".encode()
    )
