"""``pyvariant`` / ``jupyter pyvariant`` / ``python -m jupyter_pyvariant``: the verbs in a terminal."""

from __future__ import annotations

__all__ = ["main"]

import sys
from collections.abc import Sequence

from .display import TerminalOutput
from .verbs import UsageError, run


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; exit status 2 on a usage error, 1 on a reported failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = TerminalOutput()
    try:
        return run(args, out)
    except UsageError as exc:
        out.error(str(exc))
        return 2
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
