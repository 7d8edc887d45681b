"""``%pyvariant kernel switch NAME``: move the notebook this kernel serves to another kernel.

Only the frontend can change a notebook's kernel, so the kernel asks it, two ways:

- **comm** (the lab extension): on connecting to a kernel, the frontend opens a comm on target
  ``pyvariant`` (``{"action": "hello"}``), which tells the kernel a frontend that can switch is
  listening. A switch is then a message on that comm: ``{"action": "switch", "kernel_name": NAME}``.
  Sending on the comm the frontend opened reaches exactly that frontend, not every tab. With
  ``--via comm`` and no such comm, the kernel opens one itself on target ``pyvariant`` with the same
  data, for frontends that only register the target. The frontend answers on the same comm
  (``{"status": "ok" | "error", "message", "request_id"}``) and the cell waits for that answer, so a
  wrong name is reported where it was typed (see :class:`_Answers` for how a busy kernel hears it).
- **REST** (any frontend, no extension): the kernel finds the running server that started it
  (runtime files ``jpserver-*.json`` beside its connection file or in the Jupyter runtime folder,
  the parent process id jupyter_client passes as ``JPY_PARENT_PID``, or JupyterHub's
  ``JUPYTERHUB_SERVICE_URL`` and ``JUPYTERHUB_API_TOKEN``), finds its own session there (by kernel
  id from the connection file name, else by ``JPY_SESSION_NAME``) and sends
  ``PATCH /api/sessions/{id}`` with the new kernel name. The server starts the new kernel, moves
  the session, and shuts this kernel down; the frontend follows the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import COMM_TARGET
from .. import register_comm_target as register_comm_target  # where the extension registers it
from . import KernelError
from .spec import check_name

_CONNECTION_FILE = re.compile(r"^kernel-(?P<id>[0-9a-fA-F-]{8,})\.json$")


class _Frontends:
    """The comms frontends opened to say they can act on switch requests, newest last."""

    def __init__(self) -> None:
        self.comms: list[Any] = []

    def opened(self, comm: Any, _open_msg: Mapping[str, Any]) -> None:
        self.comms.append(comm)
        comm.on_close(lambda _msg: self.comms.remove(comm) if comm in self.comms else None)


_FRONTENDS = _Frontends()
frontend_opened = _FRONTENDS.opened  # what the comm target the extension registers calls
ANSWER_TIMEOUT_S = 120.0
"""How long the cell waits for the frontend's answer: it looks the name up on the server first."""


class _Answers:
    """The frontend's answers to switch requests, heard while the cell that asked still runs.

    The cell blocks the kernel's main thread, where comm messages are normally handled, so the answer
    is heard where ipykernel (7 and later) routes each incoming comm message first: its shell-channel
    thread asks the comm's ``_reply_subshell_for`` where the message goes. Wrapping that per comm
    hears the answer (or the comm closing) at once; the message then goes on as before. A kernel
    without that routing cannot hear it before the cell ends: the request is then only sent.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[str, threading.Event, list[Mapping[str, Any]]]] = {}

    def listen(self, comm: Any) -> bool:
        """Hear what arrives on ``comm`` from now on; False when this kernel cannot."""
        route = getattr(comm, "_reply_subshell_for", None)
        if route is None:
            return False
        if getattr(route, "pyvariant_answers", False):
            return True

        def hear_then_route(data: Any, default: Any) -> Any:
            self._heard(id(comm), data)
            return route(data, default)

        hear_then_route.pyvariant_answers = True  # type: ignore[attr-defined]
        comm._reply_subshell_for = hear_then_route
        return True

    def expect(self, comm: Any, request_id: str) -> Callable[[float], Mapping[str, Any] | None]:
        """A wait for the answer to ``request_id`` on ``comm``: the answer, or None in time."""
        event, answers = threading.Event(), list[Mapping[str, Any]]()
        with self._lock:
            self._pending[id(comm)] = (request_id, event, answers)

        def wait(timeout: float) -> Mapping[str, Any] | None:
            try:
                return answers[0] if event.wait(timeout) else None
            finally:
                with self._lock:
                    self._pending.pop(id(comm), None)

        return wait

    def _heard(self, comm_key: int, data: Any) -> None:
        with self._lock:
            pending = self._pending.get(comm_key)
        if pending is None:
            return
        request_id, event, answers = pending
        if not isinstance(data, Mapping) or "status" not in data:
            answers.append({"status": "error", "message": "the frontend closed the request unanswered"})
        elif data.get("request_id") in (request_id, None):
            answers.append(data)
        else:
            return  # the answer to an earlier request that stopped waiting
        event.set()


_ANSWERS = _Answers()


@dataclass(frozen=True)
class SwitchResult:
    """How the switch was asked for, and what answered."""

    kernel_name: str
    via: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kernel_name": self.kernel_name, "via": self.via, "detail": self.detail}


@dataclass(frozen=True)
class ServerInfo:
    """A running Jupyter server this kernel may belong to."""

    url: str
    token: str
    source: str
    root_dir: str | None = None
    pid: int | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if self.token else {}


def _running_kernel() -> Any:
    """The ipykernel this code runs in, or a clear error (switching needs a kernel)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        raise KernelError(
            "kernel switch works inside a running kernel: use `%pyvariant kernel switch NAME` there"
        )
    return kernel


