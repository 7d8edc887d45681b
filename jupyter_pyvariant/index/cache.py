"""Index pages kept on disk and revalidated with ETag / Last-Modified, so that a second plan of the
same packages costs a few 304s; small files (variants.json) kept by their hash."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._atomic import write_bytes_atomic
from .._http import redact
from .names import strip_credentials

__all__ = ["CachedResponse", "HttpCache", "fresh_until"]


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    page_url: str = ""
    """Where the page was finally read from (after redirects): its relative links resolve against it."""
    fresh_until: float = 0.0
    """Until when the index lets the page be used without asking again (its ``max-age``)."""

    def fresh(self) -> bool:
        return time.time() < self.fresh_until


def fresh_until(headers: Mapping[str, str]) -> float:
    """The end of a response's freshness from ``Cache-Control: max-age`` less its ``Age`` (as
    installers read it: uv uses a page of the default index for 10 minutes without asking)."""
    directives = [part.strip().lower() for part in headers.get("Cache-Control", "").split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    max_age = next((d.removeprefix("max-age=") for d in directives if d.startswith("max-age=")), "")
    try:
        lifetime = int(max_age) - int(headers.get("Age", "0") or 0)
    except ValueError:
        return 0.0
    return time.time() + lifetime if lifetime > 0 else 0.0


@dataclass(frozen=True)
class HttpCache:
    """Index pages on disk, keyed by URL, revalidated with the validators the server gave."""

    root: Path

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        folder = self.root / "http" / key[:2]
        return folder / f"{key}.json", folder / f"{key}.body"

    def load(self, url: str) -> CachedResponse | None:
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text())
            return CachedResponse(
                body_path.read_bytes(),
                meta["content_type"],
                meta.get("etag"),
                meta.get("last_modified"),
                meta.get("page_url") or url,
                float(meta.get("fresh_until", 0.0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, url: str, entry: CachedResponse, *, body: bool = True) -> None:
        """Keep ``entry`` (``body=False``: only its validators and freshness, the body is on disk)."""
        if not (entry.etag or entry.last_modified or entry.fresh_until):
            return
        meta_path, body_path = self._paths(url)
        meta = {
            "url": redact(url),
            "content_type": entry.content_type,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "page_url": strip_credentials(entry.page_url)[0] if entry.page_url != url else "",
            "fresh_until": entry.fresh_until,
        }
        try:
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            if body:
                write_bytes_atomic(body_path, entry.body)
            write_bytes_atomic(meta_path, json.dumps(meta).encode())
        except OSError:
            pass  # a cache that cannot be written only costs speed

    def blob(self, digest: str) -> Path:
        """Where content-addressed small files (variants.json) live."""
        return self.root / "blobs" / digest[:2] / digest
