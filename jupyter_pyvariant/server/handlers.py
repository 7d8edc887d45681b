"""REST handlers: parse the request, call the library off the event loop, answer JSON.

Every handler is an ``APIHandler`` behind ``authenticated`` and ``authorized``, so it obeys the
server's token, XSRF and authorizer exactly as the built-in ``/api`` routes do. Inputs are checked
(:mod:`.inputs`) before anything runs; errors are ``{"message", "reason"}`` with 400 (bad input),
404 (no such kernel or job), 409 (a name already taken, a job already over), 502 (the release
catalog's server did not answer or answered nonsense) or 504 (it did not answer in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from http.client import responses
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .inputs import BadInput, KernelRequest, kernel_name, timeout_seconds, version_request
from .jobs import JobFinished, JobManager

API_PREFIX = "pyvariant/api"
AUTH_RESOURCE = "pyvariant"
JOBS_SETTING = "pyvariant_jobs"
PROVISION_KIND = "provision-kernel"
_TRUE = frozenset({"1", "true", "yes"})


class ApiError(web.HTTPError):
    """An error answered as JSON with ``message`` exactly as written (tornado would %-format it)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message.replace("%", "%%"))
        self.message = message


@contextlib.contextmanager
def _bad_input_is_400() -> Iterator[None]:
    try:
        yield
    except BadInput as exc:
        raise ApiError(400, str(exc)) from None


class PyvariantHandler(APIHandler):
    """Base of every route: one authorizer resource for the whole extension."""

    auth_resource = AUTH_RESOURCE

    def flag(self, name: str) -> bool:
        """A boolean query argument (``?refresh=1``); absent means False."""
        return str(self.get_query_argument(name, "")).lower() in _TRUE

    @property
    def jobs(self) -> JobManager:
        manager: JobManager = self.settings[JOBS_SETTING]
        return manager

    def answer(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.finish(json.dumps({"message": exc.message, "reason": responses.get(status_code, "")}))
        else:
            super().write_error(status_code, **kwargs)


class HostHandler(PyvariantHandler):
    """``GET /pyvariant/api/host[?refresh=1]``: the report of the host running this server.

    It describes the server's machine, not a kernel's (kernels may run elsewhere), hence the
    ``server-host`` scope. ``refresh`` probes again instead of answering the cached report.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        refresh = self.flag("refresh")
        self.answer(await asyncio.to_thread(_server_host_report, refresh))


def _server_host_report(refresh: bool = False) -> dict[str, Any]:
    from ..host import report

    return report(scope="server-host", refresh=refresh).to_dict()


class KernelHostHandler(PyvariantHandler):
    """``GET host/kernel/{kernel_id}[?timeout=10]``: the report of a running kernel, from inside it."""

    @web.authenticated
    @authorized
    async def get(self, kernel_id: str) -> None:
        from .kernel_report import DEFAULT_TIMEOUT_S, ask_kernel

        with _bad_input_is_400():
            timeout = timeout_seconds(self.get_query_argument("timeout", ""), DEFAULT_TIMEOUT_S)
        if kernel_id not in self.kernel_manager:
            raise ApiError(404, f"no running kernel has the id {kernel_id!r}")
        self.answer(await ask_kernel(self.kernel_manager.get_kernel(kernel_id), timeout))


class PythonsHandler(PyvariantHandler):
    """``GET pythons[?version=3.13&freethreaded=1&all=1]``: the builds that fit this host, best first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from ..pythons.errors import CatalogError, CatalogTimeout

        freethreaded = self.flag("freethreaded")
        with _bad_input_is_400():
            version = version_request(self.get_query_argument("version", ""), freethreaded=freethreaded)
        try:
            data = await asyncio.to_thread(_pythons, version, freethreaded, self.flag("all"))
        except CatalogError as exc:
            raise ApiError(504 if isinstance(exc, CatalogTimeout) else 502, str(exc)) from None
        self.answer(data)


def _pythons(version: str | None, freethreaded: bool, every: bool) -> dict[str, Any]:
    """Provisioning runs on the server's machine, so the server's host decides what fits."""
    from ..host import report
    from .listings import pythons_listing

    return pythons_listing(report(scope="server-host").facts, version, freethreaded=freethreaded, every=every)


class KernelsHandler(PyvariantHandler):
    """``GET kernels``: this package's kernels; ``POST kernels``: provision one as a background job."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from .listings import kernels_listing

        self.answer(await asyncio.to_thread(kernels_listing))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from .listings import provision_result

        with _bad_input_is_400():
            request = KernelRequest.from_body(self.request.body)
        if request.name is not None:
            await self._check_free(request.name)
        job = self.jobs.submit(
            PROVISION_KIND,
            request.to_dict(),
            request.verb_args(),
            provision_result,
            env=request.installer_env(),
            notes=request.notes(),
        )
        self.set_header("Location", url_path_join(self.base_url, API_PREFIX, "jobs", job.id))
        self.answer({"job": job.to_dict()}, status=202)

    async def _check_free(self, name: str) -> None:
        if name in await _kernelspec_names(self.kernel_spec_manager):
            raise ApiError(409, f"a kernel named {name!r} already exists: remove it first or choose a name")
        if any(job.request.get("name") == name for job in self.jobs.active()):
            raise ApiError(409, f"a kernel named {name!r} is being provisioned already")


async def _kernelspec_names(kernel_spec_manager: Any) -> set[str]:
    """Every kernel name the server knows (local or behind a gateway)."""
    from jupyter_core.utils import ensure_async

    return set(await ensure_async(kernel_spec_manager.get_all_specs()))


class KernelHandler(PyvariantHandler):
    """``DELETE kernels/{name}``: remove the kernelspec and its venv (running kernels keep running)."""

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        from ..kernels import KernelError
        from ..kernels.manage import remove_kernel

        with _bad_input_is_400():
            name = kernel_name(name)
        try:
            await asyncio.to_thread(remove_kernel, name)
        except KernelError as exc:
            known = name in await _kernelspec_names(self.kernel_spec_manager)
            raise ApiError(409 if known else 404, str(exc)) from None
        self.set_status(204)
        self.finish()


class JobsHandler(PyvariantHandler):
    """``GET jobs``: the jobs this server ran or runs, oldest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.answer({"jobs": [job.to_dict() for job in self.jobs.jobs()]})


class JobHandler(PyvariantHandler):
    """``GET jobs/{id}``: one job's state, progress and log; ``DELETE`` cancels it."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no job has the id {job_id!r}")
        self.answer(job.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        try:
            job = await self.jobs.cancel(job_id)
        except KeyError:
            raise ApiError(404, f"no job has the id {job_id!r}") from None
        except JobFinished as exc:
            raise ApiError(409, str(exc)) from None
        self.answer(job.to_dict())


_ROUTES: tuple[tuple[str, type[PyvariantHandler]], ...] = (
    ("host", HostHandler),
    ("host/kernel/(?P<kernel_id>[^/]+)", KernelHostHandler),
    ("pythons", PythonsHandler),
    ("kernels", KernelsHandler),
    ("kernels/(?P<name>[^/]+)", KernelHandler),
    ("jobs", JobsHandler),
    ("jobs/(?P<job_id>[^/]+)", JobHandler),
)


def routes(base_url: str) -> list[tuple[str, type[PyvariantHandler]]]:
    """Tornado URL specs for every route, below ``base_url``."""
    return [(url_path_join(base_url, API_PREFIX, path), handler) for path, handler in _ROUTES]
