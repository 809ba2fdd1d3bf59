"""The native module of billwise (built from ``bindings-python/src``). Import ``billwise`` instead."""

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union, final, overload

from typing_extensions import Unpack, deprecated

from billwise.types import (
    JSON,
    ErrorCode,
    ExceptionStatus,
    ReplayReport,
    StoreApplied,
    StoredException,
    Trace,
    Verification,
    ApplyBatchResponse,
    ApplyChangeOrderRequest,
    ApplyChangeOrderResponse,
    AuditEntry,
    AuditVerification,
    CheckActivationRequest,
    CheckActivationResponse,
    CheckUpdateRequest,
    CheckUpdateResponse,
    DateLike,
    EngineApplyRequest,
    EngineReplayRequest,
    EngineResponse,
    Envelope,
    ExceptionEntry,
    GoldenRecordRequest,
    GoldenRecordResponse,
    Metrics,
    Outcome,
    OwnershipPolicy,
    Period,
    PreviewQuery,
    ReconcileRequest,
    ReconcileResponse,
    Snapshot,
    World,
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
    ValidateBatchRequest,
    ValidateBatchResponse,
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
    "validate_batch",
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
    "Engine",
    "Store",
    "run",
    "to_json",
    "_read_document",
    "_panic_for_tests",
    "_raise_for_tests",
    "_poison_engine_for_tests",
    "__version__",
    "SCHEMA_VERSION",
    "OPERATIONS",
    "_ERROR_TABLE",
]

_ERROR_TABLE: Tuple[Tuple[str, str, str, str], ...]

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
def validate_batch(request: Request, /) -> ValidateBatchResponse:
    """Validates each document of a batch as ``validate`` validates one: one report per document,
    with its ``index``, and ``valid`` when every document is.

    Pass ``{"documents": [...], "kind"?: ..., "contract"?: ...}`` or its fields as keyword
    arguments. A document that cannot be read at all is its report's one problem, not an error.
    """
@overload
def validate_batch(request: None = None, /, **fields: Unpack[ValidateBatchRequest]) -> ValidateBatchResponse: ...

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

@overload
def check_update(request: Request, /) -> CheckUpdateResponse:
    """Decides, field by field, whether a system may write an update to an entity under the
    ownership policy at the entity's lifecycle stage (see ``spec/domain/ownership.md``).

    The request is ``{"policy", "entity", "source", "changes", "stage"?, "mode"?}``.
    """
@overload
def check_update(request: None = None, /, **fields: Unpack[CheckUpdateRequest]) -> CheckUpdateResponse: ...
@overload
def golden_record(request: Request, /) -> GoldenRecordResponse:
    """Builds the golden record of an entity from every system's record, each field from the
    system that owns it.

    The request is ``{"policy", "entity", "records": {system: record}, "stage"?}``.
    """
@overload
def golden_record(request: None = None, /, **fields: Unpack[GoldenRecordRequest]) -> GoldenRecordResponse: ...
@overload
def reconcile(request: Request, /) -> ReconcileResponse:
    """Compares the records systems hold for the same entities and reports every disagreement.

    The request is ``{"policy", "entity", "records": {system: [record, ...]}, "stage"?,
    "cross_refs"?}``.
    """
@overload
def reconcile(request: None = None, /, **fields: Unpack[ReconcileRequest]) -> ReconcileResponse: ...
@overload
def check_activation(request: Request, /) -> CheckActivationResponse:
    """Checks whether a won opportunity can become a project: every activation gate.

    The request is ``{"opportunity", "account"?, "accounts"?, "policy"?}``.
    """
@overload
def check_activation(
    request: None = None, /, **fields: Unpack[CheckActivationRequest]
) -> CheckActivationResponse: ...
@overload
def engine_replay(request: Request, /) -> EngineResponse:
    """Replays an event log through a fresh engine and returns its state, exceptions and audit.

    The request is ``{"envelopes", "ownership_policy"?, "atomic"?, "preview"?, "metrics_as_of"?,
    "return_state"?, "return_snapshot"?}``. ``billwise.Engine`` keeps an engine in memory instead.
    """
