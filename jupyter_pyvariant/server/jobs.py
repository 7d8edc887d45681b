"""Background jobs: long library calls (provisioning a kernel) run in a worker process.

A job is a child process (:mod:`.worker`) rather than a thread, for three reasons: cancelling is
a signal to its process group, which also stops the downloads and installers it started; the
library's progress, prints and crashes stay out of the server's process; and the job runs exactly
the code path of ``pyvariant kernel install``. The worker reports progress as JSON lines on stderr
and its result as JSON on stdout; this module folds those into immutable :class:`Job` snapshots
that the REST handlers serve. Jobs wait for a free slot (``pending``) so two provisionings do not
compete for the same CPU and disk; the finished ones are kept, newest last, up to a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

from ..errors import PyvariantError

JobState = Literal["pending", "running", "succeeded", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
LOG_TAIL = 200
MAX_RUNNING = 1
KEEP_FINISHED = 50
CANCEL_GRACE_S = 20.0
_LINE_LIMIT = 1 << 20

ResultReader = Callable[[Any], Mapping[str, Any]]
"""Turns the worker's JSON result into the job's ``result`` (raises ValueError when it cannot)."""


class JobFinished(PyvariantError):
    """The job already ended; it cannot be cancelled any more."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JobProgress:
    """How far the current phase is: ``done`` of ``total`` (None: unknown) and what it is doing."""

    done: float = 0.0
    total: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Job:
    """One snapshot of a job; every change makes a new one."""

    id: str
    kind: str
    request: Mapping[str, Any]
    state: JobState = "pending"
    progress: JobProgress = JobProgress(message="waiting for the kernel being set up before it")
    log: tuple[str, ...] = ()
    result: Mapping[str, Any] | None = None
    error: str | None = None
    created: str = field(default_factory=_now)
    finished: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "request": dict(self.request),
            "progress": {
                "done": self.progress.done,
                "total": self.progress.total,
                "message": self.progress.message,
            },
            "log": list(self.log),
            "result": None if self.result is None else dict(self.result),
            "error": self.error,
            "created": self.created,
            "finished": self.finished,
        }

    def logged(self, *lines: str) -> Job:
        return replace(self, log=(*self.log, *lines)[-LOG_TAIL:])


@dataclass(frozen=True)
class _Worker:
    """The command line of a job's worker and what it adds to the environment."""

    argv: list[str]
    env: dict[str, str]


@dataclass
class _Run:
    """The live side of a job: its task, its process once started, whether a cancel was asked."""

    task: asyncio.Task[None] | None = None
    process: asyncio.subprocess.Process | None = None
    cancel_asked: bool = False
    last_error: str | None = None
    last_stray_line: str | None = None


