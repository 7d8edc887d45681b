"""The server extension's REST routes, through a real jupyter_server on a loopback socket."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import jsonschema
import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    text = resources.files("jupyter_pyvariant.host").joinpath("data", "host-report.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


async def test_host_route_answers_the_server_host_report(jp_fetch: Fetch, schema: dict[str, Any]) -> None:
    response = await jp_fetch("pyvariant", "api", "host")

    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    data = json.loads(response.body)
    jsonschema.validate(data, schema)
    assert data["scope"] == "server-host"
    assert data["cpu"]["isa_level"]


async def test_host_route_serves_the_cached_report_until_refresh_is_asked(jp_fetch: Fetch) -> None:
    first = json.loads((await jp_fetch("pyvariant", "api", "host")).body)
    again = json.loads((await jp_fetch("pyvariant", "api", "host")).body)
    fresh = json.loads((await jp_fetch("pyvariant", "api", "host", params={"refresh": "1"})).body)

    assert again == first
    assert fresh["scope"] == "server-host"
    assert fresh["cpu"] == first["cpu"]


@pytest.mark.parametrize("authorization", ["", "token not-the-server-token"])
async def test_host_route_refuses_requests_without_the_token(jp_fetch: Fetch, authorization: str) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("pyvariant", "api", "host", headers={"Authorization": authorization})

    assert refused.value.code == 403


async def test_host_route_is_read_only(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("pyvariant", "api", "host", method="POST", body="{}")

    assert refused.value.code == 405
