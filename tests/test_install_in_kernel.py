"""`%pyvariant` inside a real kernel, whose environment differs from a terminal's (ipykernel forces
colour on for its children, for one)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from variant_wheels import IndexServer

from jupyter_pyvariant.host import report

pytestmark = pytest.mark.x86_64_linux(reason="the test package is compiled for x86-64 Linux")


def test_plan_magic_in_a_kernel_sees_the_variant(simd_index: IndexServer, tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "UV_INDEX_URL": simd_index.url, "PYVARIANT_CACHE_DIR": str(tmp_path / "cache")}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    streams: list[str] = []

    def collect(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            streams.append(msg["content"]["text"])

    try:
        reply = kc.execute_interactive(
            "%load_ext jupyter_pyvariant\n%pyvariant plan simdinfo --json", timeout=120, output_hook=collect
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok"
    plan = json.loads("".join(streams))
    level = str(report().to_dict()["cpu"]["isa_level"]).removeprefix("x86-64-")
    assert [(p["name"], p["variant_label"]) for p in plan["packages"]] == [("simdinfo", f"x86_64_{level}")]
