"""The Python API: inputs, outputs, exceptions, constants and types."""

from __future__ import annotations

import dataclasses
import enum
import gc
import json
import pickle
import re
import typing
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import billwise
import billwise.types as bt
from conftest import EXAMPLES, SPEC

CONTRACT: Dict[str, Any] = json.loads((EXAMPLES / "contract-northwind-tm.json").read_text())
WORK_LOG: Dict[str, Any] = json.loads((EXAMPLES / "work-log-northwind-march.json").read_text())


def entry(**overrides: Any) -> Dict[str, Any]:
    base: Dict[str, Any] = {
        "id": "TE-1",
        "project_id": "P-1",
        "task_id": "T-1",
        "resource_id": "R-1",
        "role": "Consultant",
        "work_date": "2026-03-02",
        "hours": "7.5",
        "status": "approved",
    }
    base.update(overrides)
    return base


def work_log(*entries: Dict[str, Any]) -> Dict[str, Any]:
    return {"schema_version": 1, "kind": "work_log", "time_entries": list(entries)}


# --- constants -------------------------------------------------------------------------------


def test_version_and_schema_version_are_exported() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", billwise.__version__)
    assert billwise.SCHEMA_VERSION == 1
    assert "validate" in billwise.OPERATIONS


def test_the_module_version_is_the_installed_wheel_version() -> None:
    from importlib.metadata import version

    assert version("billwise") == billwise.__version__


def test_the_package_docstring_example_runs() -> None:
    import doctest

    assert doctest.testmod(billwise).failed == 0


def test_the_document_kind_literal_follows_the_json_schema() -> None:
    schema = json.loads((SPEC / "schema" / "v1" / "contract.schema.json").read_text())
    kinds = [k["const"] for k in schema["$defs"]["DocumentKind"]["oneOf"]]
    assert list(typing.get_args(bt.DocumentKind)) == kinds


def test_every_operation_the_core_runs_is_a_python_function() -> None:
    for op in billwise.OPERATIONS:
        assert callable(getattr(billwise, op)), op
        assert op in billwise.__all__


def test_error_codes_equal_the_core_table_in_spec_errors_md() -> None:
    rows = re.findall(
        r"^\| `([A-Z_]+)` \| ([a-z_]+) \| `([A-Za-z]+)` \| (.+) \|$", (SPEC / "errors.md").read_text(), re.M
    )
    assert [(i.code, i.error_class, i.exception, i.description) for i in billwise.ERROR_CODES.values()] == [
        (code, cls, exc, desc.replace("\\|", "|")) for code, cls, exc, desc in rows
    ]
    assert list(billwise.ERROR_CODES) == [code for code, _, _, _ in rows]


def test_error_codes_are_read_only() -> None:
    assert isinstance(billwise.ERROR_CODES, MappingProxyType)
    with pytest.raises(TypeError):
        billwise.ERROR_CODES["X"] = billwise.ERROR_CODES["INTERNAL_ERROR"]  # type: ignore[index]


def test_the_stub_error_code_literal_matches_error_codes() -> None:
    assert list(typing.get_args(bt.ErrorCode)) == list(billwise.ERROR_CODES)


def test_the_error_class_literal_matches_the_classes_in_use() -> None:
    used = {info.error_class for info in billwise.ERROR_CODES.values()}
    assert used <= set(typing.get_args(bt.ErrorClass))


# --- results ---------------------------------------------------------------------------------


def test_a_valid_document_gives_a_plain_dict_report() -> None:
    report = billwise.validate({"document": CONTRACT})
    assert type(report) is dict
    assert report == {"schema_version": 1, "kind": "contract", "valid": True, "problems": []}
    assert type(report["problems"]) is list


def test_keyword_arguments_are_the_request_fields() -> None:
    assert billwise.validate(document=CONTRACT) == billwise.validate({"document": CONTRACT})


def test_a_request_and_keyword_arguments_together_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        billwise.validate({"document": CONTRACT}, document=CONTRACT)


def test_problems_carry_code_path_and_message() -> None:
    report = billwise.validate(document=work_log(entry(hours="-2")))
    assert report["valid"] is False
    assert report["problems"] == [
        {
            "code": "DOCUMENT_NEGATIVE_AMOUNT",
            "message": "hours must not be negative (got `-2`)",
            "path": "/time_entries/0/hours",
        }
    ]


def test_to_json_is_canonical() -> None:
    value = {"b": [Decimal("1.50"), date(2026, 3, 2)], "a": {"z": None, "y": True}, "é": "\n"}
    assert billwise.to_json(value) == '{"a":{"y":true,"z":null},"b":["1.50","2026-03-02"],"é":"\\n"}'


def test_to_json_of_a_result_equals_run_output() -> None:
    request = {"document": work_log(entry(hours="25"))}
    assert billwise.to_json(billwise.validate(request)) == billwise.run("validate", request)


def test_run_refuses_an_unknown_operation() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.run("no_such_operation", {})
    assert caught.value.code == "INPUT_INVALID_VALUE"


# --- Decimal and date ------------------------------------------------------------------------

DOCUMENTS = sorted(EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_documents_read_back_with_decimal_and_date_and_the_core_bytes(path: Path) -> None:
    value, canonical = billwise._billwise._read_document(path.read_bytes())
    assert billwise.to_json(value) == canonical


def test_money_comes_back_as_decimal_and_dates_as_date() -> None:
    value, _ = billwise._billwise._read_document(CONTRACT)
    first = value["rate_card"]["entries"][0]  # type: ignore[index, call-overload]
    assert first["rate"] == {"amount": Decimal("395.00"), "currency": "USD"}
    assert type(first["rate"]["amount"]) is Decimal
    assert str(first["rate"]["amount"]) == "395.00"
    assert first["effective_from"] == date(2026, 1, 1)
    assert type(value["start_date"]) is date
    # Strings that merely look like numbers or dates stay strings.
    assert value["id"] == CONTRACT["id"] and type(value["id"]) is str


def test_decimal_and_date_inputs_round_trip_exactly() -> None:
    log = work_log(entry(hours=Decimal("7.25"), work_date=date(2026, 3, 2)))
    value, canonical = billwise._billwise._read_document(log)
    hours = value["time_entries"][0]["hours"]  # type: ignore[index, call-overload]
    assert hours == Decimal("7.25") and type(hours) is Decimal
    assert value["time_entries"][0]["work_date"] == date(2026, 3, 2)  # type: ignore[index, call-overload]
    assert '"hours":"7.25"' in canonical and '"work_date":"2026-03-02"' in canonical


def test_tiny_and_exponent_decimals_are_written_without_exponent() -> None:
    assert billwise.to_json(Decimal("1E-7")) == '"0.0000001"'
    assert billwise.to_json(Decimal("1.5E+3")) == '"1500"'
    report = billwise.validate(document=work_log(entry(hours=Decimal("1E-7"))))
    assert report["valid"] is True


def test_a_float_where_money_is_expected_is_refused_with_number_not_allowed() -> None:
    report = billwise.validate(document=work_log(entry(hours=7.5)))
    assert report["problems"][0]["code"] == "INPUT_NUMBER_NOT_ALLOWED"
    assert report["problems"][0]["path"] == "/time_entries/0/hours"
    assert "decimal string" in report["problems"][0]["message"]
    bad_contract = dict(CONTRACT, rate_card={"entries": [{"role": "X", "rate": {"amount": 100.0, "currency": "USD"}, "effective_from": "2026-01-01"}]})
    with pytest.raises(billwise.InputError) as caught:
        billwise.validate(document={"schema_version": 1, "kind": "change_order"}, contract=bad_contract)
    assert caught.value.code == "INPUT_NUMBER_NOT_ALLOWED"
    assert caught.value.path == "/contract/rate_card/entries/0/rate/amount"
    assert isinstance(caught.value, ValueError)


def test_nan_and_infinite_floats_are_refused_with_number_not_allowed() -> None:
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(billwise.InputError) as caught:
            billwise.validate(document=work_log(entry(hours=bad)))
        assert caught.value.code == "INPUT_NUMBER_NOT_ALLOWED"
        assert caught.value.path == "/document/time_entries/0/hours"


def test_a_datetime_is_not_taken_for_a_date() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.validate(document=work_log(entry(work_date=datetime(2026, 3, 2, 9, 30))))
    assert caught.value.code == "INPUT_INVALID_DATE"
    assert caught.value.path == "/document/time_entries/0/work_date"


# --- input forms -----------------------------------------------------------------------------


class FrozenMapping(Mapping[str, Any]):
    def __init__(self, data: Dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclasses.dataclass
class TimeEntry:
    id: str
    project_id: str
    task_id: str
    resource_id: str
    role: str
    work_date: date
    hours: Decimal
    status: str
    billable: Optional[bool] = None


@dataclasses.dataclass
class WorkLog:
    time_entries: List[TimeEntry]
    schema_version: int = 1
    kind: str = "work_log"


class Status(str, enum.Enum):
    APPROVED = "approved"


def test_every_input_form_gives_the_same_report() -> None:
    log = work_log(entry(hours="30"))
    expected = billwise.validate(document=log)
    text = json.dumps({"document": log})
    forms = [
        {"document": log},
        OrderedDict(document=log),
        FrozenMapping({"document": FrozenMapping(log)}),
        MappingProxyType({"document": log}),
        text,
        text.encode(),
        bytearray(text.encode()),
    ]
    for form in forms:
        assert billwise.validate(form) == expected, type(form)


def test_a_dataclass_is_read_field_by_field_with_none_fields_left_out() -> None:
    entry_ = TimeEntry("TE-1", "P-1", "T-1", "R-1", "Consultant", date(2026, 3, 2), Decimal("30"), "approved")
    report = billwise.validate(document=WorkLog([entry_]))
    assert [p["code"] for p in report["problems"]] == ["TIME_HOURS_OUT_OF_RANGE"]


def test_tuples_and_enums_are_read_as_lists_and_values() -> None:
    log = {"schema_version": 1, "kind": "work_log", "time_entries": (entry(status=Status.APPROVED),)}
    assert billwise.validate(document=log)["valid"] is True


def test_a_pydantic_model_is_read_through_model_dump() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Entry(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        id: str
        project_id: str
        task_id: str
        resource_id: str
        role: str
        work_date: date
        hours: Decimal
        status: str
        billable: Optional[bool] = None

    class Log(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        schema_version: int = 1
        kind: str = pydantic.Field(default="work_log")
        time_entries: List[Entry]

    model = Log(time_entries=[Entry(**entry(hours=Decimal("-1")))])
    report = billwise.validate(document=model)
    assert [p["code"] for p in report["problems"]] == ["DOCUMENT_NEGATIVE_AMOUNT"]


def test_an_object_that_is_not_json_names_its_type_and_path() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.validate(document=work_log(entry(hours=object())))
    assert caught.value.code == "INPUT_INVALID_TYPE"
    assert caught.value.path == "/document/time_entries/0/hours"
    assert "`object`" in caught.value.message


def test_non_string_keys_are_refused() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.validate(document={1: "x"})
    assert caught.value.code == "INPUT_INVALID_TYPE"


def test_an_exception_raised_by_a_mapping_is_passed_on_unchanged() -> None:
    class Broken(FrozenMapping):
        def __iter__(self) -> Iterator[str]:
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        billwise.validate(document=Broken({}))


# --- exceptions ------------------------------------------------------------------------------


def test_exceptions_form_one_hierarchy_under_billwise_error() -> None:
    for cls in (
        billwise.InputError,
        billwise.SchemaVersionError,
        billwise.LimitExceededError,
        billwise.IdempotencyConflictError,
        billwise.VersionConflictError,
        billwise.RuleError,
        billwise.StoreError,
        billwise.InternalError,
    ):
        assert issubclass(cls, billwise.BillwiseError)
    assert issubclass(billwise.BillwiseError, Exception)
    assert issubclass(billwise.InputError, ValueError)
    assert issubclass(billwise.SchemaVersionError, billwise.InputError)
    assert issubclass(billwise.LimitExceededError, billwise.InputError)


def test_malformed_json_raises_input_error_with_code_path_and_details() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.validate('{"document": ')
    e = caught.value
    assert e.code == "INPUT_MALFORMED_JSON"
    assert e.path == ""
    assert e.details["line"] == 1 and isinstance(e.details["column"], int)
    assert str(e).startswith("INPUT_MALFORMED_JSON: the input is not valid JSON")


def test_an_unsupported_schema_version_raises_schema_version_error() -> None:
    with pytest.raises(billwise.SchemaVersionError) as caught:
        billwise.validate(schema_version=2, document=CONTRACT)
    assert caught.value.code == "SCHEMA_VERSION_UNSUPPORTED"
    assert caught.value.path == "/schema_version"
    # The core drops `details` of errors raised while parsing (here `supported`); see the report.


def test_nesting_past_the_limit_raises_limit_exceeded_error() -> None:
    deep: Any = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(billwise.LimitExceededError) as caught:
        billwise.validate(document=deep)
    assert caught.value.code == "INPUT_LIMIT_EXCEEDED"
    assert caught.value.details == {"limit": "max_depth", "max": 64}
    assert caught.value.path == "/document" + "/0" * 63


# The classes as `spec/errors.md` (generated from the core's table) names their exceptions: the
# same mapping the Node and WebAssembly suites check theirs against.
EXCEPTION_OF_CLASS = {
    "input": billwise.InputError,
    "schema_version": billwise.SchemaVersionError,
    "limit_exceeded": billwise.LimitExceededError,
    "idempotency_conflict": billwise.IdempotencyConflictError,
    "version_conflict": billwise.VersionConflictError,
    "rule": billwise.RuleError,
    "store": billwise.StoreError,
    "validation": billwise.InputError,
    "internal": billwise.InternalError,
}


def test_every_error_class_has_an_exception() -> None:
    assert set(EXCEPTION_OF_CLASS) == set(typing.get_args(bt.ErrorClass))


@pytest.mark.parametrize("code", list(billwise.ERROR_CODES))
def test_each_code_raises_the_exception_the_core_names_for_it(code: str) -> None:
    info = billwise.ERROR_CODES[code]
    expected = getattr(billwise, info.exception)
    assert expected is EXCEPTION_OF_CLASS[info.error_class]  # type: ignore[index]
    with pytest.raises(billwise.BillwiseError) as caught:
        billwise._billwise._raise_for_tests(code)
    assert type(caught.value) is expected
    assert (caught.value.code, caught.value.message, caught.value.path, caught.value.details) == (
        code,
        "raised for a test",
        "/x",
        {"k": 1},
    )


def test_exceptions_survive_pickling_with_their_attributes() -> None:
    with pytest.raises(billwise.InputError) as caught:
        billwise.validate("{")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is billwise.InputError
    assert (copy.code, copy.message, copy.path, copy.details, str(copy)) == (
        caught.value.code,
        caught.value.message,
        caught.value.path,
        caught.value.details,
        str(caught.value),
    )


def test_a_panic_in_the_core_becomes_internal_error_not_panic_exception() -> None:
    with pytest.raises(billwise.InternalError) as caught:
        billwise._billwise._panic_for_tests()
    assert caught.value.code == "INTERNAL_ERROR"
    assert "please report it" in caught.value.message


# --- threads ---------------------------------------------------------------------------------


def test_calls_from_a_thread_pool_give_the_same_answers() -> None:
    requests = [{"document": work_log(entry(hours=str(h)))} for h in range(-3, 30)]
    expected = [billwise.to_json(billwise.validate(r)) for r in requests]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(5):
            got = list(pool.map(lambda r: billwise.to_json(billwise.validate(r)), requests))
            assert got == expected


def test_the_core_runs_with_the_gil_released() -> None:
    import threading
    import time

    entries = [entry(id=f"TE-{i}") for i in range(60_000)]
    text = json.dumps({"document": work_log(*entries)}).encode()
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
        time.sleep(0.2)  # sleeping releases the GIL: the spinner's full speed
        rate = (ticks - before) / (time.perf_counter() - start)
        shares = []
        for _ in range(3):
            before, start = ticks, time.perf_counter()
            billwise.validate(text)  # bytes in, a small report out: nearly all the time is in the core
            shares.append((ticks - before) / (rate * (time.perf_counter() - start)))
    finally:
        done.set()
        spinner.join()
    # Holding the GIL would leave the spinner a switch interval or two (a few ms) per call.
    assert max(shares) > 0.25, shares


# --- types -----------------------------------------------------------------------------------

SCHEMA_TYPES = {
    "Contract": ("contract.schema.json", None),
    "RateCard": ("contract.schema.json", "RateCard"),
    "RateEntry": ("contract.schema.json", "RateEntry"),
    "Ceiling": ("contract.schema.json", "Ceiling"),
    "ExpensePolicy": ("contract.schema.json", "ExpensePolicy"),
    "RoundingPolicy": ("contract.schema.json", "RoundingPolicy"),
    "Milestone": ("contract.schema.json", "Milestone"),
    "Retainer": ("contract.schema.json", "Retainer"),
    "Money": ("contract.schema.json", "Money"),
    "WorkLog": ("work_log.schema.json", None),
    "TimeEntry": ("work_log.schema.json", "TimeEntry"),
    "Expense": ("work_log.schema.json", "Expense"),
    "ValidateRequest": ("api/validate.request.schema.json", None),
    "ValidateResponse": ("api/validate.response.schema.json", None),
    "Problem": ("api/validate.response.schema.json", "Problem"),
    "PreviewInvoiceRequest": ("api/preview_invoice.request.schema.json", None),
    "Period": ("api/preview_invoice.request.schema.json", "Period"),
    "Project": ("api/preview_invoice.request.schema.json", "Project"),
    "Task": ("api/preview_invoice.request.schema.json", "Task"),
    "ChangeOrder": ("api/preview_invoice.request.schema.json", "ChangeOrder"),
    "BilledLedger": ("api/preview_invoice.request.schema.json", "BilledLedger"),
    "LedgerEntry": ("api/preview_invoice.request.schema.json", "LedgerEntry"),
    "LedgerCredit": ("api/preview_invoice.request.schema.json", "LedgerCredit"),
    "BillingOptions": ("api/preview_invoice.request.schema.json", "BillingOptions"),
    "InvoicePreview": ("api/preview_invoice.response.schema.json", None),
    "PreviewLine": ("api/preview_invoice.response.schema.json", "PreviewLine"),
    "AdjustmentLine": ("api/preview_invoice.response.schema.json", "AdjustmentLine"),
    "HeldItem": ("api/preview_invoice.response.schema.json", "HeldItem"),
    "Totals": ("api/preview_invoice.response.schema.json", "Totals"),
    "AgingBucket": ("api/preview_invoice.response.schema.json", "AgingBucket"),
    "HeldByReason": ("api/preview_invoice.response.schema.json", "HeldByReason"),
    "Summary": ("api/preview_invoice.response.schema.json", "Summary"),
    "CeilingStatus": ("api/preview_invoice.response.schema.json", "CeilingStatus"),
    "RetainerStatus": ("api/preview_invoice.response.schema.json", "RetainerStatus"),
    "CommitInvoiceRequest": ("api/commit_invoice.request.schema.json", None),
    "CommitInvoiceResponse": ("api/commit_invoice.response.schema.json", None),
    "RecordCreditRequest": ("api/record_credit.request.schema.json", None),
    "TransitionRequest": ("api/transition.request.schema.json", None),
    "GuardContext": ("api/transition.request.schema.json", "GuardContext"),
    "TransitionResponse": ("api/transition.response.schema.json", None),
    "TransitionRejection": ("api/transition.response.schema.json", "TransitionRejection"),
    "DescribeMachinesRequest": ("api/describe_machines.request.schema.json", None),
    "DescribeMachinesResponse": ("api/describe_machines.response.schema.json", None),
    "RateQuery": ("api/resolve_rate.request.schema.json", "RateQueryDoc"),
    "ResolveRateRequest": ("api/resolve_rate.request.schema.json", None),
    "ResolveRateResponse": ("api/resolve_rate.response.schema.json", None),
    "ApplyChangeOrderRequest": ("api/apply_change_order.request.schema.json", None),
    "ApplyChangeOrderResponse": ("api/apply_change_order.response.schema.json", None),
    "OwnershipPolicy": ("api/check_update.request.schema.json", "OwnershipPolicy"),
    "OwnershipRule": ("api/check_update.request.schema.json", "OwnershipRule"),
    "ActivationPolicy": ("api/check_update.request.schema.json", "ActivationPolicy"),
    "CheckUpdateRequest": ("api/check_update.request.schema.json", None),
    "CheckUpdateResponse": ("api/check_update.response.schema.json", None),
    "FieldDecision": ("api/check_update.response.schema.json", "FieldDecision"),
    "GoldenRecordRequest": ("api/golden_record.request.schema.json", None),
    "GoldenRecordResponse": ("api/golden_record.response.schema.json", None),
    "UnresolvedField": ("api/golden_record.response.schema.json", "UnresolvedField"),
    "ReconcileRequest": ("api/reconcile.request.schema.json", None),
    "CrossRef": ("api/reconcile.request.schema.json", "CrossRef"),
    "ReconcileResponse": ("api/reconcile.response.schema.json", None),
    "Correction": ("api/reconcile.response.schema.json", "Correction"),
    "Finding": ("api/reconcile.response.schema.json", "Finding"),
    "Mismatch": ("api/reconcile.response.schema.json", "Mismatch"),
    "ReconcileSummary": ("api/reconcile.response.schema.json", "Summary"),
    "CheckActivationRequest": ("api/check_activation.request.schema.json", None),
    "CheckActivationResponse": ("api/check_activation.response.schema.json", None),
    "Account": ("api/check_activation.request.schema.json", "Account"),
    "Opportunity": ("api/check_activation.request.schema.json", "Opportunity"),
    "EngineReplayRequest": ("api/engine_replay.request.schema.json", None),
    "EngineApplyRequest": ("api/engine_apply.request.schema.json", None),
    "EngineResponse": ("api/engine_apply.response.schema.json", None),
    "Envelope": ("api/engine_apply.request.schema.json", "Envelope"),
    "AuditChange": ("api/engine_apply.request.schema.json", "AuditChange"),
    "AuditEntry": ("api/engine_apply.request.schema.json", "AuditEntry"),
    "ExceptionEntry": ("api/engine_apply.request.schema.json", "ExceptionEntry"),
    "Processed": ("api/engine_apply.request.schema.json", "Processed"),
    "Payment": ("api/engine_apply.request.schema.json", "Payment"),
    "InvoiceRecord": ("api/engine_apply.request.schema.json", "InvoiceRecord"),
    "World": ("api/engine_apply.request.schema.json", "World"),
    "Snapshot": ("api/engine_apply.request.schema.json", "Snapshot"),
    "PreviewQuery": ("api/engine_apply.request.schema.json", "PreviewQuery"),
    "AuditBreak": ("api/engine_apply.response.schema.json", "AuditBreak"),
    "AuditVerification": ("api/engine_apply.response.schema.json", "AuditVerification"),
    "Outcome": ("api/engine_apply.response.schema.json", "Outcome"),
    "Rejection": ("api/engine_apply.response.schema.json", "Rejection"),
    "ExceptionCount": ("api/engine_apply.response.schema.json", "ExceptionCount"),
    "Unbilled": ("api/engine_apply.response.schema.json", "Unbilled"),
    "Metrics": ("api/engine_apply.response.schema.json", "Metrics"),
}


def test_literals_follow_the_json_schema() -> None:
    def consts(file: str, definition: str) -> List[str]:
        schema = json.loads((SPEC / "schema" / "v1" / file).read_text())
        return [k["const"] for k in schema["$defs"][definition]["oneOf"]]

    assert list(typing.get_args(bt.HoldReason)) == consts("api/preview_invoice.response.schema.json", "HoldReason")
    assert list(typing.get_args(bt.ItemKind)) == consts("api/preview_invoice.response.schema.json", "ItemKind")
    assert list(typing.get_args(bt.MachineName)) == consts("api/transition.request.schema.json", "MachineName")


@pytest.mark.parametrize("name", sorted(SCHEMA_TYPES))
def test_typed_dict_keys_follow_the_json_schema(name: str) -> None:
    file, definition = SCHEMA_TYPES[name]
    schema = json.loads((SPEC / "schema" / "v1" / file).read_text())
    if definition is not None:
        schema = schema["$defs"][definition]
    typed = getattr(bt, name)
    assert set(typed.__annotations__) == set(schema["properties"]), name
    assert set(typed.__required_keys__) == set(schema.get("required", [])), name


def test_the_package_is_marked_typed() -> None:
    from importlib.resources import files

    assert files("billwise").joinpath("py.typed").is_file()
    assert files("billwise").joinpath("_billwise.pyi").is_file()


# --- the billing run and the state machines --------------------------------------------------


def billing_case(name: str) -> Dict[str, Any]:
    case: Dict[str, Any] = json.loads((SPEC / "cases" / "billing" / "preview_invoice" / f"{name}.json").read_text())
    return case


def test_preview_invoice_gives_decimal_money_and_date_values() -> None:
    case = billing_case("001-approved-entry-billed")
    preview = billwise.preview_invoice(case["input"])
    line = preview["lines"][0]
    assert line["amount"] == {"amount": Decimal("1200.00"), "currency": "USD"}
    assert type(line["amount"]["amount"]) is Decimal
    assert str(line["amount"]["amount"]) == "1200.00"
    assert type(line["date"]) is date
    assert type(preview["as_of"]) is date
    assert type(preview["period"]["start"]) is date
    assert billwise.to_json(preview) == billwise.to_json(case["expect"]["result"])


def test_the_garbage_collector_runs_again_after_a_result_is_converted() -> None:
    request = billing_case("001-approved-entry-billed")["input"]
    assert gc.isenabled()
    billwise.preview_invoice(request)
    assert gc.isenabled()
    with pytest.raises(billwise.InputError):
        billwise.preview_invoice({**request, "as_of": "not a date"})
    assert gc.isenabled()


def test_a_garbage_collector_the_caller_disabled_stays_disabled() -> None:
    request = billing_case("001-approved-entry-billed")["input"]
    gc.disable()
    try:
        preview = billwise.preview_invoice(request)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert preview["lines"][0]["amount"]["amount"] == Decimal("1200.00")


def test_preview_invoice_accepts_native_decimals_and_dates_in_documents() -> None:
    request = billing_case("001-approved-entry-billed")["input"]
    native = json.loads(json.dumps(request))
    native["as_of"] = date.fromisoformat(native["as_of"])
    native["time_entries"][0]["hours"] = Decimal(native["time_entries"][0]["hours"])
    native["time_entries"][0]["work_date"] = date.fromisoformat(native["time_entries"][0]["work_date"])
    assert billwise.preview_invoice(native) == billwise.preview_invoice(request)
    assert billwise.preview_invoice(**native) == billwise.preview_invoice(request)


def test_float_money_in_a_billing_run_is_refused_at_its_path() -> None:
    request = json.loads(json.dumps(billing_case("001-approved-entry-billed")["input"]))
    request["contract"]["rate_card"]["entries"][0]["rate"]["amount"] = 150.0
    with pytest.raises(billwise.InputError) as caught:
        billwise.preview_invoice(request)
    assert caught.value.code == "INPUT_NUMBER_NOT_ALLOWED"
    assert caught.value.path == "/contract/rate_card/entries/0/rate/amount"


def test_commit_then_credit_round_trips_the_ledger_through_python_values() -> None:
    run = billing_case("001-approved-entry-billed")["input"]
    committed = billwise.commit_invoice(invoice_id="INV-1", run=run)
    ledger = committed["ledger"]
    assert [e["invoice_id"] for e in ledger["entries"]] == ["INV-1"] * len(ledger["entries"])
    entry = ledger["entries"][0]
    credited = billwise.record_credit(
        ledger=ledger,
        currency="USD",
        credits=[{"credit_note_id": "CN-1", "kind": entry["kind"], "item_id": entry["item_id"], "quantity": Decimal("1")}],
    )
    # One hour back at the billed 150.00 an hour.
    assert credited["credits"] == [
        {
            "credit_note_id": "CN-1",
            "kind": entry["kind"],
            "item_id": entry["item_id"],
            "quantity": Decimal("1"),
            "amount": {"amount": Decimal("150.00"), "currency": "USD"},
            # Nothing of it had counted against a ceiling (the contract has none).
            "ceiling_share": {"amount": Decimal("0.00"), "currency": "USD"},
        }
    ]
    again = billwise.preview_invoice({**run, "ledger": credited})
    assert again["lines"] != []


def test_a_refused_transition_is_a_result_not_an_exception() -> None:
    result = billwise.transition(machine="invoice", state="draft", event="post", source="crm")
    assert result["allowed"] is False
    assert result["rejection"] is not None
    assert result["rejection"]["code"] in billwise.ERROR_CODES


def test_a_transition_guard_reads_a_decimal_context() -> None:
    def pay(balance_after: Any) -> Any:
        return billwise.transition(
            machine="invoice",
            state="posted",
            event="payment_received",
            source="billing",
            context={"balance_after": balance_after},
        )

    assert pay(Decimal("250.00"))["next_state"] == "partially_paid"
    assert pay(Decimal("0.00"))["next_state"] == "paid"
    with pytest.raises(billwise.InputError) as caught:
        pay(0.5)
    assert caught.value.code == "INPUT_NUMBER_NOT_ALLOWED"
    assert caught.value.path == "/context/balance_after"


def test_describe_machines_lists_every_machine_without_arguments() -> None:
    described = billwise.describe_machines()
    assert [m["name"] for m in described["machines"]] == list(typing.get_args(bt.MachineName))
    one = billwise.describe_machines(machine="invoice")
    assert [m["name"] for m in one["machines"]] == ["invoice"]
