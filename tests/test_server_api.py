"""The REST API under /pyvariant/api/, through a real jupyter_server on a loopback socket.

Authentication and XSRF as jupyter_server's own routes enforce them; input checking; a running
kernel asked for its own report (and a busy or foreign kernel answering "unknown"); provisioning
jobs run by real worker processes against a loopback python-build-standalone mirror: to the end
with Debian's CPython (when it can be fetched here), to a clear failure on a bad checksum, and
cancelled mid-download with nothing left behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pbs_fixture import World, sha256_of
from pbs_mirror import Archive, Mirror, make_archive
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyter_pyvariant.host import report
from jupyter_pyvariant.host.triples import runnable_targets
from jupyter_pyvariant.pythons.store import Store

Fetch = Callable[..., Awaitable[HTTPResponse]]
FINISHED = ("succeeded", "failed", "cancelled")
JOB_DEADLINE_S = 300.0


@dataclass(frozen=True)
class Answer:
    code: int
    data: Any
    headers: Any


async def call(
    fetch: Fetch,
    method: str,
    *path: str,
    body: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
    timeout: float = 60,
) -> Answer:
    """One request to the API; an error status is an answer too."""
    if method == "POST":
        raw_body = raw_body if raw_body is not None else json.dumps(body if body is not None else {})
    try:
        response = await fetch(
            "pyvariant",
            "api",
            *path,
            method=method,
            body=raw_body,
            params=params,
            headers=headers,
            request_timeout=timeout,
        )
    except HTTPClientError as exc:
        if exc.response is None:
            raise
        response = exc.response
    text = response.body.decode() if response.body else ""
    return Answer(response.code, json.loads(text) if text else None, response.headers)


async def wait_for_job(fetch: Fetch, job_id: str, states: tuple[str, ...] = FINISHED) -> dict[str, Any]:
    """Poll the job over HTTP until it reaches one of ``states``, within a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOB_DEADLINE_S
    while True:
        job: dict[str, Any] = (await call(fetch, "GET", "jobs", job_id)).data
        if job["state"] in states:
            return job
        if loop.time() > deadline:
            raise AssertionError(f"job still {job['state']} after {JOB_DEADLINE_S:g} s: {job}")
        await asyncio.sleep(0.05)  # yield to the server's loop between polls


async def kernelspecs(fetch: Fetch) -> dict[str, Any]:
    specs: dict[str, Any] = json.loads((await fetch("api", "kernelspecs")).body)["kernelspecs"]
    return specs


def pyvariant_specs(specs: dict[str, Any]) -> list[str]:
    return [name for name, entry in specs.items() if "pyvariant" in entry["spec"].get("metadata", {})]


# -- authentication and XSRF ------------------------------------------------------------------------

