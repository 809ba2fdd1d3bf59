"""Types of billwise's documents, requests and responses.

Every name here exists at runtime, so it can be used in annotations and ``isinstance``-free code
alike. The ``TypedDict`` s follow the JSON Schemas in ``spec/schema/v1`` (a test keeps them in
step). In documents you pass in, decimals may be ``decimal.Decimal`` or decimal strings and dates
``datetime.date`` or ``YYYY-MM-DD`` strings; results always carry ``Decimal`` and ``date``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Literal, Mapping, Optional, Protocol, TypedDict, Union

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

__all__ = [
    "JSON",
    "DecimalLike",
    "DateLike",
    "ErrorCode",
    "ErrorClass",
    "DocumentKind",
    "DataclassLike",
    "ModelLike",
    "Request",
    "Money",
    "RateEntry",
    "RateCard",
    "Ceiling",
    "ExpensePolicy",
    "RoundingPolicy",
    "Milestone",
    "Retainer",
    "Contract",
    "TimeEntry",
    "Expense",
    "WorkLog",
    "Problem",
    "ValidateRequest",
    "ValidateResponse",
    "ValidateBatchRequest",
    "ItemReport",
    "ValidateBatchResponse",
    "ItemKind",
    "HoldReason",
    "Period",
    "Task",
    "Project",
    "ChangeOrder",
    "LedgerEntry",
    "LedgerCredit",
    "BilledLedger",
    "BillingOptions",
    "PreviewInvoiceRequest",
    "PreviewLine",
    "AdjustmentLine",
    "HeldItem",
    "Totals",
    "AgingBucket",
    "HeldByReason",
    "Summary",
    "CeilingStatus",
    "RetainerStatus",
    "InvoicePreview",
    "CommitInvoiceRequest",
    "CommitInvoiceResponse",
    "RecordCreditRequest",
    "MachineName",
    "GuardContext",
    "TransitionRequest",
    "TransitionRejection",
    "TransitionResponse",
    "DescribeMachinesRequest",
    "DescribeMachinesResponse",
    "RateQuery",
    "ResolveRateRequest",
    "ResolveRateResponse",
    "ApplyChangeOrderRequest",
    "ApplyChangeOrderResponse",
    "OwnershipRule",
    "ActivationPolicy",
    "OwnershipPolicy",
    "CheckUpdateRequest",
    "FieldDecision",
    "CheckUpdateResponse",
    "GoldenRecordRequest",
    "UnresolvedField",
    "GoldenRecordResponse",
    "CrossRef",
    "ReconcileRequest",
    "Mismatch",
    "Finding",
    "Correction",
    "ReconcileSummary",
    "ReconcileResponse",
    "Account",
    "Opportunity",
    "CheckActivationRequest",
    "CheckActivationResponse",
    "Event",
    "Envelope",
    "AuditChange",
    "AuditEntry",
    "AuditBreak",
    "AuditVerification",
    "Rejection",
    "Outcome",
    "ApplyBatchResponse",
    "ExceptionEntry",
    "Processed",
    "Payment",
    "InvoiceRecord",
    "World",
    "Snapshot",
    "PreviewQuery",
    "ExceptionCount",
    "Unbilled",
    "Metrics",
    "EngineReplayRequest",
    "EngineApplyRequest",
    "EngineResponse",
    "ExceptionStatus",
    "StoreApplied",
    "StoredException",
    "TraceStep",
    "Trace",
    "ReplayReport",
    "Verification",
]

JSON = Union[None, bool, int, str, Decimal, date, List["JSON"], Dict[str, "JSON"]]
"""A value as billwise returns it: JSON with ``Decimal`` for decimals and ``date`` for dates."""

DecimalLike = Union[Decimal, str]
"""An exact decimal: ``Decimal("1500.00")`` or ``"1500.00"`` (never a ``float``)."""

DateLike = Union[date, str]
"""A calendar date: ``date(2026, 3, 2)`` or ``"2026-03-02"``."""

ErrorCode: TypeAlias = Literal[
    "INPUT_MALFORMED_JSON",
    "INPUT_INVALID_TYPE",
    "INPUT_UNKNOWN_FIELD",
    "INPUT_MISSING_FIELD",
    "INPUT_DUPLICATE_KEY",
    "INPUT_INVALID_VALUE",
    "INPUT_INVALID_DECIMAL",
    "INPUT_NUMBER_NOT_ALLOWED",
    "INPUT_INVALID_DATE",
    "INPUT_UNKNOWN_CURRENCY",
    "INPUT_INVALID_ID",
    "INPUT_INVALID_SYSTEM",
    "INPUT_UNKNOWN_KIND",
    "INPUT_LIMIT_EXCEEDED",
    "SCHEMA_VERSION_UNSUPPORTED",
    "MONEY_OVERFLOW",
    "MONEY_CURRENCY_MISMATCH",
    "MONEY_INVALID_SCALE",
    "DOCUMENT_DUPLICATE_ID",
    "DOCUMENT_EMPTY_FIELD",
    "DOCUMENT_DATE_ORDER",
    "DOCUMENT_NEGATIVE_AMOUNT",
    "DOCUMENT_INVALID_PERCENT",
    "DOCUMENT_INCONSISTENT_TOTALS",
    "CONTRACT_MODEL_TERMS",
    "CONTRACT_MILESTONE_AMOUNT",
    "CONTRACT_INVALID_TIME_INCREMENT",
    "TIME_HOURS_OUT_OF_RANGE",
    "EXPENSE_INVALID_FX_RATE",
    "ACCOUNT_HIERARCHY_CYCLE",
    "RATES_ENTRY_TARGET",
    "RATES_AMBIGUOUS_ENTRY",
    "RATES_NON_POSITIVE_RATE",
    "RATES_OVERLAPPING_ENTRIES",
    "RATES_INVALID_HOURS_PER_DAY",
    "CHANGES_UNKNOWN_TARGET",
    "CHANGES_WRONG_CONTRACT",
    "CHANGES_DUPLICATE_SEQUENCE",
    "CHANGES_EMPTY",
    "CHANGES_INVALID_SEQUENCE",
    "CHANGES_MISSING_APPROVAL_DATE",
    "CHANGES_NOT_APPROVED",
    "CHANGES_OUT_OF_SEQUENCE",
    "CHANGES_CEILING_BELOW_BILLED",
    "CHANGES_MILESTONE_BILLED",
    "CHANGES_NO_CEILING",
    "CHANGES_HISTORY_MISMATCH",
    "OWNERSHIP_CONFLICT",
    "OWNERSHIP_UNKNOWN_ENTITY",
    "OWNERSHIP_UNKNOWN_FIELD",
    "OWNERSHIP_UNKNOWN_STAGE",
    "OWNERSHIP_UNCOVERED_STAGE",
    "OWNERSHIP_NOT_OWNER",
    "OWNERSHIP_NO_OWNER",
    "OWNERSHIP_STRICT_REJECTED",
    "RECONCILE_MISSING_ID",
    "RECONCILE_DUPLICATE_RECORD",
    "RECONCILE_CROSS_REF_CONFLICT",
    "ACTIVATION_NOT_WON",
    "ACTIVATION_UNKNOWN_ACCOUNT",
    "ACTIVATION_MISSING_ERP_ID",
    "ACTIVATION_INACTIVE_ACCOUNT",
    "ACTIVATION_MISSING_FIELD",
    "ACTIVATION_CURRENCY_NOT_ALLOWED",
    "ACTIVATION_UNKNOWN_PARENT",
    "ACTIVATION_HIERARCHY_CYCLE",
    "LEDGER_UNKNOWN_ITEM",
    "LEDGER_INVALID_CREDIT",
    "LEDGER_WRONG_CONTRACT",
    "LEDGER_DUPLICATE_INVOICE",
    "LEDGER_ZERO_CREDIT",
    "LEDGER_ADJUSTED_LATER",
    "MACHINE_TRANSITION_NOT_ALLOWED",
    "MACHINE_SOURCE_NOT_ALLOWED",
    "MACHINE_GUARD_FAILED",
    "AUDIT_ENTRY_TAMPERED",
    "AUDIT_ENTRY_MISSING",
    "AUDIT_CHAIN_BROKEN",
    "AUDIT_HEAD_MISMATCH",
    "ENGINE_IDEMPOTENCY_CONFLICT",
    "ENGINE_VERSION_CONFLICT",
    "ENGINE_UNKNOWN_ENTITY",
    "ENGINE_NO_CONTRACT",
    "ENGINE_WRONG_CONTRACT",
    "ENGINE_FIELD_NOT_BY_UPSERT",
    "ENGINE_ITEM_LOCKED",
    "ENGINE_ALREADY_EXISTS",
    "ENGINE_EMPTY_INVOICE",
    "ENGINE_BATCH_ABORTED",
    "ENGINE_INVALID_SNAPSHOT",
    "ENGINE_INVALID_TIMESTAMP",
    "STORE_INVALID_URL",
    "STORE_UNAVAILABLE",
    "STORE_CORRUPT",
    "STORE_SCHEMA_TOO_NEW",
    "STORE_NOT_FOUND",
    "STORE_POLICY_MISMATCH",
    "INTERNAL_ERROR",
]
"""Every stable error and problem code (``billwise.ERROR_CODES`` describes each)."""

ErrorClass: TypeAlias = Literal[
    "input",
    "schema_version",
    "limit_exceeded",
    "validation",
    "idempotency_conflict",
    "version_conflict",
    "rule",
    "store",
    "internal",
]
"""How a code is surfaced: ``validation`` codes appear as problems in reports, the others raise."""

DocumentKind: TypeAlias = Literal[
    "account",
    "opportunity",
    "contract",
    "change_order",
    "project",
    "work_log",
    "invoice",
    "payment",
    "ownership_policy",
]
"""The kind of a top-level document."""


class DataclassLike(Protocol):
    """Any dataclass instance (its fields become the object's members)."""

    __dataclass_fields__: ClassVar[Dict[str, Any]]


class ModelLike(Protocol):
    """Any pydantic model (read through ``model_dump(by_alias=True, exclude_none=True)``)."""

    def model_dump(self, *, by_alias: bool = ..., exclude_none: bool = ...) -> Dict[str, Any]: ...


Request = Union[Mapping[str, Any], DataclassLike, ModelLike, str, bytes, bytearray]
"""A request or document: a mapping, a dataclass, a pydantic model, or JSON text."""


class Money(TypedDict):
    """An exact amount in one currency: ``{"amount": "1500.00", "currency": "USD"}``."""

    amount: DecimalLike
    currency: str


class _RateEntryRequired(TypedDict):
    rate: Money
    effective_from: DateLike


class RateEntry(_RateEntryRequired, total=False):
    """One rate: for a role or a person (exactly one), optionally one task, from a date."""

    role: Optional[str]
    resource_id: Optional[str]
    task_id: Optional[str]
    unit: Literal["hour", "day"]
    effective_to: Optional[DateLike]


class _RateCardRequired(TypedDict):
    entries: List[RateEntry]


class RateCard(_RateCardRequired, total=False):
    """A contract's rates."""

    hours_per_day: DecimalLike


class _CeilingRequired(TypedDict):
    amount: Money


class Ceiling(_CeilingRequired, total=False):
    """A not-to-exceed amount."""

    mode: str
    scope: str


class ExpensePolicy(TypedDict, total=False):
    """Which expense categories bill, and the markup."""

    billable_categories: List[str]
    markup_percent: DecimalLike


class RoundingPolicy(TypedDict, total=False):
    """How lines and hours are rounded."""

    mode: Literal["half_up", "half_even"]
    time_increment: Optional[DecimalLike]
    time_rounding: Optional[Literal["up", "down", "nearest"]]


class _MilestoneRequired(TypedDict):
    id: str
    name: str
    due_date: DateLike
    status: Literal["pending", "completed", "accepted", "rejected", "billed"]


class Milestone(_MilestoneRequired, total=False):
    """A deliverable billed as a fixed amount or a percentage of the fee."""

    amount: Optional[Money]
    percent: Optional[DecimalLike]


class Retainer(TypedDict):
    """A prepaid retainer."""

    amount: Money


_ContractRequired = TypedDict(
    "_ContractRequired",
    {
        "schema_version": int,
        "id": str,
        "account_id": str,
        "legal_entity": str,
        "currency": str,
        "billing_model": str,
        "status": Literal["draft", "negotiation", "signed", "active", "completed", "terminated"],
        "start_date": DateLike,
        "end_date": DateLike,
        "rate_card": RateCard,
    },
)


class Contract(_ContractRequired, total=False):
    """A contract (see ``spec/schema/v1/contract.schema.json``)."""

    kind: Optional[DocumentKind]
    ceiling: Optional[Ceiling]
    change_orders: List[str]
    expense_policy: ExpensePolicy
    fixed_fee: Optional[Money]
    milestones: List[Milestone]
    retainer: Optional[Retainer]
    rounding: RoundingPolicy


class _TimeEntryRequired(TypedDict):
    id: str
    project_id: str
    task_id: str
    resource_id: str
    role: str
    work_date: DateLike
    hours: DecimalLike
    status: Literal["draft", "submitted", "approved", "rejected", "billed"]


class TimeEntry(_TimeEntryRequired, total=False):
    """Hours one person worked on one task on one day."""

    billable: bool
    rate_override: Optional[Money]


class _ExpenseRequired(TypedDict):
    id: str
    project_id: str
    date: DateLike
    amount: Money
    category: str
    status: Literal["draft", "submitted", "approved", "rejected", "billed"]


class Expense(_ExpenseRequired, total=False):
    """An expense incurred for a project."""

    billable: bool
    fx_rate: Optional[DecimalLike]


class _WorkLogRequired(TypedDict):
    schema_version: int


class WorkLog(_WorkLogRequired, total=False):
    """Time entries and expenses (see ``spec/schema/v1/work_log.schema.json``)."""

    kind: Optional[DocumentKind]
    time_entries: List[TimeEntry]
    expenses: List[Expense]


class Problem(TypedDict):
    """One finding of a validation report."""

    path: str
    """JSON pointer to the offending value."""
    code: ErrorCode
    """Stable code."""
    message: str
    """Lowercase sentence."""


class _ValidateRequestRequired(TypedDict):
    document: Request


class ValidateRequest(_ValidateRequestRequired, total=False):
    """What ``billwise.validate`` reads."""

    schema_version: int
    kind: Optional[DocumentKind]
    contract: Optional[Request]


class ValidateResponse(TypedDict):
    """The validation report."""

    schema_version: int
    kind: DocumentKind
    valid: bool
    problems: List[Problem]


class _ValidateBatchRequestRequired(TypedDict):
    documents: List[Request]


class ValidateBatchRequest(_ValidateBatchRequestRequired, total=False):
    """What ``billwise.validate_batch`` reads."""

    schema_version: int
    kind: Optional[DocumentKind]
    contract: Optional[Request]


class _ItemReportRequired(TypedDict):
    index: int
    valid: bool
    problems: List[Problem]


class ItemReport(_ItemReportRequired, total=False):
    """The report of one document of a batch (``kind`` is absent when it could not be read)."""

    kind: DocumentKind


class ValidateBatchResponse(TypedDict):
    """The validation report of a batch: one report per document, in order."""

    schema_version: int
    valid: bool
    reports: List[ItemReport]


# --- the billing run (preview_invoice, commit_invoice, record_credit) ---------------------------

ItemKind: TypeAlias = Literal["time", "expense", "milestone"]
"""What a line, a held item or a ledger entry is."""

HoldReason: TypeAlias = Literal[
    "already_billed",
    "invalid",
    "not_approved",
    "not_billable",
    "project_status",
    "outside_contract_period",
    "outside_billing_period",
    "legal_entity_mismatch",
    "currency_mismatch",
    "missing_rate",
    "ceiling_exceeded",
]
"""Why an item is not billed, in the order the checks run (see ``spec/domain/billing.md``)."""


class Period(TypedDict):
    """The work dates a run bills (both ends inclusive)."""

    start: DateLike
    end: DateLike


class _TaskRequired(TypedDict):
    id: str
    name: str


class Task(_TaskRequired, total=False):
    """A task of a project."""

    billable: bool


_ProjectRequired = TypedDict(
    "_ProjectRequired",
    {
        "schema_version": int,
        "id": str,
        "contract_id": str,
        "legal_entity": str,
        "status": str,
    },
)


class Project(_ProjectRequired, total=False):
    """A delivery project (see ``spec/schema/v1/project.schema.json``)."""

    kind: Optional[DocumentKind]
    tasks: List[Task]


_ChangeOrderRequired = TypedDict(
    "_ChangeOrderRequired",
    {
        "schema_version": int,
        "id": str,
        "contract_id": str,
        "sequence": int,
        "status": str,
        "effective_date": DateLike,
        "changes": List[Dict[str, Any]],
    },
)


class ChangeOrder(_ChangeOrderRequired, total=False):
    """An amendment of a contract (see ``spec/schema/v1/change_order.schema.json``)."""

    kind: Optional[DocumentKind]
    approved_on: Optional[DateLike]
    description: Optional[str]
    retroactive: bool


class _LedgerEntryRequired(TypedDict):
    invoice_id: str
    kind: ItemKind
    item_id: str
    date: DateLike
    quantity: DecimalLike
    unit_price: Money
    amount: Money
    contract_version: int
    against_ceiling: bool


class LedgerEntry(_LedgerEntryRequired, total=False):
    """One item billed by an earlier run."""

    rate_source: Optional[str]
    role: Optional[str]
    resource_id: Optional[str]
    task_id: Optional[str]


class _LedgerCreditRequired(TypedDict):
    credit_note_id: str
    kind: ItemKind
    item_id: str


class LedgerCredit(_LedgerCreditRequired, total=False):
    """A credit note giving back (part of) a billed item: ``amount`` or ``quantity`` (a ledger
    operation records both, and ``ceiling_share``, the part that had counted against the ceiling)."""

    amount: Optional[Money]
    quantity: Optional[DecimalLike]
    ceiling_share: Optional[Money]


class _BilledLedgerRequired(TypedDict):
    contract_id: str


class BilledLedger(_BilledLedgerRequired, total=False):
    """What earlier runs billed and what credit notes gave back."""

    schema_version: int
    entries: List[LedgerEntry]
    credits: List[LedgerCredit]


class BillingOptions(TypedDict, total=False):
    """Options of a billing run."""

    billable_project_statuses: List[str]
    hold_invalid_items: bool


class _PreviewInvoiceRequestRequired(TypedDict):
    contract: Contract
    period: Period
    as_of: DateLike


class PreviewInvoiceRequest(_PreviewInvoiceRequestRequired, total=False):
    """What ``billwise.preview_invoice`` reads."""

    schema_version: int
    time_entries: List[TimeEntry]
    expenses: List[Expense]
    milestones: Optional[List[Milestone]]
    projects: List[Project]
    change_orders: List[ChangeOrder]
    ledger: Optional[BilledLedger]
    options: BillingOptions


class _PreviewLineRequired(TypedDict):
    kind: ItemKind
    source_ids: List[str]
    date: date
    description: str
    quantity: Decimal
    unit: Literal["hour", "day", "item"]
    unit_price: Money
    amount: Money
    rate_source: str
    contract_version: int


class PreviewLine(_PreviewLineRequired, total=False):
    """One invoice line."""

    worked_hours: Optional[Decimal]
    billed_hours: Optional[Decimal]
    billed_quantity: Optional[Decimal]
    ceiling_split: bool


class AdjustmentLine(TypedDict):
    """A retroactive re-pricing of an item billed before."""

    item_id: str
    date: date
    change_order_id: str
    quantity: Decimal
    rate_before: Money
    rate_after: Money
    amount: Money
    contract_version: int
    rate_source: str


class _HeldItemRequired(TypedDict):
    kind: ItemKind
    id: str
    date: date
    reason: HoldReason
    sentence: str


class HeldItem(_HeldItemRequired, total=False):
    """An item the run did not bill, with the first check it failed."""

    amount: Optional[Money]
    change_order_id: Optional[str]
    problems: List[Problem]


class Totals(TypedDict):
    """The invoice totals by line kind."""

    time: Money
    expenses: Money
    milestones: Money
    adjustments: Money
    retainer_drawdown: Money
    total: Money


class AgingBucket(TypedDict):
    """Unbilled approved time of one age bucket."""

    bucket: str
    entries: int
    hours: Decimal
    amount: Money


class HeldByReason(TypedDict):
    """Held items of one reason."""

    reason: HoldReason
    count: int
    amount: Money


class _SummaryRequired(TypedDict):
    unbilled_approved: List[AgingBucket]
    held_by_reason: List[HeldByReason]


class Summary(_SummaryRequired, total=False):
    """What is left to bill, and why items are held."""

    backlog: Optional[Money]


class CeilingStatus(TypedDict):
    """The ceiling after the run."""

    limit: Money
    scope: str
    billed_before: Money
    this_run: Money
    remaining: Money
    utilisation_percent: Decimal


class RetainerStatus(TypedDict):
    """The retainer after the run."""

    amount: Money
    drawn_before: Money
    drawn_this_run: Money
    remaining: Money
    excess: Money


class _InvoicePreviewRequired(TypedDict):
    schema_version: int
    contract_id: str
    currency: str
    period: Period
    as_of: date
    contract_version: int
    lines: List[PreviewLine]
    adjustments: List[AdjustmentLine]
    held: List[HeldItem]
    totals: Totals
    summary: Summary


class InvoicePreview(_InvoicePreviewRequired, total=False):
    """What ``billwise.preview_invoice`` returns (see ``spec/domain/billing.md``)."""

    ceiling: Optional[CeilingStatus]
    retainer: Optional[RetainerStatus]


class _CommitInvoiceRequestRequired(TypedDict):
    invoice_id: str
    run: PreviewInvoiceRequest


class CommitInvoiceRequest(_CommitInvoiceRequestRequired, total=False):
    """What ``billwise.commit_invoice`` reads."""

    schema_version: int


class CommitInvoiceResponse(TypedDict):
    """The committed run and the ledger after it."""

    schema_version: int
    preview: InvoicePreview
    ledger: BilledLedger


class _RecordCreditRequestRequired(TypedDict):
    ledger: BilledLedger
    currency: str
    credits: List[LedgerCredit]


class RecordCreditRequest(_RecordCreditRequestRequired, total=False):
    """What ``billwise.record_credit`` reads (it returns the ``BilledLedger`` after)."""

    schema_version: int


# --- lifecycle state machines (transition, describe_machines) ----------------------------------

MachineName: TypeAlias = Literal[
    "opportunity", "project", "time_entry", "expense", "milestone", "change_order", "invoice"
]
"""The name of a lifecycle machine."""


class GuardContext(TypedDict, total=False):
    """The facts the guards of a transition read."""

    balance_after: Optional[DecimalLike]
    billed: Optional[bool]
    last_applied_sequence: Optional[int]
    sequence: Optional[int]
    unbilled_items: Optional[int]


class _TransitionRequestRequired(TypedDict):
    machine: MachineName
    state: str
    event: str
    source: str


class TransitionRequest(_TransitionRequestRequired, total=False):
    """What ``billwise.transition`` reads."""

    schema_version: int
    context: GuardContext


class _TransitionRejectionRequired(TypedDict):
    code: ErrorCode
    message: str


class TransitionRejection(_TransitionRejectionRequired, total=False):
    """Why a transition was refused."""

    failed_guards: List[str]
    allowed_sources: List[str]
    allowed_events: List[str]


class _TransitionResponseRequired(TypedDict):
    schema_version: int
    allowed: bool
    guards: List[str]
    effects: List[str]


class TransitionResponse(_TransitionResponseRequired, total=False):
    """The next state and effects, or the rejection."""

    next_state: Optional[str]
    rejection: Optional[TransitionRejection]


class DescribeMachinesRequest(TypedDict, total=False):
    """What ``billwise.describe_machines`` reads (no field: every machine)."""

    schema_version: int
    machine: Optional[MachineName]


class DescribeMachinesResponse(TypedDict):
    """The machines as data (see ``spec/machines/``)."""

    schema_version: int
    machines: List[Dict[str, JSON]]


# --- rates and change orders (resolve_rate, apply_change_order) --------------------------------


class _RateQueryRequired(TypedDict):
    role: str
    work_date: DateLike


class RateQuery(_RateQueryRequired, total=False):
    """The work to price."""

    resource_id: Optional[str]
    task_id: Optional[str]
    rate_override: Optional[Money]


class _ResolveRateRequestRequired(TypedDict):
    contract: Contract
    query: RateQuery


class ResolveRateRequest(_ResolveRateRequestRequired, total=False):
    """What ``billwise.resolve_rate`` reads."""

    schema_version: int
    change_orders: List[ChangeOrder]


class _ResolveRateResponseRequired(TypedDict):
    schema_version: int
    contract_id: str
    contract_version: int
    work_date: date
    outcome: Literal["rate", "missing_rate"]
    rate_source: str
    explanation: str


class ResolveRateResponse(_ResolveRateResponseRequired, total=False):
    """The rate in force for the work, and why (see ``spec/domain/rates.md``)."""

    rate: Optional[Money]
    unit: Optional[Literal["hour", "day"]]
    hours_per_day: Optional[Decimal]
    effective_from: Optional[date]
    effective_to: Optional[date]
    specificity: Optional[Literal["override", "resource_task", "resource", "role_task", "role"]]


class _ApplyChangeOrderRequestRequired(TypedDict):
    contract: Contract
    change_order: ChangeOrder


class ApplyChangeOrderRequest(_ApplyChangeOrderRequestRequired, total=False):
    """What ``billwise.apply_change_order`` reads."""

    schema_version: int
    change_orders: List[ChangeOrder]
    ledger: Optional[BilledLedger]


class ApplyChangeOrderResponse(TypedDict):
    """The contract's new version, what changed, and adjustments for re-priced billed work."""

    schema_version: int
    contract_id: str
    change_order_status: str
    applied_change_orders: List[str]
    version: Dict[str, JSON]
    impact: Dict[str, JSON]
    adjustments: List[Dict[str, JSON]]


# --- ownership, reconcile, activation (check_update, golden_record, reconcile, check_activation)


class OwnershipRule(TypedDict):
    """Which system owns some fields of an entity at some lifecycle stages."""

    entity: str
    fields: List[str]
    owner: str
    stages: List[str]


class ActivationPolicy(TypedDict, total=False):
    """What activation checks beyond the opportunity itself."""

    currencies_by_legal_entity: Dict[str, List[str]]


class _OwnershipPolicyRequired(TypedDict):
    schema_version: int
    rules: List[OwnershipRule]


class OwnershipPolicy(_OwnershipPolicyRequired, total=False):
    """Who owns which field at which stage (see ``spec/domain/ownership.md``)."""

    kind: Optional[DocumentKind]
    activation: Optional[ActivationPolicy]
    case_insensitive_fields: Dict[str, List[str]]


class _CheckUpdateRequestRequired(TypedDict):
    policy: OwnershipPolicy
    entity: str
    source: str
    changes: Mapping[str, Any]


class CheckUpdateRequest(_CheckUpdateRequestRequired, total=False):
    """What ``billwise.check_update`` reads."""

    schema_version: int
    stage: Optional[str]
    mode: Literal["lenient", "strict"]


class _FieldDecisionRequired(TypedDict):
    field: str
    accepted: bool


class FieldDecision(_FieldDecisionRequired, total=False):
    """Whether the source may write one field, and if not why."""

    owner: Optional[str]
    code: Optional[ErrorCode]
    message: Optional[str]


class CheckUpdateResponse(TypedDict):
    """The decision for every field of an update."""

    schema_version: int
    outcome: Literal["accepted", "partially_accepted", "rejected"]
    accepted_changes: Dict[str, JSON]
    decisions: List[FieldDecision]


class _GoldenRecordRequestRequired(TypedDict):
    policy: OwnershipPolicy
    entity: str
    records: Mapping[str, Mapping[str, Any]]


class GoldenRecordRequest(_GoldenRecordRequestRequired, total=False):
    """What ``billwise.golden_record`` reads: each system's record of one entity."""

    schema_version: int
    stage: Optional[str]


class _UnresolvedFieldRequired(TypedDict):
    field: str


class UnresolvedField(_UnresolvedFieldRequired, total=False):
    """A field the golden record could not take from its owner."""

    owner: Optional[str]


class _GoldenRecordResponseRequired(TypedDict):
    schema_version: int
    record: Dict[str, JSON]
    provenance: Dict[str, str]
    unresolved: List[UnresolvedField]
    ignored_fields: List[str]


class GoldenRecordResponse(_GoldenRecordResponseRequired, total=False):
    """The golden record, which system each field came from, and what is left unresolved."""

    stage: Optional[str]


class CrossRef(TypedDict):
    """The ids one entity has in each system."""

    id: str
    ids: Mapping[str, str]


class _ReconcileRequestRequired(TypedDict):
    policy: OwnershipPolicy
    entity: str
    records: Mapping[str, List[Mapping[str, Any]]]


class ReconcileRequest(_ReconcileRequestRequired, total=False):
    """What ``billwise.reconcile`` reads: every system's records of one kind of entity."""

    schema_version: int
    stage: Optional[str]
    cross_refs: List[CrossRef]


class _MismatchRequired(TypedDict):
    field: str
    values: Dict[str, JSON]


class Mismatch(_MismatchRequired, total=False):
    """One field the systems disagree on."""

    owner: Optional[str]
    authoritative: JSON
    needs_review: bool


class _FindingRequired(TypedDict):
    id: str


class Finding(_FindingRequired, total=False):
    """What is wrong with one entity across systems."""

    stage: Optional[str]
    missing_in: List[str]
    mismatches: List[Mismatch]


class _CorrectionRequired(TypedDict):
    action: Literal["create", "update"]
    system: str
    id: str
    system_id: str
    value: JSON


class Correction(_CorrectionRequired, total=False):
    """A write that would bring one system in line with the owner."""

    field: Optional[str]


class ReconcileSummary(TypedDict):
    """Counts of a reconciliation."""

    entities: int
    consistent: int
    with_mismatches: int
    with_missing: int
    mismatched_fields: int
    needs_review: int
    corrections: int
    ignored_fields: List[str]


class ReconcileResponse(TypedDict):
    """Every disagreement between systems, with the corrections the owners' values imply."""

    schema_version: int
    entity: str
    systems: List[str]
    findings: List[Finding]
    corrections: List[Correction]
    summary: ReconcileSummary


_AccountRequired = TypedDict(
    "_AccountRequired",
    {"schema_version": int, "id": str, "name": str, "status": Literal["prospect", "active", "inactive"]},
)


class Account(_AccountRequired, total=False):
    """A customer account (see ``spec/schema/v1/account.schema.json``)."""

    kind: Optional[DocumentKind]
    currency: Optional[str]
    external_ids: Mapping[str, str]
    legal_entity: Optional[str]
    parent_id: Optional[str]
    payment_terms: Optional[str]
    tax_profile: Optional[str]


_OpportunityRequired = TypedDict(
    "_OpportunityRequired",
    {
        "schema_version": int,
        "id": str,
        "account_id": str,
        "stage": Literal["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"],
    },
)


class Opportunity(_OpportunityRequired, total=False):
    """A sales opportunity (see ``spec/schema/v1/opportunity.schema.json``)."""

    kind: Optional[DocumentKind]
    name: Optional[str]
    amount: Optional[Money]
    billing_model: Optional[str]
    contract_template: Optional[str]
    currency: Optional[str]
    expected_start: Optional[DateLike]
    legal_entity: Optional[str]
    service_line: Optional[str]
    tax_profile: Optional[str]


class _CheckActivationRequestRequired(TypedDict):
    opportunity: Opportunity


class CheckActivationRequest(_CheckActivationRequestRequired, total=False):
    """What ``billwise.check_activation`` reads."""

    schema_version: int
    account: Optional[Account]
    accounts: List[Account]
    policy: Optional[OwnershipPolicy]


class _CheckActivationResponseRequired(TypedDict):
    schema_version: int
    status: Literal["ready", "blocked"]
    violations: List[Problem]


class CheckActivationResponse(_CheckActivationResponseRequired, total=False):
    """Whether the opportunity can become a project, and every gate it fails."""

    skipped: List[str]


# --- the event engine (billwise.Engine, engine_replay, engine_apply) ------------------------

Event = Mapping[str, Any]
"""An event: ``{"type": "time_entry.recorded", "time_entry": {...}}``, ``{"type":
"time_entry.approved", "id": "TE-1"}``, ... (see ``spec/domain/engine.md`` for every type)."""


class _EnvelopeRequired(TypedDict):
    idempotency_key: str
    correlation_id: str
    source: str
    occurred_at: str
    event: Event


class Envelope(_EnvelopeRequired, total=False):
    """One event as a connected system sends it, with what the engine needs to apply it once."""

    expected_version: Optional[int]


class AuditChange(TypedDict):
    """One value an event changed (``path`` points into the snapshot's ``state``)."""

    path: str
    before: JSON
    after: JSON


class AuditEntry(TypedDict):
    """One applied event in the hash-chained audit log."""

    version: int
    occurred_at: str
    source: str
    correlation_id: str
    idempotency_key: str
    event_type: str
    changes: List[AuditChange]
    prev_hash: str
    hash: str


class AuditBreak(TypedDict):
    """The first place an audit chain fails verification."""

    index: int
    version: int
    code: ErrorCode
    message: str


class _AuditVerificationRequired(TypedDict):
    valid: bool
    entries: int
    head: str


class AuditVerification(_AuditVerificationRequired, total=False):
    """The result of checking the audit chain."""

    problem: Optional[AuditBreak]


class _RejectionRequired(TypedDict):
    code: ErrorCode
    message: str


class Rejection(_RejectionRequired, total=False):
    """Why an envelope was rejected."""

    problems: List[Problem]


class _OutcomeRequired(TypedDict):
    idempotency_key: str
    correlation_id: str
    event_type: str
    status: Literal["applied", "duplicate", "rejected"]
    version: int


class Outcome(_OutcomeRequired, total=False):
    """What became of one envelope."""

    changes: List[AuditChange]
    rejection: Optional[Rejection]


class ApplyBatchResponse(TypedDict):
    """What ``Engine.apply_batch`` returns (as Node's ``applyBatch`` does): one outcome per
    envelope, in order, and the engine's version after the batch."""

    outcomes: List[Outcome]
    version: int


class _ExceptionEntryRequired(TypedDict):
    sequence: int
    code: ErrorCode
    message: str
    rejected_at_version: int
    attempts: int
    envelope: Envelope


class ExceptionEntry(_ExceptionEntryRequired, total=False):
    """A rejected envelope, waiting to be corrected and sent again."""

    problems: List[Problem]
    resolved_by_version: Optional[int]


class Processed(TypedDict):
    """What the engine remembers of an applied idempotency key."""

    fingerprint: str
    version: int


_PaymentRequired = TypedDict(
    "_PaymentRequired",
    {"schema_version": int, "id": str, "invoice_id": str, "date": DateLike, "amount": Money},
)


class Payment(_PaymentRequired, total=False):
    """A payment received against an invoice."""

    kind: Optional[DocumentKind]


_InvoiceRecordRequired = TypedDict(
    "_InvoiceRecordRequired",
    {
        "id": str,
        "status": str,
        "period": Period,
        "as_of": date,
        "total": Money,
        "paid": Money,
        "credited": Money,
        "balance": Money,
    },
)


class InvoiceRecord(_InvoiceRecordRequired, total=False):
    """An invoice the engine drafted, with what has been paid and credited on it."""

    payments: List[str]
    credit_notes: List[str]


class World(TypedDict, total=False):
    """Everything the engine holds about one contract (documents by id)."""

    contract: Optional[Contract]
    opportunities: Dict[str, Opportunity]
    change_orders: Dict[str, ChangeOrder]
    projects: Dict[str, Project]
    time_entries: Dict[str, TimeEntry]
    expenses: Dict[str, Expense]
    milestones: Dict[str, Milestone]
    invoices: Dict[str, InvoiceRecord]
    payments: Dict[str, Payment]
    ledger: Optional[BilledLedger]


class _SnapshotRequired(TypedDict):
    version: int
    audit_head: str
    state: World


class Snapshot(_SnapshotRequired, total=False):
    """The whole engine as data (``Engine.snapshot()`` is its canonical JSON)."""

    schema_version: int
    ownership_policy: Optional[OwnershipPolicy]
    processed: Dict[str, Processed]
    exceptions: List[ExceptionEntry]
    audit: List[AuditEntry]


class PreviewQuery(TypedDict):
    """A billing preview to run on the engine's state."""

    period: Period
    as_of: DateLike


class ExceptionCount(TypedDict):
    """Open exceptions of one reason."""

    code: ErrorCode
    count: int


class Unbilled(TypedDict):
    """Approved, billable work not billed yet."""

    entries: int
    hours: Decimal
    amount: Money


class _MetricsRequired(TypedDict):
    schema_version: int
    version: int
    as_of: date
    unbilled_approved_time: Unbilled
    held_by_reason: List[HeldByReason]
    exceptions_by_reason: List[ExceptionCount]
    open_exceptions: int
    receivables: Money


class Metrics(_MetricsRequired, total=False):
    """Figures a finance team watches, from the engine's state."""

    ceiling_utilisation_percent: Optional[Decimal]
    ceiling_limit: Optional[Money]
    ceiling_billed: Optional[Money]


class EngineReplayRequest(TypedDict, total=False):
    """What ``billwise.engine_replay`` reads."""

    schema_version: int
    ownership_policy: Optional[OwnershipPolicy]
    envelopes: List[Envelope]
    atomic: bool
    preview: Optional[PreviewQuery]
    metrics_as_of: Optional[DateLike]
    return_state: bool
    return_snapshot: bool


class EngineApplyRequest(EngineReplayRequest, total=False):
    """What ``billwise.engine_apply`` reads: ``engine_replay``'s fields and the snapshot before."""

    snapshot: Optional[Snapshot]


class _EngineResponseRequired(TypedDict):
    schema_version: int
    version: int
    outcomes: List[Outcome]
    exceptions: List[ExceptionEntry]
    audit: AuditVerification


class EngineResponse(_EngineResponseRequired, total=False):
    """What ``engine_replay`` and ``engine_apply`` return."""

    preview: Optional[InvoicePreview]
    metrics: Optional[Metrics]
    state: Optional[World]
    snapshot: Optional[Snapshot]


# --- The durable store (``billwise.Store``; ``spec/domain/store.md``).

ExceptionStatus: TypeAlias = Literal["open", "retried", "resolved"]
"""Where a refused envelope stands in the store."""


class StoreApplied(TypedDict):
    """What ``Store.apply`` and ``Store.retry`` return."""

    contract_id: str
    version: int
    outcomes: List[Outcome]


class _StoredExceptionRequired(TypedDict):
    contract_id: str
    sequence: int
    status: ExceptionStatus
    idempotency_key: str
    correlation_id: str
    source: str
    event_type: str
    code: ErrorCode
    message: str
    attempts: int
    rejected_at_version: int
    first_seen_at: str
    last_seen_at: str
    entry: ExceptionEntry


class StoredException(_StoredExceptionRequired, total=False):
    """One refused envelope as the store holds it (times are UTC, from the store's clock)."""

    resolved_by_version: int
    note: str


class _TraceStepRequired(TypedDict):
    contract_id: str
    seq: int
    received_at: str
    idempotency_key: str
    source: str
    event_type: str
    status: Literal["applied", "duplicate", "rejected"]
    version: int


class TraceStep(_TraceStepRequired, total=False):
    """One envelope of a correlation id, as received."""

    reason: ErrorCode


class Trace(TypedDict):
    """Every envelope of a correlation id across contracts, and its exceptions not resolved."""

    correlation_id: str
    steps: List[TraceStep]
    stuck: List[StoredException]


class ReplayReport(TypedDict):
    """A contract rebuilt from its log, compared with the stored state."""

    contract_id: str
    envelopes: int
    replayed_version: int
    stored_version: int
    matches: bool
    replayed_sha256: str
    stored_sha256: str


class _VerificationRequired(TypedDict):
    contract_id: str
    valid: bool
    version: int
    audit_entries: int


class Verification(_VerificationRequired, total=False):
    """What ``Store.verify`` found; ``problems`` says each failed check."""

    problems: List[str]
