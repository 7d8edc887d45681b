"""The fixed workload ``kernel compare`` runs in each kernel (sent as source; stdlib only).

Five small pure-Python benchmarks in the spirit of pyperformance — n-body floating point, an
object-heavy task scheduler, JSON round trips, regular expressions and float/trig arithmetic —
sized so that one round takes a fraction of a second. ``measure(rounds)`` returns the best time
of each benchmark over the rounds, in seconds.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable


def nbody(steps: int = 6000) -> float:
    """Five bodies under gravity, advanced with a fixed step; returns the final energy."""
    bodies = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 39.47],
        [4.84, -1.16, -0.10, 0.60, 2.81, -0.02, 0.037],
        [8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011],
        [12.89, -15.11, -0.22, 1.08, 0.86, -0.01, 0.0017],
        [15.37, -25.91, 0.17, 0.97, 0.59, -0.03, 0.002],
    ]
    pairs = [(a, b) for i, a in enumerate(bodies) for b in bodies[i + 1 :]]
    dt = 0.01
    for _ in range(steps):
        for a, b in pairs:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            mag = dt / (dx * dx + dy * dy + dz * dz) ** 1.5
            bm, am = b[6] * mag, a[6] * mag
            a[3] -= dx * bm
            a[4] -= dy * bm
            a[5] -= dz * bm
            b[3] += dx * am
            b[4] += dy * am
            b[5] += dz * am
        for body in bodies:
            body[0] += dt * body[3]
            body[1] += dt * body[4]
            body[2] += dt * body[5]
    return sum(0.5 * b[6] * (b[3] ** 2 + b[4] ** 2 + b[5] ** 2) for b in bodies)


class _Task:
    def __init__(self, ident: int, priority: int, work: int) -> None:
        self.ident, self.priority, self.work, self.done = ident, priority, work, 0

    def step(self, scheduler: _Scheduler) -> None:
        self.done += 1
        if self.done < self.work:
            scheduler.post(self)
        elif self.ident % 3 == 0 and self.priority < 8:
            scheduler.post(_Task(self.ident * 7 % 97, self.priority + 1, self.work // 2 + 1))


class _Scheduler:
    """A priority round-robin of small objects, like the richards benchmark's kernel."""

    def __init__(self) -> None:
        self.queues: list[list[_Task]] = [[] for _ in range(10)]
        self.steps = 0

    def post(self, task: _Task) -> None:
        self.queues[task.priority].append(task)

    def run(self) -> int:
        while True:
            queue = next((q for q in reversed(self.queues) if q), None)
            if queue is None:
                return self.steps
            queue.pop(0).step(self)
            self.steps += 1


def scheduler(tasks: int = 2000) -> int:
    sched = _Scheduler()
    for ident in range(tasks):
        sched.post(_Task(ident, ident % 5, 20 + ident % 13))
    return sched.run()


def json_roundtrip(rounds: int = 60) -> int:
    document = {
        "items": [
            {"id": i, "name": f"item-{i}", "price": i * 1.25, "tags": ["a", "b", str(i)], "ok": i % 2 == 0}
            for i in range(200)
        ],
        "meta": {"source": "compare", "nested": [[1, 2, 3], {"x": None}]},
    }
    size = 0
    for _ in range(rounds):
        text = json.dumps(document)
        size += len(json.loads(text)["items"])
    return size


def regex(rounds: int = 40) -> int:
    text = " ".join(
        f"user{i}@host{i % 17}.example.org 2026-{i % 12 + 1:02d}-{i % 28 + 1:02d} id={i}" for i in range(400)
    )
    email = re.compile(r"[\w.]+@[\w.]+\.org")
    date = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
    found = 0
    for _ in range(rounds):
        found += len(email.findall(text)) + sum(1 for _ in date.finditer(text))
        found += len(re.sub(r"id=(\d+)", r"<\1>", text))
    return found


def float_points(count: int = 60000) -> float:
    """Create points from trigonometry, normalise them, keep the componentwise maximum."""
    best = [0.0, 0.0, 0.0]
    for i in range(count):
        x, y, z = math.sin(i), math.cos(i) * 3, (math.sin(i) ** 2) / 2
        norm = math.sqrt(x * x + y * y + z * z) or 1.0
        x, y, z = x / norm, y / norm, z / norm
        best = [max(best[0], x), max(best[1], y), max(best[2], z)]
    return sum(best)


BENCHMARKS: dict[str, Callable[[], object]] = {
    "nbody": nbody,
    "scheduler": scheduler,
    "json": json_roundtrip,
    "regex": regex,
    "float": float_points,
}


def measure(rounds: int = 3) -> dict[str, float]:
    """Best wall time of each benchmark over ``rounds`` runs, in seconds."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, bench in BENCHMARKS.items():
            start = time.perf_counter()
            bench()
            elapsed = time.perf_counter() - start
            best[name] = min(best.get(name, elapsed), elapsed)
    return best
