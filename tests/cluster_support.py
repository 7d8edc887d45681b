"""A real Dask cluster for the tests: a ``dask scheduler`` process and ``dask worker`` processes,
each worker started from its own virtual environment and replaying a recorded CPU.

Every process gets its own session, so that stopping it stops its children too (a worker's nanny
and the worker it spawned); each writes its log to a file that a failing wait shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from variant_wheels import fresh_venv

RECORDINGS = Path(__file__).parent / "data" / "cpuinfo"
DEADLINE_S = 600.0
"""How long a wait for a state may take on a busy machine before it fails."""


def wait_for(condition: Callable[[], Any], what: str, log: Callable[[], str] = str) -> Any:
    """Poll ``condition`` until it returns something true, and return that; fail past the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {DEADLINE_S:g} s\n{log()}")
        time.sleep(0.1)  # the poll interval of a state wait, not a guess at how long anything takes
    return value


def replayed(folder: Path, recording: str) -> dict[str, str]:
    """The variables that make a process see the recorded machine's CPU (and no GPU: an empty sysfs)."""
    root = folder / f"machine-{recording}"
    (root / "proc").mkdir(parents=True, exist_ok=True)
    (root / "sys").mkdir(exist_ok=True)
    (root / "proc" / "cpuinfo").write_bytes((RECORDINGS / recording).read_bytes())
    return {"PYVARIANT_PROCFS": str(root / "proc"), "PYVARIANT_SYSFS": str(root / "sys")}


def worker_venv(path: Path) -> Path:
    """A fresh venv that also sees the test environment's packages (distributed, this project),
    after its own: what the sync installs lands in, and is imported from, the venv itself."""
    python = fresh_venv(path)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parent_sites = [p for p in sys.path if p.endswith("site-packages")]
    Path(purelib, "zz_parent_env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parent_sites)
    )
    return python


@dataclass
class Process:
    """A started process with its own session and log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit status {self.popen.poll()}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )

    def stop(self) -> None:
        """SIGTERM to the whole session, then SIGKILL to whatever of it is left (a nanny's worker may
        outlive the nanny by a moment)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


def start(name: str, argv: list[str], env: Mapping[str, str], logs: Path) -> Process:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    return Process(name, popen, log)


@dataclass
class Cluster:
    """A scheduler on loopback and the workers started against it, stopped by :meth:`close`."""

    folder: Path
    scheduler: Process | None = None
    address: str = ""
    workers: dict[str, Process] = field(default_factory=dict)

    def logs(self) -> str:
        processes = [p for p in (self.scheduler, *self.workers.values()) if p is not None]
        return "\n".join(p.log_tail() for p in processes)

    def start_scheduler(self) -> str:
        scheduler_file = self.folder / "scheduler.json"
        argv = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
        argv += ["--no-dashboard", "--scheduler-file", str(scheduler_file)]
        self.scheduler = start("scheduler", argv, os.environ, self.folder / "logs")

        def address() -> str | None:
            assert self.scheduler is not None
            if self.scheduler.popen.poll() is not None:
                raise AssertionError(f"the scheduler exited\n{self.logs()}")
            try:
                return str(json.loads(scheduler_file.read_text())["address"])
            except (OSError, ValueError, KeyError):
                return None  # not written yet, or half written

        self.address = wait_for(address, "the scheduler's address", self.logs)
        return self.address

    def start_worker(self, name: str, python: Path, env: Mapping[str, str], *options: str) -> Process:
        """``dask worker`` (with its nanny) of ``python``'s environment, named ``name``."""
        argv = [str(python), "-m", "distributed.cli.dask_worker", self.address, "--name", name]
        argv += ["--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1", "--no-dashboard"]
        argv += ["--memory-limit", "0", "--local-directory", str(self.folder / f"space-{name}"), *options]
        process = start(f"worker-{name}", argv, {**os.environ, **env}, self.folder / "logs")
        self.workers[name] = process
        return process

    def close(self) -> None:
        for process in [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]:
            process.stop()


def cluster(folder: Path) -> Iterator[Cluster]:
    """A started scheduler for a pytest fixture (``yield from cluster(...)``); every process it
    started is stopped at the end, whatever the test did."""
    running = Cluster(folder)
    try:
        running.start_scheduler()
        yield running
    finally:
        running.close()


# --------------------------------------------------------------------------------------------------
# Run on the workers (the test module pickles these by value: the workers cannot import tests/)


def imported_simdinfo() -> dict[str, Any]:
    """What this worker process imports as simdinfo, and from which environment."""
    import simdinfo

    return {
        "build": simdinfo.build(),
        "macros": simdinfo.isa_macros(),
        "prefix": sys.prefix,
        "file": simdinfo.__file__,
    }


def synced(dask_worker: Any) -> Any:
    """The plugin's outcome on this worker (None until its sync has ended)."""
    from jupyter_pyvariant.cluster.dask import worker_sync

    return worker_sync(dask_worker)