ROUTES = [
    ("GET", ("host",)),
    ("GET", ("host", "kernel", "0123")),
    ("GET", ("pythons",)),
    ("GET", ("kernels",)),
    ("POST", ("kernels",)),
    ("DELETE", ("kernels", "some-kernel")),
    ("GET", ("jobs",)),
    ("GET", ("jobs", "0123")),
    ("DELETE", ("jobs", "0123")),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {'/'.join(p)}" for m, p in ROUTES])
async def test_every_route_refuses_requests_without_the_token(
    jp_fetch: Fetch, method: str, path: tuple[str, ...]
) -> None:
    answer = await call(jp_fetch, method, *path, headers={"Authorization": ""})

    assert answer.code == 403


async def _login_cookies(fetch: Fetch) -> str:
    """The login cookie the server sets on a token-authenticated request, as a Cookie header."""
    response = await fetch("pyvariant", "api", "jobs")
    cookies = [header.split(";", 1)[0] for header in response.headers.get_list("Set-Cookie")]
    assert cookies, "the server set no login cookie"
    return "; ".join(cookies)


@pytest.mark.parametrize(
    ("method", "path", "accepted_code"),
    [("POST", ("kernels",), 400), ("DELETE", ("jobs", "no-such-job"), 404)],
)
async def test_cookie_authenticated_changes_need_the_xsrf_header(
    jp_fetch: Fetch, method: str, path: tuple[str, ...], accepted_code: int
) -> None:
    cookies = await _login_cookies(jp_fetch)
    body = {"version": "3.x"}

    refused = await call(jp_fetch, method, *path, body=body, headers={"Authorization": "", "Cookie": cookies})
    with_xsrf = await call(
        jp_fetch,
        method,
        *path,
        body=body,
        headers={"Authorization": "", "Cookie": f"{cookies}; _xsrf=abc123", "X-XSRFToken": "abc123"},
    )

    assert refused.code == 403
    assert "xsrf" in refused.data["message"].lower()
    # The same cookie with the XSRF header gets through to the handler, which judges the request.
    assert with_xsrf.code == accepted_code


# -- input checking ---------------------------------------------------------------------------------

BAD_BODIES = [
    ({"version": "3.x"}, "3.x"),
    ({"level": "v9"}, "v9"),
    ({"name": "a/b"}, "a/b"),
    ({"name": ".."}, ".."),
    ({"name": "-rf"}, "-rf"),
    ({"colour": "blue"}, "unknown field(s) colour"),
    ({"freethreaded": 1}, "freethreaded must be true or false"),
    ({"packages": "numpy"}, "packages must be a list"),
    ({"packages": ["numpy", 3]}, "packages[1] must be a non-empty string"),
    ({"packages": ["--index-url=http://example.invalid"]}, "not a package requirement"),
    ({"display_name": "two\nlines"}, "control characters"),
    ({"mirror": "ftp://example.invalid/pbs"}, "not an http(s) or file URL"),
    ({"index_url": ["pypi"]}, "index_url[0]: 'pypi' is not an http(s) or file URL"),
    ({"trusted_providers": [""]}, "trusted_providers[0] must be a non-empty string"),
    ([], "must be a JSON object"),
]


@pytest.mark.parametrize(("body", "said"), BAD_BODIES, ids=[str(b) for b, _ in BAD_BODIES])
async def test_a_bad_provisioning_request_is_400_and_starts_nothing(
    jp_fetch: Fetch, body: Any, said: str
) -> None:
    answer = await call(jp_fetch, "POST", "kernels", body=body)

    assert answer.code == 400
    assert said in answer.data["message"]
    assert (await call(jp_fetch, "GET", "jobs")).data == {"jobs": []}


async def test_a_body_that_is_not_json_is_400(jp_fetch: Fetch) -> None:
    answer = await call(jp_fetch, "POST", "kernels", raw_body="{version: 3.13")

    assert answer.code == 400
    assert "not JSON" in answer.data["message"]


@pytest.mark.parametrize(
    ("method", "path", "params", "said"),
    [
        ("GET", ("pythons",), {"version": "3.x"}, "3.x"),
        ("GET", ("host", "kernel", "any-id"), {"timeout": "soon"}, "soon"),
        ("GET", ("host", "kernel", "any-id"), {"timeout": "-1"}, "more than 0"),
        ("DELETE", ("kernels", "Bad Name!"), None, "invalid kernel name"),
    ],
)
async def test_bad_query_and_path_values_are_400(
    jp_fetch: Fetch, method: str, path: tuple[str, ...], params: dict[str, str] | None, said: str
) -> None:
    answer = await call(jp_fetch, method, *path, params=params)

    assert answer.code == 400
    assert said in answer.data["message"]


@pytest.mark.parametrize("encoded", ["a%2Fb", "%2E%2E"])
async def test_kernel_names_that_would_leave_the_kernels_folder_are_400(
    jp_serverapp: Any, http_server_client: Any, jp_auth_header: dict[str, str], jp_base_url: str, encoded: str
) -> None:
    # Sent as written: jp_fetch would escape the percent signs themselves.
    with pytest.raises(HTTPClientError) as refused:
        await http_server_client.fetch(
            f"{jp_base_url}pyvariant/api/kernels/{encoded}", method="DELETE", headers=jp_auth_header
        )

    assert refused.value.code == 400
    assert refused.value.response is not None
    assert "invalid kernel name" in json.loads(refused.value.response.body)["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ("host", "kernel", "no-such-kernel")),
        ("GET", ("jobs", "no-such-job")),
        ("DELETE", ("jobs", "no-such-job")),
        ("DELETE", ("kernels", "no-such-kernel")),
    ],
)
async def test_unknown_ids_and_names_are_404(jp_fetch: Fetch, method: str, path: tuple[str, ...]) -> None:
    answer = await call(jp_fetch, method, *path)

    assert answer.code == 404
    assert path[-1] in answer.data["message"]


async def test_a_taken_kernel_name_is_409_before_any_job(jp_fetch: Fetch) -> None:
    answer = await call(jp_fetch, "POST", "kernels", body={"version": "3.12", "name": "echo"})

    assert answer.code == 409
    assert "'echo' already exists" in answer.data["message"]
    assert (await call(jp_fetch, "GET", "jobs")).data == {"jobs": []}