@overload
def engine_replay(request: None = None, /, **fields: Unpack[EngineReplayRequest]) -> EngineResponse: ...
@overload
def engine_apply(request: Request, /) -> EngineResponse:
    """Applies events to an engine restored from a snapshot (or a fresh one).

    The request is ``engine_replay``'s with ``"snapshot"?`` (the ``snapshot`` of an earlier result).
    """
@overload
def engine_apply(request: None = None, /, **fields: Unpack[EngineApplyRequest]) -> EngineResponse: ...

@final
class Engine:
    """One contract's event engine, held in memory (see ``spec/domain/engine.md``).

    Every change comes as an envelope (``{"idempotency_key", "correlation_id", "source",
    "occurred_at", "expected_version"?, "event"}``) given as a dict, a dataclass, a pydantic model
    or JSON text. Results have the shapes ``engine_apply`` returns. One engine may be shared by
    threads (calls take turns; the core runs without the GIL). Pickling ships the canonical
    snapshot, so an engine can be sent to worker processes.
    """

    def __new__(cls, ownership_policy: Optional[Union[OwnershipPolicy, Request]] = None) -> Engine:
        """An empty engine at version 0, enforcing ``ownership_policy`` on every event when given."""
    @classmethod
    def restore(cls, snapshot: Union[Snapshot, Request], /) -> Engine:
        """The engine a snapshot describes: ``snapshot()`` bytes, JSON text, or the ``snapshot``
        of an ``engine_apply`` result. A snapshot whose audit chain does not verify, or whose
        ``schema_version`` this build does not read (``SchemaVersionError``), is refused."""
    @property
    def version(self) -> int:
        """The number of events applied so far."""
    @property
    def ownership_policy(self) -> Optional[OwnershipPolicy]:
        """The ownership policy the engine enforces, or ``None``."""
    def apply(self, envelope: Union[Envelope, Request], /) -> Outcome:
        """Applies one envelope: ``applied`` (the version goes up by one), ``duplicate`` (the key was
        applied before with the same payload; nothing changes) or ``rejected`` (it waits in the
        exception queue). The same key with another payload raises ``IdempotencyConflictError``;
        an envelope that cannot be read raises ``InputError`` and changes nothing."""
    def apply_batch(
        self, envelopes: Union[Sequence[Union[Envelope, Request]], str, bytes, bytearray], /, *, atomic: bool = False
    ) -> ApplyBatchResponse:
        """Applies envelopes in order and returns ``{"outcomes": [...], "version": n}``, one outcome
        per envelope, as every runtime does. With ``atomic``, all are applied or none. (Read as the
        list of outcomes, the shape of earlier releases, the result still gives the outcomes for
        one release, with a ``DeprecationWarning``.) Error paths start with
        ``/envelopes/<position>``. The GIL is released while the core works."""
    def snapshot(self) -> bytes:
        """The whole engine as canonical JSON (``Engine.restore`` reads it back)."""
    @overload
    def preview_invoice(
        self, query: Union[PreviewQuery, Mapping[str, Any], str, bytes], legacy_as_of: None = None, /
    ) -> InvoicePreview:
        """What a billing run would bill now (nothing is recorded): the query is
        ``{"period": ..., "as_of": ...}`` (or the same as keyword arguments), as in every runtime."""
    @overload
    def preview_invoice(
        self,
        query: None = None,
        legacy_as_of: None = None,
        /,
        *,
        period: Union[Period, Mapping[str, Any]],
        as_of: DateLike,
    ) -> InvoicePreview: ...
    @overload
    @deprecated("pass {'period': ..., 'as_of': ...} (or period=..., as_of=...)")
    def preview_invoice(
        self, query: Union[Period, Mapping[str, Any]], legacy_as_of: DateLike, /
    ) -> InvoicePreview: ...
    def exceptions(self) -> List[ExceptionEntry]:
        """The exception queue, oldest first (resolved entries carry ``resolved_by_version``)."""
    @overload
    def metrics(self, query: Union[Mapping[str, Any], str, bytes], /) -> Metrics:
        """Figures a finance team watches: the query is ``{"as_of": ...}`` (or ``as_of=...``), as in
        every runtime; a date alone, the earlier form, is deprecated."""
    @overload
    def metrics(self, query: None = None, /, *, as_of: DateLike) -> Metrics: ...
    def verify_audit(self) -> AuditVerification:
        """Checks the audit chain from its first entry to the engine's head."""
    def audit(self) -> List[AuditEntry]:
        """The audit chain, oldest first."""
    def state(self) -> World:
        """The contract's world as the engine holds it."""
    def __reduce__(self) -> Tuple[Callable[[bytes], Engine], Tuple[bytes]]: ...

