"""A Dask worker plugin that syncs one ``pylock.toml`` on every worker, present and future.

On the model of distributed's ``PipInstall``: the plugin carries the lock's text to each worker,
which runs ``python -m jupyter_pyvariant sync`` in its own interpreter, so each worker's own CPU and
GPUs decide which of the locked variants it gets. A semaphore named for the host lets one worker of
a machine install at a time (workers of one machine often share one environment), and ``restart``
restarts a worker whose environment changed, so that its imports see the new files. The sync runs in
a thread: the worker keeps answering the scheduler while a large download runs.

Each worker records what it got on the scheduler (its metadata, under the plugin's token) before its
setup ends, so the client reads every present worker's answer as soon as the registration returns,
even from workers that are restarting by then.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from . import NoCluster, SyncFailed

if TYPE_CHECKING:
    from distributed import Client, Worker

logger = logging.getLogger("distributed.jupyter_pyvariant")
"""Under distributed's logger, so that the lines show in the worker's log as its own do."""

PLUGIN_NAME = "pyvariant-sync"
"""One name for every lock: registering another lock replaces the one before on every worker."""


@dataclass(frozen=True)
class InstalledVariant:
    name: str
    version: str
    label: str


@dataclass(frozen=True)
class WorkerSync:
    """What one worker got: its CPU level, what the sync changed, and the variants now installed."""

    name: str
    address: str
    python: str
    cpu_level: str
    changed: tuple[str, ...]
    variants: tuple[InstalledVariant, ...]
    restarting: bool
    stale: tuple[str, ...]
    """Modules of changed packages this worker had already imported: they run the old code until it
    restarts."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "python": self.python,
            "cpu_level": self.cpu_level,
            "changed": list(self.changed),
            "variants": [
                {"name": v.name, "version": v.version, "variant_label": v.label} for v in self.variants
            ],
            "restarting": self.restarting,
            "stale": list(self.stale),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerSync:
        """The record a worker of this same plugin wrote with :meth:`to_dict`."""
        variants = tuple(
            InstalledVariant(v["name"], v["version"], v["variant_label"]) for v in data["variants"]
        )
        return cls(
            str(data["name"]),
            str(data["address"]),
            str(data["python"]),
            str(data["cpu_level"]),
            tuple(data["changed"]),
            variants,
            bool(data["restarting"]),
            tuple(data["stale"]),
        )


class PyvariantSync(WorkerPlugin):
    """Sync ``lock_text`` (a ``pylock.toml``) into every worker's own environment.

    ``index_url`` is where the locked files' credentials are found again (as for ``pyvariant sync``);
    ``installer`` is ``"uv"`` or ``"pip"`` (default: the worker's ``$PYVARIANT_INSTALLER``, else uv).
    After :meth:`setup`, :attr:`outcome` holds what this worker got.
    """

    name = PLUGIN_NAME

    def __init__(
        self,
        lock_text: str,
        *,
        index_url: str | None = None,
        installer: str | None = None,
        restart: bool = False,
    ) -> None:
        import uuid

        self.lock_text = lock_text
        self.index_url = index_url
        self.installer = installer
        self.restart = restart
        self.token = uuid.uuid4().hex
        """Names this registration's records on the scheduler."""
        self.outcome: WorkerSync | None = None

    def sync_argv(self, lock_path: str) -> list[str]:
        """The command each worker runs: the sync verb in the worker's own interpreter."""
        argv = [sys.executable, "-m", "jupyter_pyvariant", "sync", lock_path, "--json"]
        return argv + (["--installer", self.installer] if self.installer else [])

    def sync_environment(self) -> dict[str, str]:
        """The worker's environment, with the index as uv users set it: an index URL may carry
        credentials, which a command line would show to every user of the machine."""
        import os

        return {**os.environ, **({"UV_DEFAULT_INDEX": self.index_url} if self.index_url else {})}

    async def setup(self, worker: Worker) -> None:
        from distributed.semaphore import Semaphore

        logger.info("pyvariant: syncing the lock into %s", sys.executable)
        semaphore = await Semaphore(  # type: ignore[no-untyped-call]
            max_leases=1,
            name=f"{PLUGIN_NAME}-{socket.gethostname()}",
            scheduler_rpc=worker.scheduler,
            loop=worker.loop,
        )
        async with semaphore:
            result = await asyncio.to_thread(self._sync)
        import importlib

        importlib.invalidate_caches()  # imports on this worker find the new files
        outcome = self.outcome = await asyncio.to_thread(self._outcome, worker, result)
        await self._record(worker, outcome)
        _log(outcome)
        if outcome.restarting:
            worker.loop.add_callback(worker.close_gracefully, restart=True, reason="pyvariant-sync")

    async def _record(self, worker: Worker, outcome: WorkerSync) -> None:
        """Keep what this worker got on the scheduler, for the client; a restarted worker (same name,
        in sync by then) keeps the record of the sync that made it restart."""
        record = [PLUGIN_NAME, self.token, outcome.name]
        if await worker.scheduler.get_metadata(keys=record, default=None) is None:
            await worker.scheduler.set_metadata(keys=record, value=outcome.to_dict())

    def _outcome(self, worker: Worker, result: Mapping[str, Any]) -> WorkerSync:
        """What this worker got, from the sync's answer and the environment as it is now."""
        from ..host import report
        from ..install.runner import imported_modules

        names = [str(change["name"]) for change in result.get("changes", ())]
        restarting = bool(self.restart and names and worker.nanny)
        return WorkerSync(
            name=str(worker.name),
            address=worker.address,
            python=sys.executable,
            cpu_level=str(report().cpu.get("isa_level", "unknown")),
            changed=tuple(f"{c['name']}=={c['version']}" for c in result.get("changes", ())),
            variants=_installed_variants(),
            restarting=restarting,
            stale=() if restarting else tuple(imported_modules(names)),
        )

    def _sync(self) -> dict[str, Any]:
        """Run the sync on the lock written to a scratch folder; its ``--json`` answer."""
        from .._process import ToolFailed, run
        from .._scratch import scratch_folder

        with scratch_folder("pyvariant-dask-") as folder:
            path = folder / "pylock.toml"
            path.write_text(self.lock_text, encoding="utf-8")
            try:
                finished = run(
                    self.sync_argv(str(path)), "pyvariant sync", env=self.sync_environment(), merge=False
                )
            except ToolFailed as exc:
                error = _json_error(exc.finished.lines if exc.finished else ())
                message = (
                    f"pyvariant sync failed on {socket.gethostname()} ({sys.executable}): {error or exc}"
                )
                logger.error("%s", message)
                raise SyncFailed(message) from None
        answer: dict[str, Any] = json.loads("\n".join(finished.lines))
        return answer


