"""``%pyvariant kernel switch``: over REST against a real jupyter server, and over a real comm."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pbs_fixture import World

FIRST, SECOND = "switch-from", "switch-to"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the fixture interpreter is Debian's CPython"),
    pytest.mark.world(kernels=(FIRST, SECOND)),
]


@dataclass(frozen=True)
class Server:
    url: str
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"token {self.token}"}, timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(world: World) -> Iterator[Server]:
    """A real ``jupyter server`` on 127.0.0.1 whose runtime files land in the world's runtime dir."""
    token, port = secrets.token_hex(16), _free_port()
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={world.root}",
    ]
    process = subprocess.Popen(argv, env=world.env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:  # the server says when it listens: no polling, no sleeping
        if "is running at" in line:
            break
    else:
        raise AssertionError(f"jupyter server exited with {process.wait()}")
    # Keep reading its log (which its kernels share): a full pipe would stall them all.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    try:
        yield Server(f"http://127.0.0.1:{port}", token)
    finally:
        process.terminate()
        process.wait(timeout=60)


def _ready(client: Any) -> None:
    """Wait until the kernel answers on shell and its iopub reaches us. (jupyter_client's own
    wait_for_ready, without a manager, trusts heartbeats, which a busy machine can miss.)"""
    from queue import Empty

    while True:
        request = client.kernel_info()
        while client.get_shell_msg(timeout=120)["parent_header"].get("msg_id") != request:
            pass
        try:
            while client.get_iopub_msg(timeout=2)["parent_header"].get("msg_id") != request:
                pass
            return
        except Empty:  # iopub subscribed after the kernel published: ask again
            continue


@contextmanager
def _attached(connection_file: Path) -> Iterator[Any]:
    """A client on an already running kernel (the one the server started for a session)."""
    from jupyter_client.blocking import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        _ready(client)
        yield client
    finally:
        client.stop_channels()


def _iopub_until(
    client: Any, done: Callable[[dict[str, Any]], bool], parent: str | None = None
) -> list[dict[str, Any]]:
    """iopub messages (of ``parent``, when given) up to and including the first one that is ``done``."""
    messages = []
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if parent is not None and msg["parent_header"].get("msg_id") != parent:
            continue
        messages.append(msg)
        if done(msg):
            return messages


def _run(client: Any, code: str) -> list[dict[str, Any]]:
    """Execute ``code``; its iopub messages until the kernel is idle again."""
    return _iopub_until(
        client,
        lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle",
        client.execute(code),
    )


def _stdout(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")


def test_switch_over_rest_moves_the_session_to_the_new_kernel(world: World, server: Server) -> None:
    with server.client() as http:
        session = http.post(
            "/api/sessions", json={"path": "switch.ipynb", "type": "notebook", "kernel": {"name": FIRST}}
        ).json()
        old_kernel = session["kernel"]["id"]
        with _attached(world.root / "runtime" / f"kernel-{old_kernel}.json") as client:
            text = _stdout(_run(client, f"%pyvariant kernel switch {SECOND} --via rest"))
            assert f"switching this notebook to {SECOND} (rest:" in text
            # The server moves the session first, then shuts the old kernel down, which says so on iopub.
            _iopub_until(client, lambda m: m["msg_type"] == "shutdown_reply")
        after = http.get(f"/api/sessions/{session['id']}").json()
        assert after["kernel"]["name"] == SECOND
        assert after["kernel"]["id"] != old_kernel


def test_switch_to_a_kernel_the_server_lacks_fails_in_the_cell(world: World, server: Server) -> None:
    with server.client() as http:
        session = http.post(
            "/api/sessions", json={"path": "stay.ipynb", "type": "notebook", "kernel": {"name": FIRST}}
        ).json()
        with _attached(world.root / "runtime" / f"kernel-{session['kernel']['id']}.json") as client:
            messages = _run(client, "%pyvariant kernel switch no-such-kernel --via rest")
        errors = "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")
        assert "has no kernel named 'no-such-kernel'" in errors
        assert http.get(f"/api/sessions/{session['id']}").json()["kernel"]["name"] == FIRST


@contextmanager
def _kernel(name: str, cwd: Path) -> Iterator[Any]:
    """A kernel started by jupyter_client (no server), and a client on it."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name=name, startup_timeout=120, cwd=str(cwd))
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _send_comm(client: Any, msg_type: str, content: dict[str, Any]) -> None:
    """What a frontend does: a comm message on the shell channel, answered by nothing."""
    client.shell_channel.send(client.session.msg(msg_type, content))


REGISTER = (
    "from jupyter_pyvariant.kernels.switch import register_comm_target; register_comm_target(get_ipython())"
)


def _announce_frontend(client: Any, comm_id: str) -> None:
    """The kernel listens for frontends, and one opens its comm to say hello, as the lab extension does."""
    _run(client, REGISTER)
    _send_comm(
        client, "comm_open", {"comm_id": comm_id, "target_name": "pyvariant", "data": {"action": "hello"}}
    )


def _switch_answered(client: Any, code: str, answer: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Run ``code``; when the kernel sends its switch request (a comm message or a comm it opens),
    answer it as the frontend would, on the same comm, while the cell still runs (it waits for this
    answer); ``None`` closes the comm instead. Every iopub message of the cell, until idle."""
    parent = client.execute(code)
    messages = _iopub_until(client, lambda m: m["msg_type"] in ("comm_msg", "comm_open"), parent)
    request = messages[-1]["content"]
    if answer is None:
        _send_comm(client, "comm_close", {"comm_id": request["comm_id"], "data": {}})
    else:
        data = {**answer, "request_id": request["data"]["request_id"]}
        _send_comm(client, "comm_msg", {"comm_id": request["comm_id"], "data": data})
    done = _iopub_until(
        client, lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle", parent
    )
    return messages + done


def test_a_frontend_that_announced_itself_gets_the_switch_on_its_comm(world: World) -> None:
    with _kernel(FIRST, world.root) as client:
        _announce_frontend(client, "frontend-1")
        ok = {"status": "ok", "message": f"switching to {SECOND} once this cell has run"}
        messages = _switch_answered(client, f"%pyvariant kernel switch {SECOND}", ok)
        (sent,) = [m["content"] for m in messages if m["msg_type"] == "comm_msg"]
        assert sent["comm_id"] == "frontend-1"
        assert {k: v for k, v in sent["data"].items() if k != "request_id"} == {
            "action": "switch",
            "kernel_name": SECOND,
        }
        text = _stdout(messages)
        assert f"switching this notebook to {SECOND} (comm:" in text
        assert f"it answered: switching to {SECOND} once this cell has run" in text

        _send_comm(client, "comm_close", {"comm_id": "frontend-1", "data": {}})
        messages = _switch_answered(client, f"%pyvariant kernel switch {SECOND} --via comm", ok)
        opened = [m["content"] for m in messages if m["msg_type"] == "comm_open"]
        assert [(c["target_name"], c["data"]["action"], c["data"]["kernel_name"]) for c in opened] == [
            ("pyvariant", "switch", SECOND)
        ]
        assert not [m for m in messages if m["msg_type"] == "comm_msg"]
        assert "it answered" in _stdout(messages)


def test_a_wrong_name_refused_by_the_frontend_is_reported_in_the_cell(world: World) -> None:
    with _kernel(FIRST, world.root) as client:
        _announce_frontend(client, "frontend-2")
        refusal = {"status": "error", "message": 'there is no kernel named "no-such-kernel"'}
        messages = _switch_answered(client, "%pyvariant kernel switch no-such-kernel", refusal)
        text = _stdout(messages)
        assert "the frontend did not switch to 'no-such-kernel'" in text
        assert 'there is no kernel named "no-such-kernel"' in text
        assert "switching this notebook" not in text

        # A frontend that drops the request (no comm target for it) ends the wait too.
        messages = _switch_answered(client, f"%pyvariant kernel switch {SECOND} --via comm", None)
        assert "closed the request unanswered" in _stdout(messages)


def test_without_frontend_or_server_the_switch_says_why_it_cannot(world: World) -> None:
    with _kernel(FIRST, world.root) as client:
        messages = _run(client, f"%pyvariant kernel switch {SECOND}")
    text = _stdout(messages)
    assert "cannot switch: no Jupyter server knows this kernel" in text
    assert not [m for m in messages if m["msg_type"] in ("comm_open", "comm_msg")]