class JobManager:
    """Starts, follows and cancels worker processes; answers job snapshots."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(MAX_RUNNING)
        self._jobs: dict[str, Job] = {}
        self._runs: dict[str, _Run] = {}

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every job kept, oldest first."""
        return list(self._jobs.values())

    def active(self) -> list[Job]:
        return [job for job in self._jobs.values() if job.state not in FINISHED]

    def submit(
        self,
        kind: str,
        request: Mapping[str, Any],
        verb_args: Sequence[str],
        read_result: ResultReader,
        *,
        env: Mapping[str, str] | None = None,
        notes: Sequence[str] = (),
    ) -> Job:
        """Queue a worker running ``pyvariant <verb_args>`` with ``env`` added to the server's
        environment; ``notes`` start the job's log. Returns the pending job at once."""
        job = Job(id=uuid.uuid4().hex, kind=kind, request=dict(request), log=tuple(notes))
        self._jobs[job.id] = job
        run = self._runs[job.id] = _Run()
        worker = _Worker(
            [sys.executable, "-m", "jupyter_pyvariant.server.worker", *verb_args], dict(env or {})
        )
        run.task = asyncio.get_running_loop().create_task(self._run(job.id, worker, read_result))
        self._forget_old()
        return job

    async def cancel(self, job_id: str) -> Job:
        """Stop the job and wait until its worker has cleaned up and exited; KeyError if unknown."""
        job = self._jobs[job_id]
        run = self._runs.get(job_id)
        if job.state in FINISHED or run is None or run.task is None:
            raise JobFinished(f"job {job_id} already {job.state}")
        run.cancel_asked = True
        if run.process is None:
            run.task.cancel()  # still waiting for a slot: nothing was started
        else:
            await _stop(run.process)
        with contextlib.suppress(asyncio.CancelledError):
            await run.task
        return self._jobs[job_id]

    # -- the job's task ----------------------------------------------------------------------------

    def _update(self, job_id: str, **changes: Any) -> Job:
        job = self._jobs[job_id] = replace(self._jobs[job_id], **changes)
        return job

    async def _run(self, job_id: str, worker: _Worker, read_result: ResultReader) -> None:
        run = self._runs[job_id]
        try:
            async with self._slots:
                await self._work(job_id, run, worker, read_result)
        except asyncio.CancelledError:
            self._finish(job_id, "cancelled", progress=JobProgress(message="cancelled before it started"))
        except Exception as exc:  # the worker could not be started or followed: it must not run on
            if run.process is not None and run.process.returncode is None:
                await _stop(run.process)
            self._finish(job_id, "failed", error=f"the job broke down: {exc}")
        finally:
            self._runs.pop(job_id, None)

    async def _work(self, job_id: str, run: _Run, worker: _Worker, read_result: ResultReader) -> None:
        run.process = process = await asyncio.create_subprocess_exec(
            *worker.argv,
            env={**os.environ, **worker.env},
            stdin=asyncio.subprocess.PIPE,  # closed when the server goes: the worker then cancels itself
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: a cancel reaches the installers it runs
            limit=_LINE_LIMIT,
        )
        self._update(job_id, state="running", progress=JobProgress(message="starting"))
        assert process.stdout is not None and process.stderr is not None
        stdout, _ = await asyncio.gather(process.stdout.read(), self._follow(job_id, run, process.stderr))
        status = await process.wait()
        if status == 0:  # also when a cancel came too late: the job did finish, and says so
            try:
                result = read_result(json.loads(stdout))
            except ValueError as exc:
                self._finish(job_id, "failed", error=f"the job's result could not be read: {exc}")
            else:
                self._finish(job_id, "succeeded", result=result, progress=JobProgress(1, 1, "done"))
        elif run.cancel_asked:
            self._finish(job_id, "cancelled", progress=JobProgress(message="cancelled"))
        else:
            self._finish(job_id, "failed", error=_failure(status, run))

    async def _follow(self, job_id: str, run: _Run, stream: asyncio.StreamReader) -> None:
        """Fold the worker's event lines into the job's progress and log."""
        async for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                run.last_stray_line = line
                self._jobs[job_id] = self._jobs[job_id].logged(line)
                continue
            self._apply(job_id, run, event)

    def _apply(self, job_id: str, run: _Run, event: Mapping[str, Any]) -> None:
        job = self._jobs[job_id]
        label, message = str(event.get("label", "")), str(event.get("message") or "")
        kind = event.get("event")
        if kind == "progress":
            total = event.get("total")
            progress = JobProgress(
                float(event.get("done") or 0), None if total is None else float(total), message or label
            )
            job = replace(job, progress=progress)
            if message and (not job.log or job.log[-1] != message):
                job = job.logged(message)
        elif kind == "retry":  # the bar stays where it is; its words say what is happening
            job = replace(job, progress=replace(job.progress, message=message)).logged(message)
        elif kind == "done":
            job = job.logged(f"{label}: {message}" if message else label)
        elif kind == "error":
            text = str(event.get("text", ""))
            run.last_error = text
            job = job.logged(text)
        self._jobs[job_id] = job

    def _finish(self, job_id: str, state: JobState, **changes: Any) -> None:
        job = self._update(job_id, state=state, finished=_now(), **changes)
        last = state if job.error is None else f"{state}: {job.error}"
        if not job.log or job.log[-1] not in (last, job.error):  # the worker may have said it already
            self._jobs[job_id] = job.logged(last)

    def _forget_old(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.state in FINISHED]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]


def _failure(status: int, run: _Run) -> str:
    """The worker's own error line, else the last line it printed (a traceback's), else its status."""
    if run.last_error:
        return run.last_error.removeprefix("error: ")
    return run.last_stray_line or f"the worker exited with status {status}"


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the worker's group (it cleans up and exits), SIGKILL to what is left after a grace."""
    _signal_group(process, signal.SIGTERM)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), CANCEL_GRACE_S)
    _signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signum)
        else:  # pragma: no cover - Windows has no process groups to signal
            process.send_signal(signum)
