"""Ask a running kernel for its own host report, from inside the kernel.

A kernel may run on another machine than the server (gateways, provisioners, SSH), so the server's
report says nothing about it. The question travels as a silent ``execute_request`` with one user
expression, through the client the kernel manager gives for that kernel (a local ZMQ client, or the
gateway's websocket client for a remote kernel); the kernel evaluates it between cells and answers
on the shell channel. Nothing lands in the user's namespace or history. A kernel that does not
answer in time, cannot import jupyter_pyvariant, or is not an IPython kernel yields a report with
``status: "unknown"`` and the reason, never an error: the UI shows "unknown", not a failure.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import queue
from collections.abc import Mapping
from typing import Any

DEFAULT_TIMEOUT_S = 10.0
SCOPE = "kernel-host"
_KEY = "pyvariant_host_report"
# A JSON string: the one value whose text/plain form (its repr) every Python kernel returns intact.
_EXPRESSION = (
    "__import__('json').dumps(__import__('jupyter_pyvariant.host', fromlist=['report'])"
    ".report().to_dict(), default=str)"
)


def unknown(reason: str) -> dict[str, Any]:
    """The answer when the kernel's report cannot be had."""
    return {"scope": SCOPE, "status": "unknown", "reason": reason}


async def ask_kernel(kernel_manager: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """The host report of the kernel ``kernel_manager`` runs, or :func:`unknown` with the reason."""
    from jupyter_core.utils import ensure_async

    client = kernel_manager.client()
    try:
        await ensure_async(
            client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        )
        msg_id = client.execute(
            "", silent=True, store_history=False, user_expressions={_KEY: _EXPRESSION}, allow_stdin=False
        )
        reply = await _reply_to(client, msg_id, timeout_s)
    except (OSError, RuntimeError) as exc:
        return unknown(f"the kernel could not be reached: {exc}")
    finally:
        with contextlib.suppress(Exception):
            await ensure_async(client.stop_channels())
    if reply is None:
        return unknown(f"the kernel did not answer within {timeout_s:g} s")
    return read_reply(reply.get("content") or {})


async def _reply_to(client: Any, msg_id: str, timeout_s: float) -> Mapping[str, Any] | None:
    """The shell reply to ``msg_id``, or None when none came before the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (remaining := deadline - loop.time()) > 0:
        try:
            reply: Mapping[str, Any] = await client.get_shell_msg(timeout=remaining)
        except (queue.Empty, asyncio.TimeoutError, TimeoutError):
            return None
        if (reply.get("parent_header") or {}).get("msg_id") == msg_id:
            return reply
    return None


def read_reply(content: Mapping[str, Any]) -> dict[str, Any]:
    """The report inside an ``execute_reply``'s user expression, or why there is none."""
    if content.get("status") != "ok":
        return unknown(f"the kernel refused the request: {_error_text(content)}")
    answer = (content.get("user_expressions") or {}).get(_KEY)
    if not isinstance(answer, Mapping):
        return unknown("the kernel does not evaluate user expressions (not an IPython kernel?)")
    if answer.get("status") != "ok":
        if answer.get("ename") in ("ModuleNotFoundError", "ImportError"):
            return unknown(f"jupyter_pyvariant is not installed in this kernel ({_error_text(answer)})")
        return unknown(f"the report failed in the kernel: {_error_text(answer)}")
    text = (answer.get("data") or {}).get("text/plain", "")
    try:
        report = json.loads(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError) as exc:
        return unknown(f"the kernel's answer is not a report ({exc.__class__.__name__}: {text[:80]!r})")
    if not isinstance(report, dict):
        return unknown(f"the kernel's answer is not a report: {text[:80]!r}")
    from ..host.facts import HostFacts, HostReportError

    try:  # what the lab extension and the server decide by must read as a host's facts
        HostFacts.from_dict(report)
    except HostReportError as exc:
        return unknown(f"the kernel's answer is not a usable report ({exc})")
    return report


def _error_text(content: Mapping[str, Any]) -> str:
    return f"{content.get('ename', 'error')}: {content.get('evalue', '')}".rstrip(": ")