async def test_removing_a_kernel_this_package_did_not_make_is_409(jp_fetch: Fetch) -> None:
    answer = await call(jp_fetch, "DELETE", "kernels", "echo")

    assert answer.code == 409
    assert "not made by pyvariant" in answer.data["message"]
    assert "echo" in await kernelspecs(jp_fetch)


# -- a kernel's own report --------------------------------------------------------------------------


@pytest.fixture
def start_kernel(
    jp_fetch: Fetch, jp_serverapp: Any, jp_asyncio_loop: asyncio.AbstractEventLoop
) -> Iterator[Callable[[str], Awaitable[str]]]:
    """Start kernels through the server's REST API; shut them down at the end."""
    started: list[str] = []

    async def start(name: str) -> str:
        response = await jp_fetch(
            "api", "kernels", method="POST", body=json.dumps({"name": name}), request_timeout=120
        )
        kernel_id: str = json.loads(response.body)["id"]
        started.append(kernel_id)
        return kernel_id

    yield start
    for kernel_id in started:
        jp_asyncio_loop.run_until_complete(jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True))


async def execute(jp_serverapp: Any, kernel_id: str, code: str, *, until: str = "execute_reply") -> None:
    """Run ``code`` in the kernel through a client of its own, as a notebook would, until its reply
    (``until="execute_input"``: until the kernel has begun to run it)."""
    client = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
    client.start_channels(stdin=False, hb=False, control=False)
    try:
        await client.wait_for_ready(timeout=120)  # iopub subscribed: no message of ours goes unseen
        msg_id = client.execute(code)
        while True:
            channel = client.get_shell_msg if until == "execute_reply" else client.get_iopub_msg
            msg = await channel(timeout=120)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == until:
                assert until != "execute_reply" or msg["content"]["status"] == "ok", msg["content"]
                return
    finally:
        client.stop_channels()


KernelThatRan = Callable[..., Awaitable[str]]
"""(code, until=...) -> the id of a python3 kernel that has run ``code`` (see :func:`execute`)."""


@pytest.fixture
def kernel_that_ran(jp_serverapp: Any, start_kernel: Callable[[str], Awaitable[str]]) -> KernelThatRan:
    """A python3 kernel started through the server, given its workload before the test asks about it."""

    async def started(code: str, *, until: str = "execute_reply") -> str:
        kernel_id = await start_kernel("python3")
        await execute(jp_serverapp, kernel_id, code, until=until)
        return kernel_id

    return started


async def kernel_report(fetch: Fetch, kernel_id: str, wait_s: str = "60") -> Answer:
    """``GET host/kernel/<id>``, the server waiting up to ``wait_s`` for the kernel's own report."""
    return await call(
        fetch, "GET", "host", "kernel", kernel_id, params={"timeout": wait_s}, timeout=float(wait_s) + 30
    )


async def test_the_kernel_report_comes_from_inside_the_kernel(
    jp_fetch: Fetch, kernel_that_ran: KernelThatRan
) -> None:
    # Only that kernel's process has this setting: a report showing it was made in there.
    kernel_id = await kernel_that_ran("import os; os.environ['OMP_NUM_THREADS'] = '13'")

    answer = await kernel_report(jp_fetch, kernel_id)
    server = (await call(jp_fetch, "GET", "host")).data

    assert answer.code == 200
    assert answer.data["scope"] == "kernel-host"
    assert answer.data["capacity"]["thread_env"].get("OMP_NUM_THREADS") == "13"
    assert server["capacity"]["thread_env"].get("OMP_NUM_THREADS") != "13"
    assert answer.data["cpu"]["isa_level"] == server["cpu"]["isa_level"]  # the same machine


async def test_a_busy_kernel_is_unknown_with_the_reason(
    jp_fetch: Fetch, kernel_that_ran: KernelThatRan
) -> None:
    # The kernel's workload: a cell that never ends, so the question waits behind it.
    kernel_id = await kernel_that_ran("import time\nwhile True:\n    time.sleep(0.05)", until="execute_input")

    answer = await kernel_report(jp_fetch, kernel_id, wait_s="1.5")

    assert answer.code == 200
    assert answer.data == {
        "scope": "kernel-host",
        "status": "unknown",
        "reason": "the kernel did not answer within 1.5 s",
    }


