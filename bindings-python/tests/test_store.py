"""billwise.Store: engines kept per contract in SQLite (always) and PostgreSQL (when
``BILLWISE_TEST_POSTGRES_URL`` names a server; ``make test`` starts one)."""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import billwise
from conftest import EXAMPLES

SCENARIO = EXAMPLES / "scenario"
POLICY = json.loads((EXAMPLES / "ownership-policy.json").read_text(encoding="utf-8"))


def scenario() -> List[Dict[str, Any]]:
    lines = (SCENARIO / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _backends() -> List[str]:
    out = ["sqlite"]
    if os.environ.get("BILLWISE_TEST_POSTGRES_URL"):
        out.append("postgresql")
    elif os.environ.get("BILLWISE_REQUIRE_POSTGRES"):
        raise RuntimeError("BILLWISE_REQUIRE_POSTGRES is set but BILLWISE_TEST_POSTGRES_URL is not")
    return out


@pytest.fixture(params=_backends())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tuple[str, str]]:
    """A store URL and a contract id no other test uses."""
    contract = f"CTR-{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'billing.db'}", contract
    else:
        yield os.environ["BILLWISE_TEST_POSTGRES_URL"], contract


def test_a_reopened_store_holds_the_engine_that_applied_the_scenario(db: Tuple[str, str]) -> None:
    url, contract = db
    events = scenario()
    with billwise.Store(url) as store:
        for i in range(0, len(events), 10):
            store.apply(contract, events[i : i + 10], ownership_policy=POLICY)
    engine = billwise.Engine(ownership_policy=POLICY)
    engine.apply_batch(events)
    with billwise.Store(url) as store:
        assert store.snapshot(contract) == engine.snapshot()
        assert contract in store.contracts()
        report = store.verify(contract)
        assert report["valid"] and report["version"] == 65
        assert store.replay(contract)["matches"]
        # A copy of the stored engine previews like any engine.
        preview = store.engine(contract).preview_invoice(
            period={"start": date(2026, 3, 1), "end": date(2026, 3, 31)}, as_of=date(2026, 4, 2)
        )
        assert preview["totals"]["total"]["amount"] > Decimal("0")


def test_apply_types_what_changed_as_the_engine_does(db: Tuple[str, str]) -> None:
    url, contract = db
    events = scenario()
    with billwise.Store(url) as store:
        store.apply(contract, events[:12], ownership_policy=POLICY)
        entry = next(e for e in events[12:] if e["event"]["type"] == "time_entry.recorded")
        result = store.apply(contract, [entry])
    outcome = result["outcomes"][0]
    assert result["contract_id"] == contract
    assert outcome["status"] == "applied"
    after = outcome["changes"][0]["after"]
    assert isinstance(after["hours"], Decimal)
    assert isinstance(after["work_date"], date)


def test_an_envelope_received_by_two_workers_is_applied_once(db: Tuple[str, str]) -> None:
    url, contract = db
    events = scenario()
    with billwise.Store(url) as first:
        first.apply(contract, events[:3], ownership_policy=POLICY)

    def worker(_: int) -> int:
        with billwise.Store(url) as store:
            return store.apply(contract, events)["version"]

    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(worker, range(4)))
    assert versions == [65, 65, 65, 65]
    with billwise.Store(url) as store:
        assert store.verify(contract)["valid"]
        assert store.replay(contract)["matches"]


def test_exceptions_are_listed_retried_resolved_and_traced(db: Tuple[str, str]) -> None:
    url, contract = db
    with billwise.Store(url) as store:
        store.apply(contract, scenario(), ownership_policy=POLICY)
        waiting = store.exceptions(contract_id=contract)
        assert [(x["code"], x["source"], x["status"]) for x in waiting] == [
            ("OWNERSHIP_NOT_OWNER", "crm", "open")
        ]
        x = waiting[0]
        again = store.retry(contract, x["sequence"])
        assert again["outcomes"][0]["status"] == "rejected"
        assert store.exceptions(contract_id=contract)[0]["status"] == "retried"
        trace = store.trace(x["correlation_id"])
        assert any(s["status"] == "rejected" and s["contract_id"] == contract for s in trace["steps"])
        assert [s["sequence"] for s in trace["stuck"] if s["contract_id"] == contract] == [x["sequence"]]

        done = store.resolve(contract, x["sequence"], note="CRM sync off for signed contracts", actor="ops")
        assert done["status"] == "resolved" and done["note"] == "CRM sync off for signed contracts"
        assert store.exceptions(contract_id=contract) == []
        assert [r["sequence"] for r in store.exceptions(contract_id=contract, status="resolved")][-1] == x["sequence"]
        assert store.verify(contract)["valid"]


def test_failures_raise_with_stable_codes(tmp_path: Path) -> None:
    with pytest.raises(billwise.InputError) as bad_url:
        billwise.Store("mysql://localhost/billing")
    assert bad_url.value.code == "STORE_INVALID_URL"
    with pytest.raises(billwise.StoreError) as unreachable:
        billwise.Store(f"sqlite:///{tmp_path}/missing/dir/billing.db")
    assert unreachable.value.code == "STORE_UNAVAILABLE"
    store = billwise.Store(f"sqlite:///{tmp_path / 'b.db'}")
    with pytest.raises(billwise.InputError) as unknown:
        store.verify("CTR-NONE")
    assert unknown.value.code == "STORE_NOT_FOUND"
    with pytest.raises(billwise.InputError) as status:
        store.exceptions(status="stuck")  # type: ignore[arg-type]
    assert status.value.code == "INPUT_INVALID_VALUE"
    store.close()
    with pytest.raises(billwise.StoreError):
        store.contracts()


def test_a_database_from_a_newer_build_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "b.db"
    billwise.Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO billwise_schema (version, applied_at) VALUES (99, 'later')")
    with pytest.raises(billwise.SchemaVersionError) as newer:
        billwise.Store(f"sqlite:///{path}")
    assert newer.value.code == "STORE_SCHEMA_TOO_NEW"
