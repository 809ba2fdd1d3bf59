"""The typing usage file (also checked by mypy --strict) runs as written."""

from __future__ import annotations

import typing_usage


def test_the_typed_usage_example_runs() -> None:
    typing_usage.check()


def test_the_typed_engine_example_runs() -> None:
    typing_usage.check_engine()


def test_the_typed_ownership_example_runs() -> None:
    typing_usage.check_ownership()