async def test_a_kernel_without_jupyter_pyvariant_is_unknown_with_the_reason(
    jp_fetch: Fetch, kernel_that_ran: KernelThatRan
) -> None:
    # The kernel's environment as if the package were not installed there.
    kernel_id = await kernel_that_ran("import sys; sys.modules['jupyter_pyvariant'] = None")

    answer = await kernel_report(jp_fetch, kernel_id)

    assert answer.code == 200
    assert answer.data["status"] == "unknown"
    assert answer.data["reason"].startswith("jupyter_pyvariant is not installed in this kernel")
    assert "ModuleNotFoundError" in answer.data["reason"]


async def test_a_kernel_that_is_not_ipython_is_unknown_with_the_reason(
    jp_fetch: Fetch, start_kernel: Callable[[str], Awaitable[str]]
) -> None:
    answer = await kernel_report(jp_fetch, await start_kernel("echo"))

    assert answer.code == 200
    assert answer.data["status"] == "unknown"
    assert "does not evaluate user expressions" in answer.data["reason"]


# -- pythons and jobs on a synthetic mirror ---------------------------------------------------------


@dataclass(frozen=True)
class Synthetic:
    mirror: Mirror
    archives: list[Archive]
    store: Path


@pytest.fixture
def synthetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Synthetic]:
    """A mirror publishing small archives for this host's platforms (levels best first), and the
    settings that make the server and its workers read its catalog and use a private store (the
    mirror itself is named in each request, as the lab extension's setting would)."""
    targets = runnable_targets(report().facts)
    if not targets:
        pytest.skip("python-build-standalone publishes no build for this host's platform")
    archives = [make_archive("3.12.3", "20260101", target.triple) for target in targets]
    with Mirror() as mirror:
        mirror.publish(archives)
        monkeypatch.setenv("PYVARIANT_PYTHON_CATALOG", f"{mirror.url}/index.ndjson")
        monkeypatch.setenv("PYVARIANT_PYTHON_STORE", str(tmp_path / "store"))
        monkeypatch.setenv("PYVARIANT_CACHE_DIR", str(tmp_path / "cache"))
        yield Synthetic(mirror, archives, tmp_path / "store")


async def test_pythons_lists_the_builds_that_fit_best_first(jp_fetch: Fetch, synthetic: Synthetic) -> None:
    answer = await call(jp_fetch, "GET", "pythons", params={"version": "3.12"})

    assert answer.code == 200
    data = answer.data
    host = report(scope="server-host").to_dict()
    assert set(data) == {"host", "catalog", "builds", "best", "explain", "installed"}, "python list --json's"
    assert data["host"] == {
        "isa_level": host["cpu"]["isa_level"],
        "arch": host["cpu"]["arch"],
        "libc": host["system"]["libc"]["family"],
    }
    assert [b["filename"] for b in data["builds"]] == [a.filename for a in synthetic.archives]
    assert data["best"]["filename"] == synthetic.archives[0].filename
    assert data["best"]["installed"] is False
    assert any(line.startswith("chosen: ") for line in data["explain"])
    assert data["catalog"]["origin"] == "network" and data["explain"][0].startswith("catalog: network")


async def test_pythons_without_a_fitting_build_says_why(jp_fetch: Fetch, synthetic: Synthetic) -> None:
    answer = await call(jp_fetch, "GET", "pythons", params={"version": "3.9"})

    assert answer.code == 200
    assert answer.data["best"] is None and answer.data["builds"] == []
    assert "versions published here: 3.12.3" in answer.data["explain"][-1]


async def test_pythons_with_the_catalog_unreachable_is_502(jp_fetch: Fetch, synthetic: Synthetic) -> None:
    synthetic.mirror.stop()

    answer = await call(jp_fetch, "GET", "pythons")

    assert answer.code == 502, "a server that does not answer at all is a bad gateway, not a timeout"
    assert "--catalog" in answer.data["message"] and "PYVARIANT_PYTHON_MIRROR" in answer.data["message"]
    assert "cannot fetch the catalog" in answer.data["message"]
    assert synthetic.mirror.url.removeprefix("http://") in answer.data["message"]


async def test_pythons_with_the_catalog_too_slow_is_504(
    jp_fetch: Fetch, synthetic: Synthetic, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_pyvariant.pythons._http as http

    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.2)
    _, release = synthetic.mirror.block("/index.ndjson", after_bytes=10)
    try:
        answer = await call(jp_fetch, "GET", "pythons")
    finally:
        release.set()

    assert answer.code == 504 and "did not answer in time" in answer.data["message"]


