"""python-build-standalone interpreters: catalog, selection for this host, download, managed store.

Submodules import their heavy dependencies (httpx, zstandard) lazily; importing this package is cheap.
"""

from __future__ import annotations