def _log(outcome: WorkerSync) -> None:
    """What the sync did, in the worker's log."""
    shown = ", ".join(f"{v.name} {v.version} ({v.label})" for v in outcome.variants) or "none"
    done = f"installed {', '.join(outcome.changed)}" if outcome.changed else "already in sync"
    logger.info("pyvariant: %s; installed variants: %s", done, shown)
    if outcome.stale:
        logger.warning("pyvariant: %s already imported here: restart to use them", ", ".join(outcome.stale))
    if outcome.restarting:
        logger.info("pyvariant: restarting this worker so that its imports see the new packages")


def _json_error(lines: Sequence[str]) -> str | None:
    """The ``error`` of a failed verb's ``--json`` answer (None when it printed no such answer)."""
    try:
        answer = json.loads("\n".join(lines))
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, str) else None


def _installed_variants() -> tuple[InstalledVariant, ...]:
    """The variant distributions in this worker's environment, as ``pyvariant list`` shows them."""
    from .._process import run

    argv = [sys.executable, "-m", "jupyter_pyvariant", "list", "--variants-only", "--json"]
    listing = json.loads("\n".join(run(argv, "pyvariant list", merge=False).lines))
    return tuple(
        InstalledVariant(d["name"], d["version"], d["variant_label"])
        for d in listing["distributions"]
        if d.get("variant_label")
    )


def worker_sync(dask_worker: Worker) -> WorkerSync | None:
    """What this worker got from the plugin (None until its setup ends): ``client.run(worker_sync)``."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    return plugin.outcome if isinstance(plugin, PyvariantSync) else None


# --------------------------------------------------------------------------------------------------
# The client's side


def connect(scheduler: str | None) -> tuple[Client, bool]:
    """A client of ``scheduler``, else this session's current one; and whether the caller owns it
    (and so closes it)."""
    from distributed import Client, get_client

    if scheduler:
        try:
            return Client(scheduler, set_as_default=False), True  # type: ignore[no-untyped-call]
        except OSError as exc:
            raise NoCluster(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        client = get_client()
    except ValueError:
        raise NoCluster(
            "no Dask client in this session: create one first (from distributed import Client; "
            "client = Client(...)) or give the scheduler's address with --scheduler"
        ) from None
    if client.asynchronous:
        raise NoCluster(
            "the current Dask client is asynchronous: await client.register_plugin(PyvariantSync(...))"
        )
    return client, False


def sync_workers(client: Client, plugin: PyvariantSync) -> tuple[WorkerSync, ...]:
    """Register ``plugin`` for present and future workers; what each present worker got, by name.

    A lock that fails on a worker, or that a worker cannot even load, is unregistered again: workers
    that join later would only fail too.
    """
    client.set_metadata([PLUGIN_NAME], {})  # type: ignore[no-untyped-call]  # earlier locks' records go
    try:
        client.register_plugin(plugin)
    except SyncFailed:
        _unregister(client)
        raise
    except OSError:  # the scheduler itself did not answer
        raise
    except Exception as exc:  # what else a worker raised comes back as a plain Exception with its text
        _unregister(client)
        raise SyncFailed(
            f"a worker could not run the sync ({exc}); each worker needs jupyter-pyvariant "
            "installed in its own environment"
        ) from None
    records = client.get_metadata([PLUGIN_NAME, plugin.token], {})  # type: ignore[no-untyped-call]
    return tuple(WorkerSync.from_dict(record) for _, record in sorted(records.items()))


def _unregister(client: Client) -> None:
    """Drop the plugin from the scheduler, so that workers joining later do not run it."""
    import contextlib

    with contextlib.suppress(KeyError):  # a worker that could not load it has none to remove
        client.unregister_worker_plugin(PLUGIN_NAME)  # type: ignore[no-untyped-call]