def _nothing_made(data_dir: Path, store: Path) -> None:
    assert not (data_dir / "pyvariant" / "venvs").exists() or not any(
        (data_dir / "pyvariant" / "venvs").iterdir()
    )
    assert Store(store).installed() == []
    staging = store / ".tmp"
    assert not staging.exists() or not any(staging.iterdir())


async def test_a_provision_from_a_mirror_serving_other_bytes_fails_clearly(
    jp_fetch: Fetch, jp_data_dir: Path, synthetic: Synthetic
) -> None:
    best = synthetic.archives[0]
    synthetic.mirror.serve_instead(best.path, b"these are not the archive's bytes" * 100)

    body = {
        "version": "3.12",
        "mirror": synthetic.mirror.url,
        "packages": ["numpy"],
        "trusted_providers": ["some-plugin"],
    }
    accepted = await call(jp_fetch, "POST", "kernels", body=body)
    job = await wait_for_job(jp_fetch, accepted.data["job"]["id"])

    assert accepted.code == 202
    assert job["request"]["mirror"] == synthetic.mirror.url
    assert job["log"][0].startswith("trusted_providers (some-plugin): their plugins run")
    assert accepted.headers["Location"].endswith(f"/pyvariant/api/jobs/{job['id']}")
    assert job["state"] == "failed"
    assert best.sha256 in job["error"] and "different file" in job["error"]
    assert job["result"] is None and job["finished"] is not None
    assert job["log"][-1] == f"failed: {job['error']}"
    assert pyvariant_specs(await kernelspecs(jp_fetch)) == []
    assert (await call(jp_fetch, "GET", "kernels")).data == {"kernels": []}
    _nothing_made(jp_data_dir, synthetic.store)


