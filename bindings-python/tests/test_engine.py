"""billwise.Engine: the event engine held in memory, shared by threads, shipped to processes."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from operator import methodcaller
from typing import Any, Dict, List, Mapping, Optional

import pytest

import billwise
from conftest import EXAMPLES, SPEC

SCENARIO = EXAMPLES / "scenario"
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
AS_OF = date(2026, 4, 2)


def scenario_envelopes() -> List[Dict[str, Any]]:
    lines = (SCENARIO / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def policy() -> Dict[str, Any]:
    loaded: Dict[str, Any] = json.loads((EXAMPLES / "ownership-policy.json").read_text(encoding="utf-8"))
    return loaded


def scenario_engine() -> billwise.Engine:
    engine = billwise.Engine(ownership_policy=policy())
    engine.apply_batch(scenario_envelopes())
    return engine


def entry_envelope(n: int, hours: str = "8", key: Optional[str] = None) -> Dict[str, Any]:
    return {
        "idempotency_key": key or f"psa-TE-{n}",
        "correlation_id": f"week-{n}",
        "source": "psa",
        "occurred_at": "2026-01-12T17:00:00Z",
        "event": {
            "type": "time_entry.recorded",
            "time_entry": {
                "id": f"TE-{n}",
                "project_id": "PRJ-1",
                "task_id": "T-1",
                "resource_id": "R-1",
                "role": "Developer",
                "work_date": "2026-01-12",
                "hours": hours,
                "status": "submitted",
            },
        },
    }


# --- the API ----------------------------------------------------------------------------------


def test_an_envelope_is_applied_once_and_a_second_delivery_is_a_duplicate() -> None:
    engine = billwise.Engine()
    assert engine.version == 0
    first = engine.apply(entry_envelope(1))
    assert (first["status"], first["version"], first["event_type"]) == ("applied", 1, "time_entry.recorded")
    assert first["changes"][0]["path"] == "/time_entries/TE-1"
    again = engine.apply(entry_envelope(1))
    assert (again["status"], again["version"]) == ("duplicate", 1)
    assert engine.version == 1
    assert engine.state()["time_entries"]["TE-1"]["hours"] == Decimal("8")
    assert engine.verify_audit() == {"valid": True, "entries": 1, "head": engine.audit()[0]["hash"]}
    assert repr(engine) == "<billwise.Engine version=1>"


def test_the_engine_gives_what_engine_replay_gives_for_the_same_envelopes() -> None:
    envelopes = scenario_envelopes()
    engine = billwise.Engine(ownership_policy=policy())
    outcomes = engine.apply_batch(envelopes)["outcomes"]
    replay = billwise.engine_replay(
        envelopes=envelopes,
        ownership_policy=policy(),
        preview={"period": MARCH, "as_of": AS_OF},
        metrics_as_of=AS_OF,
        return_state=True,
    )
    assert outcomes == replay["outcomes"]
    assert engine.version == replay["version"]
    assert engine.exceptions() == replay["exceptions"]
    assert engine.verify_audit() == replay["audit"]
    assert engine.preview_invoice(period=MARCH, as_of=AS_OF) == replay.get("preview")
    assert engine.metrics(as_of=AS_OF) == replay.get("metrics")
    assert engine.state() == replay.get("state")
    assert engine.snapshot() == billwise.to_json(replay.get("snapshot")).encode()
    assert engine.ownership_policy == billwise._billwise._read_document(policy())[0]


def test_an_invalid_time_entry_is_rejected_with_every_problem_and_the_engine_still_previews() -> None:
    engine = scenario_engine()
    expected = engine.preview_invoice(period=MARCH, as_of=AS_OF)
    outcome = engine.apply(
        {
            "idempotency_key": "psa-TE-BAD-1",
            "correlation_id": "week-2026-03-09",
            "source": "psa",
            "occurred_at": "2026-03-12T09:00:00Z",
            "event": {
                "type": "time_entry.recorded",
                "time_entry": {
                    "id": "TE-BAD-1", "project_id": "PRJ-5530", "task_id": "T-BUILD",
                    "resource_id": "R-PATEL", "role": "", "work_date": "2026-03-06",
                    "hours": "-3", "status": "submitted",
                },
            },
        }
    )
    assert outcome["status"] == "rejected"
    assert [(p["code"], p["path"]) for p in outcome["rejection"]["problems"]] == [
        ("DOCUMENT_EMPTY_FIELD", "/event/time_entry/role"),
        ("DOCUMENT_NEGATIVE_AMOUNT", "/event/time_entry/hours"),
    ]
    assert engine.preview_invoice(period=MARCH, as_of=AS_OF) == expected
    assert engine.exceptions()[-1]["problems"] == outcome["rejection"]["problems"]


def test_preview_and_metrics_take_the_query_every_runtime_takes_and_the_old_form_warns() -> None:
    engine = scenario_engine()
    query = {"period": MARCH, "as_of": AS_OF}
    expected = engine.preview_invoice(query)
    assert engine.preview_invoice(period=MARCH, as_of=AS_OF) == expected
    assert engine.preview_invoice(billwise.to_json(query)) == expected
    assert engine.metrics({"as_of": AS_OF}) == engine.metrics(as_of=AS_OF)
    with pytest.warns(DeprecationWarning, match="preview_invoice"):
        assert engine.preview_invoice(MARCH, AS_OF) == expected  # type: ignore[call-overload]
    with pytest.warns(DeprecationWarning, match="metrics"):
        assert engine.metrics(AS_OF) == engine.metrics(as_of=AS_OF)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        engine.preview_invoice(query, period=MARCH)  # type: ignore[call-overload]


def test_results_carry_decimal_money_and_date_values() -> None:
    engine = scenario_engine()
    preview = engine.preview_invoice({"period": {"start": "2026-03-01", "end": "2026-03-31"}, "as_of": "2026-04-02"})
    assert type(preview["as_of"]) is date
    assert type(preview["totals"]["total"]["amount"]) is Decimal
    metrics = engine.metrics(as_of=AS_OF)
    assert type(metrics["receivables"]["amount"]) is Decimal
    assert metrics["as_of"] == AS_OF
    assert preview == engine.preview_invoice(period=MARCH, as_of=AS_OF)


def test_audit_and_outcome_changes_carry_decimal_and_date_values_like_every_other_result() -> None:
    engine = scenario_engine()
    audit = engine.audit()
    changes = [c for entry in audit for c in entry["changes"]]
    recorded = next(c for c in changes if c["path"].startswith("/time_entries/") and c["path"].count("/") == 2)
    assert type(recorded["after"]["hours"]) is Decimal
    assert type(recorded["after"]["work_date"]) is date
    assert recorded["before"] is None
    status = next(c for c in changes if c["path"].endswith("/status"))
    assert type(status["after"]) is str
    balances = [c for c in changes if c["path"].endswith("/balance")]
    assert balances and all(type(c["before"]["amount"]) is Decimal and type(c["after"]["amount"]) is Decimal for c in balances)
    ledger = next(c for c in changes if c["path"].startswith("/ledger/entries/"))
    assert type(ledger["after"]["quantity"]) is Decimal
    # The typed values write the JSON text the chain holds.
    verified = engine.verify_audit()
    assert verified["valid"]
    outcome = billwise.Engine().apply(entry_envelope(1, hours="7.25"))
    assert outcome["changes"][0]["after"]["hours"] == Decimal("7.25")
    one = billwise.Engine()
    one.apply(entry_envelope(1))
    corrected = one.apply(entry_envelope(1, hours="6.5", key="psa-TE-1-v2"))
    assert [(c["path"], c["before"], c["after"]) for c in corrected["changes"]] == [
        ("/time_entries/TE-1/hours", Decimal("8"), Decimal("6.5"))
    ]


def test_apply_batch_returns_outcomes_and_version_and_the_list_reading_warns() -> None:
    engine = billwise.Engine()
    batch = engine.apply_batch([entry_envelope(1), entry_envelope(2)])
    assert set(batch.keys()) == {"outcomes", "version"}
    assert batch["version"] == engine.version == 2
    assert [o["status"] for o in batch["outcomes"]] == ["applied", "applied"]
    assert json.loads(billwise.to_json(batch)) == json.loads(billwise.to_json(dict(batch)))
    assert pickle.loads(pickle.dumps(batch)) == batch
    with pytest.warns(DeprecationWarning, match=r"result\['outcomes'\]"):
        assert [o["status"] for o in batch] == ["applied", "applied"]
    with pytest.warns(DeprecationWarning):
        assert batch[1] == batch["outcomes"][1]
    with pytest.warns(DeprecationWarning):
        assert len(batch) == 2


@dataclasses.dataclass
class Envelope:
    idempotency_key: str
    correlation_id: str
    source: str
    occurred_at: str
    event: Dict[str, Any]
    expected_version: Optional[int] = None


def test_every_input_form_of_an_envelope_gives_the_same_outcome() -> None:
    from pydantic import BaseModel

    class EnvelopeModel(BaseModel):
        idempotency_key: str
        correlation_id: str
        source: str
        occurred_at: str
        event: Dict[str, Any]
        expected_version: Optional[int] = None

    envelope = entry_envelope(1, hours="7.5")
    forms: List[Any] = [
        envelope,
        json.dumps(envelope),
        json.dumps(envelope).encode(),
        Envelope(**envelope),
        EnvelopeModel(**envelope),
    ]
    outcomes = [billwise.Engine().apply(form) for form in forms]
    assert all(o == outcomes[0] for o in outcomes), outcomes
    engines = [billwise.Engine() for _ in forms]
    for engine, form in zip(engines, forms):
        engine.apply(form)
    assert len({engine.snapshot() for engine in engines}) == 1


def test_a_batch_may_be_json_text() -> None:
    envelopes = scenario_envelopes()
    from_text = billwise.Engine(ownership_policy=json.dumps(policy()))
    from_text.apply_batch(json.dumps(envelopes).encode())
    assert from_text.snapshot() == scenario_engine().snapshot()


def test_an_atomic_batch_with_a_rejected_envelope_applies_nothing() -> None:
    engine = billwise.Engine()
    approve_unknown = dict(entry_envelope(9), idempotency_key="approve-TE-404")
    approve_unknown["event"] = {"type": "time_entry.approved", "id": "TE-404"}
    outcomes = engine.apply_batch([entry_envelope(1), approve_unknown], atomic=True)["outcomes"]
    assert [o["status"] for o in outcomes] == ["rejected", "rejected"]
    assert outcomes[0]["rejection"]["code"] == "ENGINE_BATCH_ABORTED"
    assert engine.version == 0
    assert [e["code"] for e in engine.exceptions()] == ["ENGINE_BATCH_ABORTED", outcomes[1]["rejection"]["code"]]


# --- errors -----------------------------------------------------------------------------------


def test_reusing_a_key_with_another_payload_raises_idempotency_conflict_error() -> None:
    engine = billwise.Engine()
    engine.apply(entry_envelope(1))
    before = engine.snapshot()
    with pytest.raises(billwise.IdempotencyConflictError) as caught:
        engine.apply(entry_envelope(1, hours="9"))
    assert caught.value.code == "ENGINE_IDEMPOTENCY_CONFLICT"
    assert caught.value.path == "/idempotency_key"
    assert caught.value.details == {"idempotency_key": "psa-TE-1"}
    assert engine.snapshot() == before


def test_a_conflict_raises_in_an_atomic_batch_and_is_an_outcome_in_any_other() -> None:
    engine = billwise.Engine()
    with pytest.raises(billwise.IdempotencyConflictError) as caught:
        engine.apply_batch([entry_envelope(1), entry_envelope(2), entry_envelope(1, hours="9")], atomic=True)
    assert caught.value.path == "/envelopes/2/idempotency_key"
    assert engine.version == 0, "an atomic batch is rolled back"
    outcomes = engine.apply_batch([entry_envelope(1), entry_envelope(1, hours="9"), entry_envelope(2)])["outcomes"]
    assert [o["status"] for o in outcomes] == ["applied", "rejected", "applied"]
    assert outcomes[1]["rejection"]["code"] == "ENGINE_IDEMPOTENCY_CONFLICT"
    assert engine.version == 2, "without atomic every envelope has its outcome, the conflict one rejected"
    assert [x["code"] for x in engine.exceptions()] == ["ENGINE_IDEMPOTENCY_CONFLICT"]


def test_an_unreadable_envelope_raises_input_error_at_its_path_and_changes_nothing() -> None:
    engine = billwise.Engine()
    bad = entry_envelope(1)
    del bad["event"]["time_entry"]["role"]
    with pytest.raises(billwise.InputError) as caught:
        engine.apply(bad)
    with pytest.raises(billwise.InputError) as replayed:
        billwise.engine_replay(envelopes=[bad])
    assert caught.value.code == replayed.value.code == "INPUT_MISSING_FIELD"
    assert caught.value.path == "/event/time_entry/role"
    assert replayed.value.path == "/envelopes/0" + caught.value.path
    with pytest.raises(billwise.InputError) as in_batch:
        engine.apply_batch([entry_envelope(2), bad])
    assert in_batch.value.path == "/envelopes/1" + caught.value.path
    assert engine.version == 0 and engine.exceptions() == []


def test_float_hours_in_an_envelope_are_refused() -> None:
    envelope = entry_envelope(1)
    envelope["event"]["time_entry"]["hours"] = 7.5
    with pytest.raises(billwise.InputError) as caught:
        billwise.Engine().apply(envelope)
    assert caught.value.code == "INPUT_NUMBER_NOT_ALLOWED"
    assert caught.value.path == "/event/time_entry/hours"


def test_an_unreadable_timestamp_raises_input_error() -> None:
    envelope = dict(entry_envelope(1), occurred_at="yesterday")
    with pytest.raises(billwise.InputError) as caught:
        billwise.Engine().apply(envelope)
    assert (caught.value.code, caught.value.path) == ("ENGINE_INVALID_TIMESTAMP", "/occurred_at")


def test_a_preview_without_a_contract_raises_rule_error() -> None:
    with pytest.raises(billwise.RuleError) as caught:
        billwise.Engine().preview_invoice(period=MARCH, as_of=AS_OF)
    assert caught.value.code == "ENGINE_NO_CONTRACT"
    with pytest.raises(billwise.InputError) as bad_date:
        billwise.Engine().metrics(as_of="2026-02-30")
    assert (bad_date.value.code, bad_date.value.path) == ("INPUT_INVALID_DATE", "/as_of")


def test_an_invalid_ownership_policy_is_refused_at_construction() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.Engine(ownership_policy={"schema_version": 1})
    assert caught.value.code == "INPUT_MISSING_FIELD"


class Exploding(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Any:
        raise RuntimeError("the mapping broke")

    def __len__(self) -> int:
        return 1


def hostile_envelopes() -> List[Any]:
    deep: Any = "x"
    for _ in range(10_000):
        deep = [deep]
    return [
        deep,
        {"idempotency_key": "k" * 1_000_000},
        '{"idempotency_key": "\\ud800"}',
        "\ud800",
        {1: "not a string key"},
        b"\xff\xfe{",
        {"idempotency_key": "k", "event": {"type": "time_entry.recorded", "time_entry": deep}},
        dict(entry_envelope(1), expected_version=2**70),
        dict(entry_envelope(1), event={"type": "no.such.event"}),
        dict(entry_envelope(1), occurred_at="2026-01-12\x00"),
        dict(entry_envelope(1), idempotency_key=""),
        Exploding(),
        object(),
        None,
        float("nan"),
    ]


@pytest.mark.parametrize("index", range(len(hostile_envelopes())))
def test_a_hostile_envelope_raises_and_the_same_engine_keeps_working(index: int) -> None:
    engine = billwise.Engine()
    engine.apply(entry_envelope(1))
    before = engine.snapshot()
    hostile = hostile_envelopes()[index]
    with pytest.raises(Exception) as caught:
        engine.apply(hostile)
    assert isinstance(caught.value, (billwise.InputError, RuntimeError)), caught.value
    assert not isinstance(caught.value, billwise.InternalError), caught.value
    assert "PanicException" not in type(caught.value).__name__
    with pytest.raises(Exception):
        engine.apply_batch([entry_envelope(2), hostile], atomic=True)
    assert engine.snapshot() == before
    assert engine.apply(entry_envelope(2))["status"] == "applied"
    assert engine.version == 2 and engine.verify_audit()["valid"]


# --- snapshots and pickling -------------------------------------------------------------------


def test_restore_reads_snapshot_bytes_text_and_an_engine_apply_snapshot() -> None:
    engine = scenario_engine()
    data = engine.snapshot()
    assert billwise.Engine.restore(data).snapshot() == data
    assert billwise.Engine.restore(data.decode()).snapshot() == data
    result = billwise.engine_apply(envelopes=scenario_envelopes(), ownership_policy=policy())
    assert billwise.Engine.restore(result.get("snapshot")).snapshot() == data


def test_a_snapshot_of_another_schema_version_is_refused() -> None:
    data = billwise.Engine().snapshot()
    assert b'"schema_version":1' in data
    with pytest.raises(billwise.SchemaVersionError) as caught:
        billwise.Engine.restore(data.replace(b'"schema_version":1', b'"schema_version":2'))
    assert (caught.value.code, caught.value.path) == ("SCHEMA_VERSION_UNSUPPORTED", "/schema_version")


def test_a_tampered_snapshot_is_refused() -> None:
    data = scenario_engine().snapshot()
    tampered = data.replace(b'"hours":"8"', b'"hours":"9"', 1)
    assert tampered != data
    with pytest.raises(billwise.BillwiseError) as caught:
        billwise.Engine.restore(tampered)
    assert caught.value.code == "AUDIT_ENTRY_TAMPERED"


def test_a_pickled_engine_has_the_same_snapshot_and_keeps_applying() -> None:
    engine = scenario_engine()
    copied = pickle.loads(pickle.dumps(engine))
    assert type(copied) is billwise.Engine
    assert copied.snapshot() == engine.snapshot()
    assert copied.version == engine.version
    already_applied = scenario_envelopes()[0]
    assert copied.apply(already_applied)["status"] == "duplicate"
    with pytest.raises(billwise.IdempotencyConflictError):
        copied.apply(dict(already_applied, occurred_at="2026-01-01"))
    applied = copied.apply(dict(entry_envelope(1), expected_version=engine.version))
    assert applied["status"] in ("applied", "rejected")
    assert copied.version >= engine.version
    assert copied.verify_audit()["valid"]
    fresh = copy.deepcopy(engine)
    fresh.apply(entry_envelope(2))
    assert engine.snapshot() == scenario_engine().snapshot(), "a copy is independent"


def test_unpickling_refuses_a_snapshot_of_another_schema_version() -> None:
    data = pickle.dumps(billwise.Engine())
    assert b'"schema_version":1' in data
    with pytest.raises(billwise.SchemaVersionError):
        pickle.loads(data.replace(b'"schema_version":1', b'"schema_version":2'))


def test_an_engine_shipped_to_worker_processes_gives_the_same_preview() -> None:
    engine = scenario_engine()
    expected = engine.preview_invoice(period=MARCH, as_of=AS_OF)
    with ProcessPoolExecutor(max_workers=2) as pool:
        previews = list(pool.map(methodcaller("preview_invoice", MARCH, AS_OF), [engine, engine, engine]))
        snapshots = list(pool.map(methodcaller("snapshot"), [engine, engine]))
    assert all(p == expected for p in previews)
    assert billwise.to_json(previews[0]) == billwise.to_json(expected)
    assert snapshots == [engine.snapshot()] * 2


# --- threads ----------------------------------------------------------------------------------


def test_threads_sharing_one_engine_apply_every_envelope_exactly_once() -> None:
    engine = billwise.Engine()
    envelopes = [entry_envelope(n) for n in range(400)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(engine.apply, envelopes + envelopes))
        readers = [pool.submit(engine.verify_audit) for _ in range(20)]
    assert sorted(o["status"] for o in outcomes).count("applied") == 400
    assert sorted(o["status"] for o in outcomes).count("duplicate") == 400
    assert all(r.result()["valid"] for r in readers)
    assert engine.version == 400
    assert sorted(e["version"] for e in engine.audit()) == list(range(1, 401))
    assert engine.verify_audit()["valid"]


def test_a_large_batch_runs_with_the_gil_released() -> None:
    engine = billwise.Engine()
    batch = json.dumps([entry_envelope(n) for n in range(20_000)]).encode()
    ticks = 0
    done = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        before, start = ticks, time.perf_counter()
        time.sleep(0.2)
        rate = (ticks - before) / (time.perf_counter() - start)
        before, start = ticks, time.perf_counter()
        outcomes = engine.apply_batch(batch)["outcomes"]
        share = (ticks - before) / (rate * (time.perf_counter() - start))
    finally:
        done.set()
        spinner.join()
    assert len(outcomes) == 20_000 and engine.version == 20_000
    # Holding the GIL for the whole batch would leave the spinner almost nothing.
    assert share > 0.25, share


def engine_cases() -> List[Any]:
    paths = sorted((SPEC / "cases" / "engine").glob("*/*.json"))
    return [pytest.param(path, id=path.stem) for path in paths]


@pytest.mark.parametrize("path", engine_cases())
def test_every_engine_spec_case_gives_the_same_result_through_engine_methods(path: Any) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    request = case["input"]
    expect = case["expect"]
    try:
        if request.get("snapshot") is not None:
            if request.get("ownership_policy") is not None:
                pytest.skip("a snapshot with a policy is a request error of engine_apply only")
            engine = billwise.Engine.restore(request["snapshot"])
        else:
            engine = billwise.Engine(ownership_policy=request.get("ownership_policy"))
        result: Dict[str, Any] = {
            "schema_version": 1,
            "outcomes": engine.apply_batch(request.get("envelopes", []), atomic=request.get("atomic", False))["outcomes"],
        }
        result["version"] = engine.version
        result["exceptions"] = engine.exceptions()
        result["audit"] = engine.verify_audit()
        if request.get("preview"):
            result["preview"] = engine.preview_invoice(request["preview"])
        if request.get("metrics_as_of"):
            result["metrics"] = engine.metrics(as_of=request["metrics_as_of"])
        if request.get("return_state"):
            result["state"] = engine.state()
        if request.get("return_snapshot", True):
            result["snapshot"] = json.loads(engine.snapshot())
    except billwise.BillwiseError as e:
        assert "error" in expect, (case["id"], e)
        assert e.code == expect["error"]["code"], case["id"]
        return
    assert "result" in expect, case["id"]
    assert billwise.to_json(result) == billwise.to_json(expect["result"]), case["id"]


def test_an_engine_that_hit_a_defect_refuses_every_later_call_with_internal_error() -> None:
    engine = scenario_engine()
    saved = engine.snapshot()
    with pytest.raises(billwise.InternalError) as caught:
        billwise._billwise._poison_engine_for_tests(engine)
    assert "please report it" in caught.value.message
    for call in (engine.snapshot, engine.exceptions, lambda: engine.apply(entry_envelope(1)), lambda: engine.version):
        with pytest.raises(billwise.InternalError) as refused:
            call()
        assert "restore it from a snapshot" in refused.value.message
    assert billwise.Engine.restore(saved).snapshot() == saved


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b"[]",
        b'{"version": 1, "audit_head": "x", "state": {}}',
        b'{"version": 0, "audit_head": "' + b"0" * 64 + b'", "state": {}, "processed": {"k": {"fingerprint": "f", "version": 1}}}',
        b"[" * 100_000,
        b'{"version": 0, "audit_head": "x", "state": {}, "extra": 1}',
        "\ud800",
        {"version": -1},
        {"version": 2**70},
    ],
)
def test_a_hostile_snapshot_is_refused_with_a_billwise_error(data: Any) -> None:
    with pytest.raises(billwise.BillwiseError) as caught:
        billwise.Engine.restore(data)
    assert not isinstance(caught.value, billwise.InternalError), caught.value
