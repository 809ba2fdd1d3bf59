"""The Python benchmark's pure-Python reference agrees with billwise on the benchmark's workload,
so that its figures compare implementations that give the same answers (it once drifted from the
spec unnoticed)."""

from __future__ import annotations

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benches" / "python"))

import bench_preview  # noqa: E402
import workload  # noqa: E402


def test_the_pure_python_reference_bills_and_holds_what_billwise_does() -> None:
    for n in (500, 4000):
        # Lines, held items, totals, ceiling and held-by-reason compared; ZEN is not installed here.
        bench_preview.check(n, workload.request(n), None)