async def test_a_cancelled_provision_leaves_nothing_half_made(
    jp_fetch: Fetch, jp_data_dir: Path, synthetic: Synthetic
) -> None:
    best = synthetic.archives[0]
    reached, release = synthetic.mirror.block(best.path, after_bytes=len(best.data) // 2)
    try:
        body = {"version": "3.12", "name": "never", "mirror": synthetic.mirror.url}
        accepted = await call(jp_fetch, "POST", "kernels", body=body)
        job_id = accepted.data["job"]["id"]
        assert await asyncio.to_thread(reached.wait, JOB_DEADLINE_S), "the download never started"
        running = (await call(jp_fetch, "GET", "jobs", job_id)).data

        cancelled = await call(jp_fetch, "DELETE", "jobs", job_id)
    finally:
        release.set()

    assert running["state"] == "running"
    assert cancelled.code == 200
    assert cancelled.data["state"] == "cancelled" and cancelled.data["finished"] is not None
    # The log tells the cancel once, and never that the interrupted download was done.
    log = cancelled.data["log"]
    assert log.count("cancelled") == 1, log
    assert not [line for line in log if line.endswith(": done")], log
    assert "never" not in await kernelspecs(jp_fetch)
    _nothing_made(jp_data_dir, synthetic.store)
    again = await call(jp_fetch, "DELETE", "jobs", job_id)
    assert again.code == 409 and "already cancelled" in again.data["message"]
    listed = (await call(jp_fetch, "GET", "jobs")).data["jobs"]
    assert [(j["id"], j["state"]) for j in listed] == [(job_id, "cancelled")]


async def test_a_dropped_download_is_retried_and_the_job_says_so_as_it_happens(
    jp_fetch: Fetch, synthetic: Synthetic
) -> None:
    best = synthetic.archives[0]
    synthetic.mirror.drop_once(best.path, after_bytes=0)

    body = {"version": "3.12", "mirror": synthetic.mirror.url}
    accepted = await call(jp_fetch, "POST", "kernels", body=body)
    job = await wait_for_job(jp_fetch, accepted.data["job"]["id"])

    retried = [line for line in job["log"] if line.startswith("retrying the download")]
    assert retried == ["retrying the download (2 of 5) after a dropped connection…"], job["log"]
    assert len(synthetic.mirror.requests_for(best.path)) == 2
    assert not any("free slot" in line for line in job["log"])


async def test_a_second_job_waits_for_the_first_and_can_be_cancelled_while_waiting(
    jp_fetch: Fetch, synthetic: Synthetic
) -> None:
    best = synthetic.archives[0]
    reached, release = synthetic.mirror.block(best.path, after_bytes=len(best.data) // 2)
    body = {"version": "3.12", "mirror": synthetic.mirror.url}
    try:
        first = (await call(jp_fetch, "POST", "kernels", body={**body, "name": "first"})).data["job"]
        assert await asyncio.to_thread(reached.wait, JOB_DEADLINE_S), "the download never started"
        second = (await call(jp_fetch, "POST", "kernels", body={**body, "name": "second"})).data["job"]
        waiting = (await call(jp_fetch, "GET", "jobs", second["id"])).data
        second_cancelled = (await call(jp_fetch, "DELETE", "jobs", second["id"])).data
        first_cancelled = (await call(jp_fetch, "DELETE", "jobs", first["id"])).data
    finally:
        release.set()

    assert waiting["state"] == "pending"
    assert waiting["progress"]["message"] == "waiting for the kernel being set up before it"
    assert second_cancelled["state"] == "cancelled"
    assert second_cancelled["progress"]["message"] == "cancelled before it started"
    assert first_cancelled["state"] == "cancelled"
    # Only the first one ever asked the mirror for the archive.
    assert len(synthetic.mirror.requests_for(best.path)) == 1


def test_a_worker_whose_server_went_away_cancels_itself(synthetic: Synthetic, tmp_path: Path) -> None:
    best = synthetic.archives[0]
    reached, release = synthetic.mirror.block(best.path, after_bytes=len(best.data) // 2)
    argv = [sys.executable, "-m", "jupyter_pyvariant.server.worker", "kernel", "install", "3.12"]
    argv += [f"--mirror={synthetic.mirror.url}", "--json"]
    env = {**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    with subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as worker:
        assert worker.stdin is not None and worker.stderr is not None
        try:
            assert reached.wait(JOB_DEADLINE_S), "the download never started"
            worker.stdin.close()  # what the server's death looks like from the worker
            worker.wait(JOB_DEADLINE_S)  # its few event lines fit in the pipe: it cannot block on them
            stderr = worker.stderr.read()
        finally:
            release.set()
            if worker.poll() is None:
                worker.kill()

    assert worker.returncode == 130
    assert json.loads(stderr.splitlines()[-1]) == {"event": "error", "text": "cancelled"}
    _nothing_made(tmp_path / "data", synthetic.store)


# -- a real provisioning, end to end ----------------------------------------------------------------


@pytest.mark.slow
async def test_a_kernel_provisioned_over_rest_appears_answers_and_goes(
    jp_fetch: Fetch,
    jp_data_dir: Path,
    start_kernel: Callable[[str], Awaitable[str]],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYVARIANT_PYTHON_CATALOG", world.catalog)
    body = {"version": "3.11", "level": "auto", "name": "rest-made", "display_name": "Made over REST"}

    accepted = await call(jp_fetch, "POST", "kernels", body=body)
    job = await wait_for_job(jp_fetch, accepted.data["job"]["id"])

    assert accepted.code == 202 and accepted.data["job"]["state"] in ("pending", "running")
    assert accepted.data["job"]["request"]["name"] == "rest-made"
    assert job["state"] == "succeeded", json.dumps(job, indent=1)
    assert job["error"] is None and job["progress"]["message"] == "done"
    assert any(line.startswith("download") for line in job["log"])
    assert any("installing ipykernel" in line for line in job["log"])
    result = job["result"]
    assert result["kernel_name"] == "rest-made" and result["display_name"] == "Made over REST"
    assert result["usable"] is True and result["version"].startswith("3.11")

    spec = (await kernelspecs(jp_fetch))["rest-made"]["spec"]
    assert spec["display_name"] == "Made over REST"
    assert spec["metadata"]["pyvariant"]["sha256"] == sha256_of(world.archive)
    assert spec["argv"][0] == result["python"]
    listed = (await call(jp_fetch, "GET", "kernels")).data["kernels"]
    assert listed == [{key: value for key, value in result.items() if key != "kernel_name"}]

    kernel_id = await start_kernel("rest-made")
    own = await kernel_report(jp_fetch, kernel_id, wait_s="120")
    assert own.data["scope"] == "kernel-host"
    assert own.data["python"]["executable"] == result["python"]

    removed = await call(jp_fetch, "DELETE", "kernels", "rest-made")
    assert removed.code == 204
    assert "rest-made" not in await kernelspecs(jp_fetch)
    assert not (jp_data_dir / "pyvariant" / "venvs" / "rest-made").exists()
    assert (await call(jp_fetch, "DELETE", "kernels", "rest-made")).code == 404
