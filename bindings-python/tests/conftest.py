"""Shared paths for the billwise Python tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "spec"
EXAMPLES = SPEC / "examples"
