"""Write the python-build-standalone catalog snapshot shipped in the package.

    python scripts/make_python_snapshot.py SOURCE [-o jupyter_pyvariant/pythons/data/catalog-snapshot.ndjson]

SOURCE is a URL or a path to a catalog in any format the package reads (the release index,
SHA256SUMS, uv's download-metadata.json, pbs-installer's versions.json). The snapshot keeps, per
minor version, triple and kind, only the build selection would choose (see
``jupyter_pyvariant.pythons.snapshot``), and the script prints what it kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from jupyter_pyvariant._atomic import write_text_atomic
from jupyter_pyvariant.pythons.catalog import MIRROR_ENV, load_catalog
from jupyter_pyvariant.pythons.snapshot import FILENAME, to_ndjson, trim

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "jupyter_pyvariant" / "pythons" / "data" / FILENAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", help="catalog URL or path, in any format the package reads")
    parser.add_argument(
        "-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the snapshot"
    )
    args = parser.parse_args(argv)
    os.environ.pop(MIRROR_ENV, None)  # the snapshot keeps the public URLs; a mirror is applied when read
    with tempfile.TemporaryDirectory() as cache:
        catalog = load_catalog(args.source, cache_dir=Path(cache))
    kept = trim(catalog)
    text = to_ndjson(kept)
    write_text_atomic(args.output, text)
    releases = sorted({b.release for b in kept})
    print(
        f"{args.output}: {len(kept)} of {len(catalog)} builds, releases {releases[0]}..{releases[-1]}, "
        f"{len(text.encode()) // 1024} KiB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
