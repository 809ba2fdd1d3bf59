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
    "DOCUMENT_DUPLICATE_ID",
    "DOCUMENT_EMPTY_FIELD",
    "DOCUMENT_DATE_ORDER",
    "DOCUMENT_NEGATIVE_AMOUNT",
    "DOCUMENT_INVALID_PERCENT",
    "DOCUMENT_UNKNOWN_REFERENCE",
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
    "OWNERSHIP_CONFLICT",
    "OWNERSHIP_UNKNOWN_ENTITY",
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