def switch_kernel(kernel_name: str, *, via: str = "auto", timeout: float = 120.0) -> SwitchResult:
    """Ask the frontend (comm) or the server (REST) to move this notebook to ``kernel_name``."""
    name = check_name(kernel_name)
    _running_kernel()
    request_id = uuid.uuid4().hex
    message = {"action": "switch", "kernel_name": name, "request_id": request_id}
    if via in ("auto", "comm") and _FRONTENDS.comms:
        frontend = _FRONTENDS.comms[-1]
        waiting = _ANSWERS.listen(frontend)
        wait = _ANSWERS.expect(frontend, request_id)
        frontend.send(message)
        how = "asked the frontend that announced itself on comm target 'pyvariant'"
        return _answered(name, how, wait(timeout) if waiting else None, waiting, timeout)
    if via == "comm":
        import comm

        # Listening starts before the comm is opened: the frontend may answer the moment it is.
        opened = comm.create_comm(target_name=COMM_TARGET, primary=False)
        waiting = _ANSWERS.listen(opened)
        wait = _ANSWERS.expect(opened, request_id)
        opened.open(data=message)
        how = f"opened a comm on target {COMM_TARGET!r} with the switch request"
        return _answered(name, how, wait(timeout) if waiting else None, waiting, timeout)
    if via not in ("auto", "rest"):
        raise KernelError(f"unknown switch route {via!r}: use auto, comm or rest")
    return switch_over_rest(name, connection_file(), os.environ, timeout=timeout)


def _answered(
    name: str, how: str, answer: Mapping[str, Any] | None, waited: bool, timeout: float
) -> SwitchResult:
    """The frontend's answer as the cell's result: its error raised, its "ok" as the detail."""
    if answer is None:
        later = f"; it did not answer within {timeout:g} s" if waited else ""
        return SwitchResult(name, "comm", how + later)
    message = str(answer.get("message") or "")
    if answer.get("status") != "ok":
        raise KernelError(f"the frontend did not switch to {name!r}: {message or 'no reason given'}")
    return SwitchResult(name, "comm", f"{how}; it answered: {message}" if message else how)


def connection_file() -> Path:
    """This kernel's connection file."""
    from ipykernel.connect import get_connection_file

    return Path(get_connection_file())


def kernel_id_of(connection: Path) -> str | None:
    """jupyter_server names connection files ``kernel-<kernel id>.json``."""
    match = _CONNECTION_FILE.match(connection.name)
    return match["id"] if match else None


