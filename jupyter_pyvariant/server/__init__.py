"""jupyter_server extension: the REST face of the library, under ``/pyvariant/api/``.

Loading registers the routes and an empty job manager, nothing else: no probe runs and no process
starts until a request asks for one. The handlers (and jupyter_server with them) are imported only
then, so the job worker in this package starts without them.
"""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register every route below the server's base URL."""
    from .handlers import API_PREFIX, JOBS_SETTING, routes
    from .jobs import JobManager

    web_app = serverapp.web_app
    web_app.settings[JOBS_SETTING] = JobManager()
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"]))
    serverapp.log.info("jupyter_pyvariant: REST routes registered under /%s/", API_PREFIX)
