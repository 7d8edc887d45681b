"""REST handlers: parse the request, call the library off the event loop, answer JSON.

Every handler is an ``APIHandler`` behind ``authenticated`` and ``authorized``, so it obeys the
server's token, XSRF and authorizer exactly as the built-in ``/api`` routes do.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

API_PREFIX = "pyvariant/api"
AUTH_RESOURCE = "pyvariant"
_TRUE = frozenset({"1", "true", "yes"})


class PyvariantHandler(APIHandler):
    """Base of every route: one authorizer resource for the whole extension."""

    auth_resource = AUTH_RESOURCE

    def flag(self, name: str) -> bool:
        """A boolean query argument (``?refresh=1``); absent means False."""
        return str(self.get_query_argument(name, "")).lower() in _TRUE


class HostHandler(PyvariantHandler):
    """``GET /pyvariant/api/host[?refresh=1]``: the report of the host running this server.

    It describes the server's machine, not a kernel's (kernels may run elsewhere), hence the
    ``server-host`` scope. ``refresh`` probes again instead of answering the cached report.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        refresh = self.flag("refresh")
        data = await asyncio.to_thread(_server_host_report, refresh)
        self.finish(json.dumps(data))


def _server_host_report(refresh: bool) -> dict[str, Any]:
    from ..host import report

    return report(scope="server-host", refresh=refresh).to_dict()


_ROUTES: tuple[tuple[str, type[PyvariantHandler]], ...] = (("host", HostHandler),)


def routes(base_url: str) -> list[tuple[str, type[PyvariantHandler]]]:
    """Tornado URL specs for every route, below ``base_url``."""
    return [(url_path_join(base_url, API_PREFIX, path), handler) for path, handler in _ROUTES]
