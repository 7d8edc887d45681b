"""Where the index view listens: one loopback port per user, kept from run to run.

Installers key their caches by index URL, so a view at the same address every run lets a second
install of the same files download nothing.
"""

from __future__ import annotations

__all__ = ["ViewAddress"]

import random
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ViewAddress:
    """Where the view listens: the same loopback port from run to run, kept in the cache folder.

    The port is drawn once per user (below the kernel's ephemeral range, so outgoing connections
    seldom hold it) and written to ``state_dir/view-port``. When it is taken (another install of
    this user is running, or another program holds it), the next few ports are tried in turn, so
    a second concurrent install also keeps a stable address; only when all are taken does the view
    take any free port for this run.
    """

    state_dir: Path | None
    tries: int = 8

    def preferred(self) -> int | None:
        if self.state_dir is None:
            return None
        path = self.state_dir / "view-port"
        try:
            port = int(path.read_text(encoding="ascii").strip())
            if 1024 <= port < 65536:
                return port
        except (OSError, ValueError):
            pass
        port = random.SystemRandom().randrange(20000, 32000)
        try:
            from .._atomic import write_text_atomic

            write_text_atomic(path, f"{port}\n")
        except OSError:
            pass  # an unwritable cache only costs the installer's cache hits
        return port

    def listen(self) -> socket.socket:
        """A listening loopback socket on the stable port, else on a free one."""
        first = self.preferred()
        ports = [first + step for step in range(self.tries) if first + step < 65536] if first else []
        for port in [*ports, 0]:
            try:
                return _listen(port)
            except OSError:
                if port == 0:
                    raise
        raise AssertionError("unreachable: port 0 either binds or raises")


def _listen(port: int) -> socket.socket:
    """A loopback socket on ``port``, listening: an installer may connect at once, and its
    connections wait in the backlog until the server takes them. The backlog is long for installers
    that open many connections at once (a short one drops the rest, and each waits a 1 s SYN retry)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # the last run's closed connections may linger in TIME_WAIT on the stable port
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener
