"""The native module of billwise (built from ``bindings-python/src``). Import ``billwise`` instead."""

from typing import Any, Dict, Optional, Tuple, overload

from typing_extensions import Unpack

from billwise.types import (
    JSON,
    ApplyChangeOrderRequest,
    ApplyChangeOrderResponse,
    ResolveRateRequest,
    ResolveRateResponse,
    BilledLedger,
    CommitInvoiceRequest,
    CommitInvoiceResponse,
    DescribeMachinesRequest,
    DescribeMachinesResponse,
    InvoicePreview,
    PreviewInvoiceRequest,
    RecordCreditRequest,
    Request,
    TransitionRequest,
    TransitionResponse,
    ValidateRequest,
    ValidateResponse,
)

__version__: str
"""The version of billwise."""

SCHEMA_VERSION: int
"""The schema version this build reads and writes (always 1)."""

OPERATIONS: Tuple[str, ...]
"""The operation names ``run`` accepts."""

__all__ = [
    "validate",
    "preview_invoice",
    "commit_invoice",
    "record_credit",
    "transition",
    "describe_machines",
    "resolve_rate",
    "apply_change_order",
    "check_update",
    "golden_record",
    "reconcile",
    "check_activation",
    "engine_replay",
    "engine_apply",
    "run",
    "to_json",
    "_read_document",
    "_panic_for_tests",
    "_raise_for_tests",
    "__version__",
    "SCHEMA_VERSION",
    "OPERATIONS",
    "_ERROR_TABLE",
]

_ERROR_TABLE: Tuple[Tuple[str, str, str], ...]

@overload
def validate(request: Request, /) -> ValidateResponse:
    """Validates one document and reports every problem found.

    Pass the request as one argument (``{"document": ..., "kind"?: ..., "contract"?: ...}``) or
    its fields as keyword arguments: ``validate(document=contract)``. A document that reads but
    breaks rules gives ``valid: False`` and its problems; a document that cannot be read at all
    raises ``InputError`` (or a subclass).
    """
@overload
def validate(request: None = None, /, **fields: Unpack[ValidateRequest]) -> ValidateResponse: ...

@overload
def preview_invoice(request: Request, /) -> InvoicePreview:
    """Previews the invoice of one contract for a period: lines, held items, totals, summary.

    The request is ``{"contract", "period", "as_of", "time_entries"?, "expenses"?, "milestones"?,
    "projects"?, "change_orders"?, "ledger"?, "options"?}`` (or the same as keyword arguments).
    Amounts come back as ``Decimal``, dates as ``date``; see ``spec/domain/billing.md``.
    """
@overload
def preview_invoice(request: None = None, /, **fields: Unpack[PreviewInvoiceRequest]) -> InvoicePreview: ...
@overload
def commit_invoice(request: Request, /) -> CommitInvoiceResponse:
    """Previews a billing run and records its lines in the ledger as invoice ``invoice_id``.

    The request is ``{"invoice_id", "run"}`` where ``run`` is a ``preview_invoice`` request whose
    ``ledger`` is the ledger before. Returns the preview and the ledger after.
    """
@overload
def commit_invoice(request: None = None, /, **fields: Unpack[CommitInvoiceRequest]) -> CommitInvoiceResponse: ...
@overload
def record_credit(request: Request, /) -> BilledLedger:
    """Adds credit notes to a ledger after checking each gives back no more than was billed.

    The request is ``{"ledger", "currency", "credits"}``; returns the ledger after.
    """
@overload
def record_credit(request: None = None, /, **fields: Unpack[RecordCreditRequest]) -> BilledLedger: ...
@overload
def transition(request: Request, /) -> TransitionResponse:
    """Applies an event to an entity's state in one lifecycle machine, without side effects.

    The request is ``{"machine", "state", "event", "source", "context"?}``. A refusal is a result
    with ``allowed: False`` and its ``rejection``; an unknown state or event raises ``InputError``.
    """
@overload
def transition(request: None = None, /, **fields: Unpack[TransitionRequest]) -> TransitionResponse: ...
@overload
def describe_machines(request: Request, /) -> DescribeMachinesResponse:
    """Describes the lifecycle machines (every one, or ``machine``): states, events, guards,
    transitions and effects."""
@overload
def describe_machines(
    request: None = None, /, **fields: Unpack[DescribeMachinesRequest]
) -> DescribeMachinesResponse: ...

@overload
def resolve_rate(request: Request, /) -> ResolveRateResponse:
    """Resolves the rate in force for work of a role (and person, task) on a day.

    The request is ``{"contract", "query": {"role", "work_date", "resource_id"?, "task_id"?,
    "rate_override"?}, "change_orders"?}``; returns the rate, its source and an explanation, or
    ``outcome: "missing_rate"``.
    """
@overload
def resolve_rate(request: None = None, /, **fields: Unpack[ResolveRateRequest]) -> ResolveRateResponse: ...
@overload
def apply_change_order(request: Request, /) -> ApplyChangeOrderResponse:
    """Applies the next approved change order to a contract.

    The request is ``{"contract", "change_order", "change_orders"?, "ledger"?}``; returns the new
    contract version, what changed and adjustment lines for billed work a retroactive change
    re-prices.
    """
@overload
def apply_change_order(
    request: None = None, /, **fields: Unpack[ApplyChangeOrderRequest]
) -> ApplyChangeOrderResponse: ...

def check_update(request: Optional[Request] = None, /, **fields: Any) -> Dict[str, JSON]:
    """Decides, field by field, whether a system may write an update to an entity under the
    ownership policy at the entity's lifecycle stage (see ``spec/domain/ownership.md``)."""

def golden_record(request: Optional[Request] = None, /, **fields: Any) -> Dict[str, JSON]:
    """Builds the golden record of an entity from every system's record, each field from the
    system that owns it."""

def reconcile(request: Optional[Request] = None, /, **fields: Any) -> Dict[str, JSON]:
    """Compares the records systems hold for the same entities and reports every disagreement."""

def check_activation(request: Optional[Request] = None, /, **fields: Any) -> Dict[str, JSON]:
    """Checks whether a won opportunity can become a project: every activation gate."""

def engine_replay(request: Optional[Request] = None, /, **fields: Any) -> Dict[str, JSON]:
    """Replays an event log through a fresh engine and returns its state, exceptions and audit."""

def engine_apply(request: Optional[Request] = None, /, **fields: Any) -> Dict[str, JSON]:
    """Applies events to an engine restored from a snapshot (or a fresh one)."""

def run(op: str, request: Request, /) -> str:
    """Runs operation ``op`` on a request and returns the response as canonical JSON text."""

def to_json(value: Any, /) -> str:
    """Canonical JSON of a value: keys sorted, no whitespace, ``Decimal`` as an exact decimal
    string, ``date`` as ``YYYY-MM-DD``. Equal to the bytes every billwise runtime produces."""

def _read_document(document: Request, /) -> Tuple[Dict[str, JSON], str]: ...
def _panic_for_tests() -> None: ...
def _raise_for_tests(code: str, /) -> None: ...
