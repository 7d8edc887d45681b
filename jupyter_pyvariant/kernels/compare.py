"""``kernel compare A B``: the same short workload in two kernels, and how much faster one is.

The measurement runs where the user is: in the two kernels themselves, started by jupyter_client
like any notebook kernel, on this machine. The workload (``_workload.py``) is sent as source, so a
kernel needs nothing but the standard library. Rounds alternate between the kernels, so a burst of
load elsewhere on the machine hurts both alike, and each benchmark keeps its best round.
"""

from __future__ import annotations

__all__ = ["compare_kernels"]

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from . import KernelError

_NAMESPACE = "__pyvariant_compare"
_START_TIMEOUT = 120.0
_ROUND_TIMEOUT = 300.0


@dataclass(frozen=True)
class KernelTiming:
    """One kernel's best time per benchmark, in seconds."""

    kernel: str
    python: str
    seconds: Mapping[str, float] = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kernel": self.kernel, "python": self.python, "seconds": dict(self.seconds)}


@dataclass(frozen=True)
class Comparison:
    """Two kernels on one workload; ``speedup`` > 1 means ``second`` is faster."""

    first: KernelTiming
    second: KernelTiming

    def ratios(self) -> dict[str, float]:
        return {name: self.first.seconds[name] / self.second.seconds[name] for name in self.first.seconds}

    @property
    def speedup(self) -> float:
        """Geometric mean of the per-benchmark ratios (first time / second time)."""
        ratios = list(self.ratios().values())
        return math.exp(sum(math.log(r) for r in ratios) / len(ratios))

    def summary(self) -> str:
        faster, slower, factor = (self.second, self.first, self.speedup)
        if factor < 1:
            faster, slower, factor = self.first, self.second, 1 / factor
        count = len(self.ratios())
        return f"{faster.kernel} is {factor:.2f}x as fast as {slower.kernel} (geometric mean of {count})"

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [
            (
                name,
                _ms(self.first.seconds[name]),
                _ms(self.second.seconds[name]),
                f"{r:.2f}x",
            )
            for name, r in self.ratios().items()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first.to_dict(),
            "second": self.second.to_dict(),
            "ratios": self.ratios(),
            "speedup": self.speedup,
            "summary": self.summary(),
        }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _workload_source() -> str:
    return resources.files(__package__).joinpath("_workload.py").read_text(encoding="utf-8")


class _Kernel:
    """A started kernel and a blocking client, with one way to run code and read its stdout."""

    def __init__(self, name: str, manager: Any, client: Any) -> None:
        self.name, self.manager, self.client = name, manager, client

    def run(self, code: str) -> str:
        chunks: list[str] = []
        errors: list[str] = []

        def collect(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream" and content.get("name") == "stdout":
                chunks.append(content["text"])
            elif msg["msg_type"] == "error":
                errors.append(f"{content.get('ename')}: {content.get('evalue')}")

        try:
            reply = self.client.execute_interactive(
                code, timeout=_ROUND_TIMEOUT, output_hook=collect, store_history=False
            )
        except TimeoutError:
            raise KernelError(f"kernel {self.name!r} did not finish within {_ROUND_TIMEOUT:g} s") from None
        if reply["content"].get("status") != "ok" or errors:
            raise KernelError(
                f"kernel {self.name!r} failed to run the workload: {'; '.join(errors) or reply}"
            )
        return "".join(chunks)


@contextmanager
def _started(name: str) -> Iterator[_Kernel]:
    from jupyter_client.kernelspec import NoSuchKernel
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name=name)
    try:
        manager.start_kernel()
    except NoSuchKernel:
        raise KernelError(f"no kernel named {name!r} (see: jupyter kernelspec list)") from None
    except OSError as exc:  # its interpreter is gone or cannot run
        raise KernelError(f"kernel {name!r} cannot be started: {exc}") from None
    client = manager.client()
    try:
        client.start_channels()
        try:
            client.wait_for_ready(timeout=_START_TIMEOUT)
        except RuntimeError as exc:  # only the start: errors of the caller's block keep their own words
            raise KernelError(f"kernel {name!r} did not start: {exc}") from None
        yield _Kernel(name, manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def compare_kernels(
    first: str, second: str, *, rounds: int = 3, on_round: Callable[[int, str], None] | None = None
) -> Comparison:
    """Run the workload ``rounds`` times in each kernel, alternating, and compare the best times."""
    setup = (
        f"{_NAMESPACE} = {{'__name__': 'pyvariant_compare'}}\n"
        f"exec(compile({_workload_source()!r}, 'pyvariant_compare', 'exec'), {_NAMESPACE})\n"
        "import sys as _s\nprint(_s.version.split()[0])"
    )
    measure = f"import json as _j\nprint(_j.dumps({_NAMESPACE}['measure'](1)))"
    with ExitStack() as stack:
        kernels = [stack.enter_context(_started(name)) for name in (first, second)]
        pythons = [kernel.run(setup).strip() for kernel in kernels]
        best: list[dict[str, float]] = [{}, {}]
        for round_number in range(rounds):
            for index, kernel in enumerate(kernels):
                if on_round:
                    on_round(round_number * len(kernels) + index + 1, kernel.name)
                for bench, seconds in json.loads(kernel.run(measure)).items():
                    best[index][bench] = min(best[index].get(bench, seconds), seconds)
    timings: Sequence[KernelTiming] = [
        KernelTiming(name, python, times)
        for name, python, times in zip((first, second), pythons, best, strict=True)
    ]
    return Comparison(timings[0], timings[1])
