"""What is this machine? Pure, fast probes that never raise and never print."""

from __future__ import annotations

from .report import HostReport, collect, report

__all__ = ["HostReport", "collect", "report"]
