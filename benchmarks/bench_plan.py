"""How much CPU does choosing variants cost? N packages x M variants x K releases.

Builds index pages in memory (no network): every release has M variant wheels whose labels carry
an ``x86_64 :: level`` and one ``x86_64 :: <feature> :: on`` property, a null variant, a plain wheel
and its ``variants.json``. Then times (process CPU) a fresh chooser over all N projects: wheel names
parsed, variants.json read in its dialect, supported properties computed from a host report, the
PEP 825 ranking with explanations, and the presented page. Goal: 100 x 50 x 1 in <= 50 ms CPU.

Usage: python benchmarks/bench_plan.py [--packages 100] [--variants 50] [--releases 1 3] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from jupyter_pyvariant.host.facts import HostFacts
from jupyter_pyvariant.index.models import FileLink, ProjectPage
from jupyter_pyvariant.install.choose import VariantChooser
from jupyter_pyvariant.variants.providers import host_supported

FEATURES = ("avx512_bf16", "avx512_vnni", "amx_tile", "avx_vnni", "sha", "vaes", "gfni", "avx512_fp16")
HOST = HostFacts.from_dict(
    {
        "cpu": {
            "arch": "x86_64",
            "isa_level": "x86-64-v4",
            "features": ["avx512_vnni", "sha", "vaes", "gfni"],
        },
        "system": {"os": "Linux"},
        "accelerators": [],
    }
)
TAG = "cp311-cp311-manylinux_2_28_x86_64"


def variants_document(variants: int) -> dict[str, Any]:
    labels: dict[str, Any] = {"null": {}}
    for i in range(variants):
        level = f"v{1 + i % 4}"
        labels[f"l{i}"] = {"x86_64": {"level": [level], FEATURES[i % len(FEATURES)]: ["on"]}}
    return {
        "$schema": "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
        "default-priorities": {"namespace": ["x86_64"]},
        "variants": labels,
    }


class InMemoryIndex:
    """Stands in for the simple-API client: pages and variants.json bytes from memory."""

    def __init__(self, packages: int, variants: int, releases: int) -> None:
        document = json.dumps(variants_document(variants)).encode()
        self.blobs: dict[str, bytes] = {}
        self.pages: dict[str, ProjectPage] = {}
        for p in range(packages):
            name = f"pkg{p}"
            files = []
            for r in range(releases):
                version = f"1.{r}.0"
                for label in [*(f"l{i}" for i in range(variants)), "null", None]:
                    suffix = f"-{label}" if label else ""
                    filename = f"{name}-{version}-{TAG}{suffix}.whl"
                    files.append(FileLink(filename, f"mem://{filename}", "mem", (("sha256", "0" * 64),)))
                meta = f"{name}-{version}-variants.json"
                self.blobs[f"mem://{meta}"] = document
                files.append(FileLink(meta, f"mem://{meta}", "mem"))
            self.pages[name] = ProjectPage(name, "mem", f"mem://{name}/", tuple(files))

    def project(self, name: str) -> ProjectPage | None:
        return self.pages.get(name)

    def read(self, link: FileLink, project: str) -> bytes:
        return self.blobs[link.url]


def one_run(index: InMemoryIndex, tags: list[str]) -> float:
    cache: dict[str, Any] = {}

    def supported_for(metadata: Any) -> Any:
        key = repr(metadata.priorities.namespaces)
        if key not in cache:
            cache[key] = host_supported(HOST, metadata)
        return cache[key]

    chooser = VariantChooser(lambda name: index, supported_for, lambda: tags)  # type: ignore[arg-type, return-value]
    start = time.process_time()
    for name in index.pages:
        choice = chooser.choose(name)
        assert choice is not None
        choice.presented()
    return (time.process_time() - start) * 1000


def variants_wing_only(index: InMemoryIndex) -> float:
    """CPU ms of just parsing each variants.json and ranking its labels (the floor for one_run)."""
    from jupyter_pyvariant.variants.ordering import rank
    from jupyter_pyvariant.variants.reader import parse_variants_json

    start = time.process_time()
    supported = None
    for page in index.pages.values():
        for link in page.files:
            if link.filename.endswith("-variants.json"):
                metadata = parse_variants_json(index.read(link, page.name), link.url, package=page.name)
                supported = supported or host_supported(HOST, metadata)
                rank([*metadata.labels, None], supported, metadata)
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--variants", type=int, default=50)
    parser.add_argument("--releases", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from packaging.tags import sys_tags

    tags = [str(t) for t in sys_tags()] + [TAG]
    headers = ("packages", "variants", "releases", "CPU ms (median)", "us/wheel", "parse+rank ms")
    print(" ".join(f"{h:>{max(8, len(h))}}" for h in headers))
    for releases in args.releases:
        index = InMemoryIndex(args.packages, args.variants, releases)
        one_run(index, tags)  # warm the imports
        times = [one_run(index, tags) for _ in range(args.runs)]
        median = statistics.median(times)
        floor = statistics.median(variants_wing_only(index) for _ in range(args.runs))
        wheels = args.packages * releases * (args.variants + 2)
        cells = (
            args.packages,
            args.variants,
            releases,
            f"{median:.1f}",
            f"{1000 * median / wheels:.2f}",
            f"{floor:.1f}",
        )
        print(" ".join(f"{c!s:>{max(8, len(h))}}" for c, h in zip(cells, headers, strict=True)))
    print("goal: 100 x 50 x 1 in <= 50 ms CPU; parse+rank: variants.json reading and PEP 825 ranking alone")


if __name__ == "__main__":
    main()
