"""``file://`` indexes and find-links folders, answered the way an index server would answer.

The client mounts :class:`LocalFiles` for ``file://`` URLs, so pages, small files and streamed
downloads of a tree on disk take the same path as those of an HTTP index. A folder asked for with a
trailing slash (an index's project page) answers with its ``index.html`` or ``index.json`` when it
has one, as pip reads a ``file://`` index; any other folder (a find-links folder) answers with a
page of links to the files in it, as pip lists one. A missing path answers 404.
"""

from __future__ import annotations

__all__ = ["LocalFiles"]

import html
from collections.abc import Iterator
from pathlib import Path
from urllib.request import url2pathname

import httpx

CHUNK = 1 << 20
_TYPES = {".html": "text/html", ".htm": "text/html", ".json": "application/json"}


class _FileStream(httpx.SyncByteStream):
    def __init__(self, path: Path) -> None:
        self._path = path

    def __iter__(self) -> Iterator[bytes]:
        try:
            with self._path.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    yield chunk
        except OSError as exc:
            raise httpx.ReadError(f"{self._path}: {exc.strerror or exc}") from None


def _listing(folder: Path) -> bytes:
    rows = "".join(
        f'<a href="{html.escape(p.as_uri())}">{html.escape(p.name)}</a><br>\n'
        for p in sorted(folder.iterdir())
        if p.is_file()
    )
    return f"<!DOCTYPE html>\n<html><body>\n{rows}</body></html>\n".encode()


class LocalFiles(httpx.BaseTransport):
    """Answers ``GET file://localhost/...`` from the local file system."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = Path(url2pathname(request.url.raw_path.decode("ascii").partition("?")[0]))
        try:
            if path.is_dir():
                pages = ("index.html", "index.json") if request.url.path.endswith("/") else ()
                page = next((path / n for n in pages if (path / n).is_file()), None)
                if page is None:
                    return httpx.Response(
                        200, headers={"Content-Type": "text/html"}, content=_listing(path), request=request
                    )
                path = page
            if not path.is_file():
                return httpx.Response(404, request=request)
            headers = {
                "Content-Type": _TYPES.get(path.suffix, "application/octet-stream"),
                "Content-Length": str(path.stat().st_size),
            }
        except OSError as exc:
            raise httpx.ReadError(f"{path}: {exc.strerror or exc}", request=request) from None
        return httpx.Response(200, headers=headers, stream=_FileStream(path), request=request)
