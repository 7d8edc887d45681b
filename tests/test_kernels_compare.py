"""`kernel compare A B`: the fixed workload runs in both kernels, from a terminal and from a kernel."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from pbs_fixture import World

from jupyter_pyvariant.kernels import KernelError
from jupyter_pyvariant.kernels._workload import BENCHMARKS
from jupyter_pyvariant.kernels.compare import compare_kernels

FIRST, SECOND = "compare-a", "compare-b"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the fixture interpreter is Debian's CPython"),
    pytest.mark.world(kernels=(FIRST, SECOND)),
]


def _check(result: dict[str, Any]) -> None:
    assert result["first"]["kernel"] == FIRST and result["second"]["kernel"] == SECOND
    for side in ("first", "second"):
        assert result[side]["python"] == "3.11.2"  # the fixture interpreter, not the test's own
        assert set(result[side]["seconds"]) == set(BENCHMARKS)
        assert all(seconds > 0 for seconds in result[side]["seconds"].values())
    assert all(ratio > 0 for ratio in result["ratios"].values())
    assert math.isfinite(result["speedup"]) and result["speedup"] > 0
    assert "as fast as" in result["summary"]


def test_compare_from_the_command_line(world: World) -> None:
    result = world.cli("kernel", "compare", FIRST, SECOND, "--rounds", "1", "--json")
    _check(json.loads(result.stdout))


def test_compare_from_inside_a_kernel(world: World) -> None:
    """The magic starts two more kernels from a kernel whose own event loop is running."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name=FIRST, startup_timeout=120, cwd=str(world.root))
    chunks: list[str] = []
    try:
        reply = client.execute_interactive(
            f"%pyvariant kernel compare {FIRST} {SECOND} --rounds 1 --json",
            timeout=300,
            output_hook=lambda m: (
                m["msg_type"] == "stream"
                and m["content"]["name"] == "stdout"
                and chunks.append(m["content"]["text"])
            ),
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok"
    _check(json.loads("".join(chunks)))


def test_an_unknown_kernel_is_named_in_the_error(world: World) -> None:
    result = world.cli("kernel", "compare", FIRST, "no-such-kernel", "--rounds", "1", check=False)
    assert result.returncode == 1
    assert "no kernel named 'no-such-kernel'" in result.stderr


def test_a_kernel_whose_interpreter_is_gone_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    spec = tmp_path / "kernels" / "gone"
    spec.mkdir(parents=True)
    argv = [str(tmp_path / "deleted-venv" / "bin" / "python"), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "gone", "language": "python"})
    )
    with pytest.raises(KernelError, match="'gone' cannot be started"):
        compare_kernels("gone", FIRST, rounds=1)