def _runtime_servers(folder: Path, source: str) -> Iterator[ServerInfo]:
    for path in sorted(folder.glob("jpserver-*.json")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            info = json.loads(path.read_text(encoding="utf-8"))
            yield ServerInfo(
                url=str(info["url"]),
                token=str(info.get("token") or ""),
                source=f"{source} {path}",
                root_dir=info.get("root_dir"),
                pid=int(info["pid"]) if info.get("pid") else None,
            )


def candidate_servers(connection: Path, env: Mapping[str, str]) -> list[ServerInfo]:
    """Servers that may own this kernel, the likeliest first (the parent process, then the rest)."""
    from jupyter_core.paths import jupyter_runtime_dir

    servers: list[ServerInfo] = []
    hub_url, hub_token = env.get("JUPYTERHUB_SERVICE_URL"), env.get("JUPYTERHUB_API_TOKEN")
    if hub_url and hub_token:
        url = hub_url.replace("//0.0.0.0:", "//127.0.0.1:")
        servers.append(
            ServerInfo(url if url.endswith("/") else url + "/", hub_token, "JUPYTERHUB_SERVICE_URL")
        )
    folders = dict.fromkeys([connection.parent.resolve(), Path(jupyter_runtime_dir()).resolve()])
    for folder in folders:
        servers.extend(
            s for s in _runtime_servers(folder, "runtime file") if s.url not in {x.url for x in servers}
        )
    parent = env.get("JPY_PARENT_PID")
    return sorted(servers, key=lambda server: str(server.pid) != parent)


def _own_session(
    sessions: list[dict[str, Any]], server: ServerInfo, kernel_id: str | None, notebook: str | None
) -> Any:
    for session in sessions:
        if kernel_id and (session.get("kernel") or {}).get("id") == kernel_id:
            return session
    for session in sessions:
        if (
            notebook
            and server.root_dir
            and os.path.join(server.root_dir, session.get("path", "")) == notebook
        ):
            return session
    return None


def locate_session(
    connection: Path, env: Mapping[str, str], *, timeout: float = 30.0
) -> tuple[ServerInfo, str]:
    """The server that owns the kernel of ``connection`` and that kernel's session id."""
    import httpx

    kernel_id, notebook = kernel_id_of(connection), env.get("JPY_SESSION_NAME")
    tried = []
    for server in candidate_servers(connection, env):
        try:
            with httpx.Client(headers=server.headers(), timeout=timeout, trust_env=False) as client:
                response = client.get(f"{server.url}api/sessions")
                response.raise_for_status()
                sessions = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            tried.append(f"{server.url} ({server.source}): {exc.__class__.__name__} {exc}")
            continue
        if not isinstance(sessions, list):
            tried.append(f"{server.url} ({server.source}): the session list is not a JSON list")
            continue
        session = _own_session(sessions, server, kernel_id, notebook)
        if session is not None:
            return server, str(session["id"])
        tried.append(f"{server.url} ({server.source}): no session for this kernel")
    where = (
        "; ".join(tried) or "no running server found (no jpserver-*.json runtime file, no JupyterHub token)"
    )
    raise KernelError(f"cannot switch: no Jupyter server knows this kernel ({where})")


def _check_kernelspec(server: ServerInfo, kernel_name: str, timeout: float) -> None:
    """The server, not this kernel's environment, decides which kernels exist: ask it."""
    import httpx

    try:
        with httpx.Client(headers=server.headers(), timeout=timeout, trust_env=False) as client:
            response = client.get(f"{server.url}api/kernelspecs")
        if not response.is_success:
            return  # a token that may not list kernelspecs: the PATCH itself will be refused or not
        known = response.json()["kernelspecs"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise KernelError(
            f"cannot switch: the server at {server.url} did not list its kernels "
            f"({exc.__class__.__name__}: {exc})"
        ) from None
    if kernel_name not in known:
        raise KernelError(f"the server at {server.url} has no kernel named {kernel_name!r}")


def _patch_session(server: ServerInfo, session_url: str, kernel_name: str, timeout: float) -> None:
    """Runs after the cell has finished: the server shuts this kernel down once the new one runs."""
    import httpx

    try:
        with httpx.Client(headers=server.headers(), timeout=timeout, trust_env=False) as client:
            response = client.patch(session_url, json={"kernel": {"name": kernel_name}})
        if response.status_code >= 400:
            print(
                f"pyvariant: the server refused to switch to {kernel_name!r}: {_server_message(response)}",
                file=sys.stderr,
            )
    except httpx.HTTPError as exc:
        print(f"pyvariant: switching to {kernel_name!r} failed: {exc}", file=sys.stderr)


def switch_over_rest(
    kernel_name: str, connection: Path, env: Mapping[str, str], *, timeout: float = 120.0
) -> SwitchResult:
    """``PATCH /api/sessions/{id}`` on the server that owns the kernel of ``connection``.

    Finding the session and checking the kernel name happen now, so their errors reach the cell;
    the PATCH itself is sent from a thread, because the server answers it only after shutting this
    kernel down, which it cannot do cleanly while the cell is still waiting for the answer.
    """
    server, session_id = locate_session(connection, env)
    _check_kernelspec(server, kernel_name, timeout)
    session_url = f"{server.url}api/sessions/{session_id}"
    threading.Thread(
        target=_patch_session,
        args=(server, session_url, kernel_name, timeout),
        name="pyvariant-switch",
        daemon=True,
    ).start()
    return SwitchResult(
        kernel_name, "rest", f"asked {session_url} to start {kernel_name}; this kernel then stops"
    )


def _server_message(response: Any) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return f"HTTP {response.status_code} {response.text[:200]}"
