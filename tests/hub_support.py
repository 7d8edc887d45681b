"""A real JupyterHub on loopback for the tests: the hub, configurable-http-proxy and one single-user
server per user, each a process of its own.

The hub uses the dummy authenticator (one password for every listed user) and the simple local
process spawner (each user's home is a folder under the deployment's root); the spawner declares
memory and CPU limits, which it passes on as ``MEM_LIMIT`` / ``CPU_LIMIT``. The database, the
cookie secret and the proxy's pid file live in that root too. The tests talk to the hub's REST API
with the token of a service that holds the admin scopes, and to each user's server through the
proxy with a token made for that user, as a script of theirs would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROXY_NAME = "configurable-http-proxy"
LOCAL_PROXY = ROOT / ".ci" / "node" / "node_modules" / ".bin" / PROXY_NAME
"""Where ``.ci/run`` installs the proxy (npm, into a folder git ignores)."""
PASSWORD = "pyvariant-hub-test"
ADMIN_SERVICE = "pyvariant-tests"
STARTUP_S = 600.0
"""An overall deadline for a state to be reached; the loops poll, they never wait a fixed time."""


class HubUnavailable(Exception):
    """The deployment cannot run on this machine; the message says why (a skip reason)."""


def proxy_command() -> Path:
    """configurable-http-proxy from ``.ci/run``'s folder, else from PATH."""
    found = LOCAL_PROXY if LOCAL_PROXY.is_file() else shutil.which(PROXY_NAME)
    if found is None:
        raise HubUnavailable(
            f"{PROXY_NAME} is not installed: "
            f"`npm install --prefix .ci/node {PROXY_NAME}@5.3.0` (as .ci/run does)"
        )
    return Path(found)


def _free_port() -> int:
    """A port free right now (the proxy and the hub need theirs before they start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Response:
    """A status, the headers (names in lower case) and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, token: str | None = None, body: Any = None) -> Response:
    """One request; HTTP errors are answers too (the tests look at their status)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=120) as answer:
            return Response(answer.status, _lowered(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, _lowered(error.headers.items()), error.read())


def _lowered(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names in lower case, as the proxy (HTTP/1.1 from node) sends them."""
    return {name.lower(): value for name, value in headers}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect (to the login page) is an answer the tests check, not one to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class HubUser:
    """A user whose server runs: its public URL (``…/user/<name>/``), a token and its home."""

    name: str
    url: str
    token: str
    home: Path

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Response:
        """A request to the user's server through the proxy (``token``: someone else's, or "" for none)."""
        return http(method, self.url + path, self.token if token is None else token, body)

    def get(self, path: str) -> Any:
        answer = self.call("GET", path)
        assert answer.status == 200, f"GET {self.url}{path}: {answer.status} {answer.body[:500]!r}"
        return answer.json()

    def execute(self, kernel_id: str, code: str) -> list[dict[str, Any]]:
        """Run ``code`` in one of the user's kernels over its websocket; the outputs' contents."""
        import websocket  # websocket-client, a dependency of jupyter_server

        url = self.url.replace("http://", "ws://", 1) + f"api/kernels/{kernel_id}/channels"
        connection = websocket.create_connection(
            url, header=[f"Authorization: token {self.token}"], timeout=STARTUP_S
        )
        try:
            msg_id = uuid.uuid4().hex
            connection.send(json.dumps(_execute_request(msg_id, code)))
            outputs: list[dict[str, Any]] = []
            while True:
                message = json.loads(connection.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind in ("stream", "display_data", "execute_result", "error"):
                    outputs.append({"msg_type": kind, **content})
                if kind == "status" and content["execution_state"] == "idle":
                    return outputs
        finally:
            connection.close()


def _execute_request(msg_id: str, code: str) -> dict[str, Any]:
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex}
    return {
        "header": {**header, "username": "", "version": "5.3", "date": ""},
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
        "channel": "shell",
        "buffers": [],
    }


@dataclass(frozen=True)
class Limits:
    """What the spawner declares: ``c.Spawner.mem_limit`` (bytes) and ``c.Spawner.cpu_limit``."""

    mem_bytes: int = 3 << 30
    cpus: float = 1.5