def run(op: str, request: Request, /) -> str:
    """Runs operation ``op`` on a request and returns the response as canonical JSON text."""

def to_json(value: Any, /) -> str:
    """Canonical JSON of a value: keys sorted, no whitespace, ``Decimal`` as an exact decimal
    string, ``date`` as ``YYYY-MM-DD``. Equal to the bytes every billwise runtime produces."""

def _read_document(document: Request, /) -> Tuple[Dict[str, JSON], str]: ...
def _panic_for_tests() -> None: ...
def _raise_for_tests(code: str, /) -> None: ...
def _poison_engine_for_tests(engine: Engine, /) -> None: ...


@final
class Store:
    """A durable store of engines, one per contract, in SQLite or PostgreSQL (see
    ``spec/domain/store.md``).

    ``Store("sqlite:///billing.db")`` (a file, created when missing; ``sqlite:////abs/path.db``,
    ``sqlite://`` in memory) or ``Store("postgresql://user@host:5432/db")`` opens the database and
    runs the migrations it lacks. Each ``apply`` is one transaction under the contract's row lock:
    an envelope is applied once however many workers receive it, and a process that dies mid-batch
    leaves the store as it was before the batch. Database failures raise ``StoreError``.
    """

    def __new__(cls, url: str, /, *, snapshot_every: int = 10000) -> Store:
        """Opens the store at ``url``; a snapshot is taken every ``snapshot_every`` envelopes."""
    def apply(
        self,
        contract_id: str,
        envelopes: Union[Sequence[Union[Envelope, Request]], str, bytes, bytearray],
        /,
        *,
        atomic: bool = False,
        ownership_policy: Optional[Union[OwnershipPolicy, Request]] = None,
    ) -> StoreApplied:
        """Applies envelopes to the contract's engine (created on the first apply, enforcing
        ``ownership_policy`` when given) in one transaction."""
    def exceptions(
        self,
        *,
        contract_id: Optional[str] = None,
        status: Optional[ExceptionStatus] = None,
        code: Optional[ErrorCode] = None,
        source: Optional[str] = None,
        seen_before: Optional[str] = None,
    ) -> List[StoredException]:
        """The exceptions not resolved (or those of ``status``), oldest first."""
    def retry(self, contract_id: str, sequence: int, /) -> StoreApplied:
        """Applies exception ``sequence``'s stored envelope again."""
    def retry_all(self, *, contract_id: Optional[str] = None) -> List[StoreApplied]:
        """Retries every exception not resolved, oldest first, each in its own transaction."""
    def resolve(self, contract_id: str, sequence: int, /, *, note: str, actor: str) -> StoredException:
        """Marks an exception resolved by ``actor`` with ``note`` (recorded in the contract's
        hash-chained action log)."""
    def trace(self, correlation_id: str, /) -> Trace:
        """Every envelope of ``correlation_id`` across contracts, and where it is stuck."""
    def replay(self, contract_id: str, /) -> ReplayReport:
        """Rebuilds the contract from its log and compares it with the stored state."""
    @overload
    def verify(self, contract_id: str, /) -> Verification: ...
    @overload
    def verify(self, contract_id: None = None, /) -> List[Verification]: ...
    def contracts(self) -> List[str]:
        """The ids of the contracts the store holds, sorted."""
    def snapshot(self, contract_id: str, /) -> bytes:
        """The contract's engine as canonical JSON (``Engine.restore`` reads it)."""
    def engine(self, contract_id: str, /) -> Engine:
        """A copy of the contract's engine as stored (what is applied to it is not stored)."""
    def close(self) -> None:
        """Closes the connection; later calls raise ``StoreError``."""
    def __enter__(self) -> Store: ...
    def __exit__(self, *args: object) -> bool: ...
