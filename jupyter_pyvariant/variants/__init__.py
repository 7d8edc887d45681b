"""Wheel variants (draft PEP 825 package format, PEP 850 providers): the model, what a host supports,
and the ordering that picks the best-fit build."""

from __future__ import annotations