@dataclass(frozen=True)
class Hub:
    """A running deployment: its public URL (the proxy), the admin token and the root folder."""

    url: str
    admin_token: str
    root: Path
    log: Path
    limits: Limits = field(default_factory=Limits)

    def api(self, method: str, path: str, body: Any = None) -> Response:
        return http(method, f"{self.url}hub/api/{path}", self.admin_token, body)

    def home(self, name: str) -> Path:
        return self.root / "home" / name

    def start_server(self, name: str) -> HubUser:
        """Start ``name``'s server through the hub API, wait until the hub says it is ready, and
        give the user a token of their own."""
        answer = self.api("POST", f"users/{name}/server")
        assert answer.status in (201, 202, 400), f"starting {name}'s server: {answer.status} {answer.body!r}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            server = self.api("GET", f"users/{name}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                break
            if not server or time.monotonic() > deadline:
                raise AssertionError(f"{name}'s server did not start:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.2)  # polling interval of a state check, not a synchronisation
        token = self.api("POST", f"users/{name}/tokens", {"note": "tests"})
        assert token.status in (200, 201), f"token for {name}: {token.status} {token.body!r}"
        return HubUser(name, self.url.rstrip("/") + server["url"], token.json()["token"], self.home(name))


_CONFIG = """\
import json
c = get_config()  # noqa: F821
settings = json.loads({settings!r})
c.JupyterHub.bind_url = settings["public_url"]
c.JupyterHub.hub_bind_url = settings["hub_url"]
c.JupyterHub.db_url = "sqlite:///" + settings["root"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = settings["root"] + "/jupyterhub_cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = settings["password"]
c.Authenticator.allowed_users = set(settings["users"])
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.api_url = settings["proxy_api_url"]
c.ConfigurableHTTPProxy.pid_file = settings["root"] + "/proxy.pid"
c.JupyterHub.services = [{{"name": settings["service"], "api_token": settings["token"]}}]
c.JupyterHub.load_roles = [
    {{
        "name": settings["service"],
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
        "services": [settings["service"]],
    }}
]
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = settings["root"] + "/home/{{username}}"
c.Spawner.cmd = [settings["singleuser"]]
c.Spawner.args = settings["args"]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = settings["mem_limit"]
c.Spawner.cpu_limit = settings["cpu_limit"]
c.Spawner.start_timeout = c.Spawner.http_timeout = int(settings["timeout"])


def _per_user(key, template):
    def value(spawner):
        chosen = settings["user_environment"].get(spawner.user.name, {{}}).get(key, template)
        return chosen.format(username=spawner.user.name, home=spawner.home_dir)

    return value


c.Spawner.environment = {{key: _per_user(key, value) for key, value in settings["environment"].items()}}
"""


@contextmanager
def running_hub(
    root: Path,
    users: tuple[str, ...],
    environment: Mapping[str, str],
    *,
    user_environment: Mapping[str, Mapping[str, str]] | None = None,
    server_args: tuple[str, ...] = (),
    limits: Limits = Limits(),
) -> Iterator[Hub]:
    """Run the hub (and, through it, the proxy) until the block ends, then stop everything.

    ``environment`` goes into every single-user server as ``c.Spawner.environment``; ``{username}``
    and ``{home}`` in a value are the user's. ``user_environment`` replaces some of those values for
    some users (by name; an empty value is as good as unset for most variables).
    """
    proxy = proxy_command()
    root.mkdir(parents=True, exist_ok=True)
    public, token = f"http://127.0.0.1:{_free_port()}/", secrets.token_hex(24)
    settings = {
        "public_url": public,
        "hub_url": f"http://127.0.0.1:{_free_port()}",
        "proxy_api_url": f"http://127.0.0.1:{_free_port()}",
        "root": str(root),
        "password": PASSWORD,
        "users": list(users),
        "proxy": str(proxy),
        "service": ADMIN_SERVICE,
        "token": token,
        "singleuser": str(Path(sys.executable).with_name("jupyterhub-singleuser")),
        "args": ["--allow-root", *server_args],
        "mem_limit": limits.mem_bytes,
        "cpu_limit": limits.cpus,
        "timeout": STARTUP_S,
        "environment": dict(environment),
        "user_environment": {name: dict(values) for name, values in (user_environment or {}).items()},
    }
    config = root / "jupyterhub_config.py"
    config.write_text(_CONFIG.format(settings=json.dumps(settings)), encoding="utf-8")
    log_path = root / "hub.log"
    # The hub finds node for the proxy's script on PATH and passes PATH and PYTHONPATH on to the
    # servers (its env_keep), so they import the code under test; nothing else of this process's
    # environment is the hub's business.
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        **{key: os.environ[key] for key in ("PYTHONPATH",) if key in os.environ},
    }
    with log_path.open("w") as log:
        argv = [sys.executable, "-m", "jupyterhub", "-f", str(config)]
        process = subprocess.Popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        hub = Hub(public, token, root, log_path, limits)
        try:
            _wait_for_api(hub, process)
            yield hub
        finally:
            _stop(process, root)


def _wait_for_api(hub: Hub, process: subprocess.Popen[bytes]) -> None:
    """Until ``/hub/api/`` answers through the proxy (so the hub and the proxy are both up)."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the hub exited with {process.returncode}:\n{hub.log.read_text()[-4000:]}")
        try:
            if http("GET", f"{hub.url}hub/api/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling interval of a state check, not a synchronisation
    raise AssertionError(f"the hub did not answer within {STARTUP_S} s:\n{hub.log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes], root: Path) -> None:
    """SIGTERM: the hub stops the users' servers and the proxy itself; whatever it left running in
    the deployment's folders (a process whose working folder is there) is killed after it."""
    process.terminate()
    try:
        process.wait(timeout=STARTUP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in _processes_in(root):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _processes_in(root: Path) -> list[int]:
    """This user's processes whose working folder is under ``root`` (the proxy, servers, kernels)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            found.append(int(entry.name))
    return found
